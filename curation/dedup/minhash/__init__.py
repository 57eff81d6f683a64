"""MinHash-LSH, one file per phase: `kernels` (normalisation, shingles, signatures, band keys, exact Jaccard; numba,
no Spark), `lsh` (bands x rows from the threshold, the packed bucket wire format, candidate pairs per partition),
`decide` (verification, components and keep policy in one task) and `stage` (the `minhash` stage: the Spark
orchestration of the three). Only `stage` imports pyspark."""
