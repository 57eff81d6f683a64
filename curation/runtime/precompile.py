"""Build the caches a fresh install needs for fast starts (``make setup`` runs this).

- numba kernels, compiled into numba's on-disk cache. Without it, the first run after an install compiles them in
  every Python worker that needs them (~3.6 CPU-s per process on the 2-core reference machine); with it, a worker
  loads them from the cache (~0.1 s). The cache is keyed on the source files, so editing a kernel recompiles it at
  its next use.
- the jar of ``curation/jvm/NioLocalFileSystem.java`` (see ``spark_runtime.use_local_fs_jar``), when a JDK's
  ``javac`` is there; built before the archive, whose class path includes it.
- a class-data-sharing archive for the Spark driver JVM (see ``spark_runtime.jvm_archive``): the built-in sample
  through ``pipelines/demo.yaml`` and ``pipelines/dedup.yaml`` in a JVM that dumps the classes it loaded at exit.
  Kept when the JDK and Spark jars it was built for are unchanged; ``--force`` rebuilds it.

  python -m curation.runtime.precompile [--force] [--no-jvm]
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def numba_kernels(quiet: bool = False) -> None:
    """Call every numba kernel once on a tiny input: compiles it into the cache, or loads it from there."""
    import numpy as np
    import pyarrow as pa

    from curation.dedup.minhash.kernels import fold_words, pair_jaccards
    from curation.dedup.minhash.lsh import bucket_pairs, packed_bucket_rows
    from curation.rules.text import WordNgrams

    start = time.process_time()
    texts = pa.array(["one two three four five six", "seven eight nine", None])
    batch = pa.RecordBatch.from_arrays([pa.array(np.arange(3, dtype=np.int64)), texts], names=["h", "text"])
    list(bucket_pairs([packed_bucket_rows(batch, 5, 112, 18, 6, 0, True, 4, True)], 200))
    pair_jaccards(texts, texts, 5)
    fold_words(texts)
    ngrams = WordNgrams("a b a b c".split())
    ngrams.top_ngram_chars(2)
    ngrams.duplicate_ngram_chars(2)
    if not quiet:
        print(f"numba kernels compiled and cached ({time.process_time() - start:.1f} CPU-s)")


def _stop_jvm(spark) -> int:
    """Stop Spark and its gateway JVM, wait for the JVM to exit (it writes its class archive while exiting)."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    spark.stop()
    proc = getattr(gateway, "proc", None)
    gateway.shutdown()
    if proc is None:
        return 0
    proc.stdin.close()  # the gateway server exits on EOF of its stdin
    return proc.wait(timeout=600)


def _workload(archive: str) -> None:
    """The built-in sample through demo.yaml, then dedup.yaml over its selected documents (Parquet), in a JVM that
    archives its classes."""
    from curation.pipeline.runner import Runner
    from curation.pipeline.spec import load_spec
    from curation.runtime.session import get_spark
    from curation.sample.corpus import demo_overrides, write_sample

    with tempfile.TemporaryDirectory(prefix="curation-precompile-") as tmp:
        root = Path(tmp)
        write_sample(str(root / "sample"))
        (root / "tok").mkdir()
        demo = load_spec(REPO / "pipelines/demo.yaml", demo_overrides(root / "sample", root / "demo", root / "tok"))
        dedup = load_spec(REPO / "pipelines/dedup.yaml", [
            f"out={root}/dedup", f"inputs.0.path={root}/demo/select/*.parquet", "inputs.0.format=parquet"])
        spark = get_spark(master=demo.spark.master, driver_memory=demo.spark.driver_memory,
                          conf={"spark.driver.extraJavaOptions": f"-XX:ArchiveClassesAtExit={archive} -Xlog:cds*=off"})
        try:
            for spec in (demo, dedup):
                Runner(spec, spark, log=lambda m: None).run()
        finally:
            code = _stop_jvm(spark)
    if code != 0:
        raise SystemExit(f"the archiving JVM exited with {code}")


def _check(archive: str) -> None:
    """Start Spark mapping ``archive``, run a query with a shuffle and a Python batch function, stop cleanly."""
    from curation.runtime.driver_jvm import JVM_ARCHIVE_ENV
    from curation.runtime.session import get_spark

    os.environ[JVM_ARCHIVE_ENV] = archive

    spark = get_spark(master="local[2]")
    got = spark.range(1000).repartition(3).mapInArrow(lambda it: it, "id long").selectExpr("sum(id)").first()[0]
    code = _stop_jvm(spark)
    if got != 499500 or code != 0:
        raise SystemExit(f"the archive check failed (sum {got}, JVM exit {code})")


