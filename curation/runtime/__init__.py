"""Everything Spark and the JVM: the session factory (`session`), the driver JVM's options, class archive and local
file system jar (`driver_jvm`, `jvm/`, built by `precompile`), the Arrow batch adapters (`batches`), the Hadoop file
system helper, the progress reporter, the Python worker daemon and the Parquet footer fixups. These import nothing
else of `curation`, except the daemon (it preloads the stage registry's modules) and `precompile` (it compiles the
kernels and runs the demo pipeline to record the JVM's classes)."""