def local_fs_jar(force: bool = False) -> Path | None:
    """Compile ``curation/jvm/NioLocalFileSystem.java`` against Spark's Hadoop jar into the environment's jar."""
    import shutil
    import zipfile

    from curation.runtime.driver_jvm import LOCAL_FS_SOURCE, _java_home, hadoop_api_jar, local_fs_jar_path

    path = local_fs_jar_path()
    if path.is_file() and not force:
        print(f"local file system jar up to date: {path}")
        return path
    java_home = _java_home()
    javac = java_home / "bin" / "javac" if java_home is not None else None
    javac = str(javac) if javac is not None and javac.exists() else shutil.which("javac")
    api = hadoop_api_jar()
    if javac is None or api is None:
        print("no javac (or no Hadoop jar): Hadoop's own local file system is used (it forks chmod per file)")
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="curation-javac-") as tmp:
        # class files for Java 17, the oldest JVM Spark 4 runs on, whatever JDK compiles them
        subprocess.run([javac, "-nowarn", "--release", "17", "-cp", str(api), "-d", tmp, str(LOCAL_FS_SOURCE)],
                       check=True)
        part = path.with_name(f"{path.stem}.{os.getpid()}.tmp")
        with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as jar:
            jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
            for f in sorted(Path(tmp).rglob("*.class")):
                jar.write(f, f.relative_to(tmp).as_posix())
        os.replace(part, path)
    for old in path.parent.glob("curation-hadoop-*.jar"):  # earlier sources' jars
        if old != path:
            old.unlink(missing_ok=True)
    print(f"local file system jar built: {path}")
    return path


def jvm_archive(force: bool = False) -> Path | None:
    from curation.runtime.driver_jvm import (JVM_ARCHIVE_ENV, jvm_archive_complete, jvm_archive_key, jvm_archive_path,
                                             jvm_archive_sidecar)

    key = jvm_archive_key()
    if key is None:
        print("no java found: no class archive built")
        return None
    path = jvm_archive_path(key)
    sidecar = jvm_archive_sidecar(path)
    if not force and jvm_archive_complete(path):
        print(f"driver JVM class archive up to date: {path}")
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.jsa")
    env = {**os.environ, JVM_ARCHIVE_ENV: "0"}  # the archiving JVM and the check choose their archive themselves
    start = time.perf_counter()
    try:
        me = [sys.executable, "-m", "curation.runtime.precompile"]
        subprocess.run([*me, "--workload", str(tmp)], env=env, check=True)
        if not tmp.exists():
            raise SystemExit("the archiving JVM wrote no archive")
        subprocess.run([*me, "--check", str(tmp)], env=env, check=True)
        sidecar.unlink(missing_ok=True)
        os.replace(tmp, path)
        sidecar.write_text(json.dumps({"bytes": path.stat().st_size, "key": key,
                                       "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}) + "\n")
    finally:
        tmp.unlink(missing_ok=True)
    if not os.environ.get("CURATION_CACHE_DIR"):  # the environment's own folder: drop earlier installs' archives
        for old in path.parent.glob("spark-driver-*"):
            if old.stem != path.stem:
                old.unlink(missing_ok=True)
    print(f"driver JVM class archive built in {time.perf_counter() - start:.0f} s: {path} "
          f"({path.stat().st_size / 2**20:.0f} MiB)")
    return path


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--workload"]:
        return _workload(args[1])
    if args[:1] == ["--check"]:
        return _check(args[1])
    numba_kernels()
    if "--no-jvm" not in args:
        try:
            local_fs_jar(force="--force" in args)
        except (subprocess.CalledProcessError, OSError) as exc:  # an optimisation: never fatal
            print(f"local file system jar not built ({exc}); Hadoop's own is used", file=sys.stderr)
        try:
            jvm_archive(force="--force" in args)
        except (subprocess.CalledProcessError, SystemExit, OSError) as exc:  # an optimisation: never fatal
            print(f"driver JVM class archive not built ({exc}); Spark starts without it (slower)", file=sys.stderr)


if __name__ == "__main__":
    main()
