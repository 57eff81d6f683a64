"""All Spark specifics live here: the session factory, the Arrow-batch adapter and Hadoop file-system helpers.

``local[*]`` is the default. Under ``spark-submit`` (or any already-configured context) the master and
resources given there win; the same entry point runs unchanged on a cluster.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator

import pyarrow as pa

_LOCAL_DEFAULTS = {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    # pyspark's daemon, after importing what every worker needs once (curation/runtime/worker_daemon.py). Local only: on a
    # cluster the executors' Python must be able to import this package before any task runs; set it there once
    # that is so.
    "spark.python.daemon.module": "curation.runtime.worker_daemon",
}

_DEFAULTS = {
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "2048",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.compression.codec": "zstd",
    # zstd level 1 instead of 3: a warm 100k-document dedup run 10.9 -> 9.4 CPU-s (median of four, interleaved),
    # stage outputs 13% larger (23.1 -> 26.2 MB for the annotated 100k documents); still well below snappy's size
    "spark.hadoop.parquet.compression.codec.zstd.level": "1",
    "spark.ui.showConsoleProgress": "false",
    "spark.ui.enabled": "false",
    # Stage outputs are small-ish per partition; keep shuffles proportional to the default parallelism.
    "spark.sql.adaptive.enabled": "false",
    "spark.python.worker.reuse": "true",
    # PySpark 4 records the Python call site of every DataFrame API call for error messages: ~10 py4j round trips
    # per call (F.col: 2.0 -> 0.7 ms of driver time without it). Errors still name the stage that failed.
    "spark.python.sql.dataFrameDebugging.enabled": "false",
}


def _under_spark_submit() -> bool:
    return "PYSPARK_GATEWAY_PORT" in os.environ


def get_spark(
    master: str | None = None,
    conf: dict[str, str] | None = None,
    driver_memory: str | None = None,
    executor_memory: str | None = None,
    app_name: str = "curation",
):
    """Return the (one) SparkSession, creating it on first use.

    ``master`` defaults to ``local[*]`` unless launched by spark-submit, where the submit-time master is kept.
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        for k, v in (conf or {}).items():
            try:
                active.conf.set(k, v)
            except Exception:  # static confs cannot change on a live session
                pass
        return active

    # Under spark-submit the submit-time master wins over a spec's or CLI's; otherwise local[*] is the default.
    submitted = _under_spark_submit()
    effective_master = None if submitted else (master or "local[*]")
    builder = SparkSession.builder.appName(app_name)
    if effective_master:
        builder = builder.master(effective_master)
    settings = dict(_DEFAULTS)
    if effective_master and effective_master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        settings.update(_LOCAL_DEFAULTS)
        # Spark's default of 200 shuffle partitions is tuned for clusters; on one machine it is mostly overhead.
        settings["spark.sql.shuffle.partitions"] = str(max(4, 2 * (os.cpu_count() or 2)))
    if driver_memory:
        settings["spark.driver.memory"] = driver_memory
    if executor_memory:
        settings["spark.executor.memory"] = executor_memory
    settings["spark.executorEnv.PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    # pyspark warns about pandas 3 on every worker start; it works (checked), so keep the console readable.
    settings["spark.executorEnv.PYTHONWARNINGS"] = "ignore::FutureWarning"
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    settings.update(conf or {})
    if effective_master and effective_master.startswith("local"):
        use_local_fs_jar(settings)
    settings["spark.driver.extraJavaOptions"] = driver_java_options(effective_master, settings)
    for k, v in settings.items():
        builder = builder.config(k, v)
    # pyspark logs analysis errors (with JVM stack traces) from Python too; the runner reports them in one line.
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


# ---- The local file system without forked chmods ----
#
# Without Hadoop's native library (pip's pyspark has none), Hadoop's local file system forks a `chmod` process for
# every file and folder it creates: ~55 per dedup run, ~13 ms of CPU per created file with its checksum file and
# folder. curation/jvm/NioLocalFileSystem.java sets the same permissions through java.nio; `python -m
# curation.runtime.precompile` (run by `make setup`) compiles it into a jar in the environment when a JDK is there, and
# local sessions put that jar on the driver's class path and use it for file: paths (unless the caller sets
# spark.hadoop.fs.file.impl). Without the jar, Hadoop's own class is used.

LOCAL_FS_CLASS = "curation.hadoop.NioLocalFileSystem"
LOCAL_FS_SOURCE = Path(__file__).with_name("jvm") / "NioLocalFileSystem.java"


def _cache_dir() -> Path:
    """Where built JVM artefacts live: inside the environment (their lifetime is the install's)."""
    root = os.environ.get("CURATION_CACHE_DIR")
    return Path(root) if root else Path(sys.prefix) / "var" / "curation"


def hadoop_api_jar() -> Path | None:
    """Spark's Hadoop client API jar, which the local file system class is compiled against."""
    from pyspark.find_spark_home import _find_spark_home

    jars = sorted((Path(_find_spark_home()) / "jars").glob("hadoop-client-api-*.jar"))
    return jars[0] if jars else None


@lru_cache(maxsize=1)
def _local_fs_digest() -> str:
    """Digest of the source and the Hadoop jar it compiles against: fixed for a process (a session start asks for
    the jar three times: class path, archive key, archive choice)."""
    import hashlib

    h = hashlib.sha256(LOCAL_FS_SOURCE.read_bytes())
    api = hadoop_api_jar()
    h.update(f"{api.name}:{api.stat().st_size}".encode() if api else b"no hadoop jar")
    return h.hexdigest()[:12]


def local_fs_jar_path() -> Path:
    """Where the jar of :data:`LOCAL_FS_SOURCE` lives, named after a digest of the source and of the Hadoop jar it
    was compiled against (another Spark install needs its own build; until then Hadoop's class is used)."""
    return _cache_dir() / f"curation-hadoop-{_local_fs_digest()}.jar"


def local_fs_jar() -> Path | None:
    """The built jar of the current source, or None."""
    path = local_fs_jar_path()
    return path if path.is_file() else None


def use_local_fs_jar(settings: dict[str, str]) -> None:
    """Put the local file system's jar (when built) on the driver's class path, after the caller's entries, and use
    its class for file: paths unless the caller chose one."""
    jar = local_fs_jar()
    if jar is None:
        return
    own = settings.get("spark.driver.extraClassPath")
    settings["spark.driver.extraClassPath"] = os.pathsep.join([*([own] if own else []), str(jar)])
    settings.setdefault("spark.hadoop.fs.file.impl", LOCAL_FS_CLASS)


# ---- Class-data sharing for the driver JVM we start ----
#
# A fresh driver JVM loads, parses and verifies ~20k classes of Spark's before its first job; on the 2-core
# reference machine that is several CPU-seconds of every `curate run`. A dynamic AppCDS archive
# (``-XX:ArchiveClassesAtExit``) holds those classes pre-parsed and verified; JVMs started with it map them instead.
# `python -m curation.runtime.precompile` (run by `make setup`) builds one inside the environment, keyed on the JDK and the
# Spark jars, so a changed JDK or Spark install never picks up a stale archive (a mismatched archive is ignored by
# the JVM anyway; only a truncated one would crash it, hence the size check against the archive's sidecar).

JVM_ARCHIVE_ENV = "CURATION_JVM_ARCHIVE"  # "0": never use one; a path: use that archive (precompile's check)


def _java_arg(option: str) -> str:
    return f'"{option}"' if " " in option else option


def _java_home() -> Path | None:
    import shutil

    if os.environ.get("JAVA_HOME"):
        return Path(os.environ["JAVA_HOME"]).resolve()
    java = shutil.which("java")
    return Path(java).resolve().parents[1] if java else None


def jvm_archive_key() -> str | None:
    """A digest of what a class archive depends on (the JDK build, the Spark jars), or None without Java."""
    import hashlib

    from pyspark.find_spark_home import _find_spark_home

    java_home = _java_home()
    if java_home is None:
        return None
    h = hashlib.sha256(str(java_home).encode())
    for f in (java_home / "release", java_home / "lib" / "server" / "libjvm.so"):
        if f.exists():
            st = f.stat()
            h.update(f"{f}:{st.st_size}:{st.st_mtime_ns}".encode())
    jars = Path(_find_spark_home()) / "jars"
    for jar in sorted(jars.glob("*.jar")):
        h.update(f"{jar.name}:{jar.stat().st_size}".encode())
    own = local_fs_jar()  # on the class path when built: the archive is for that class path
    h.update(f"own:{own.name if own else None}".encode())
    return h.hexdigest()[:16]


def jvm_archive_path(key: str) -> Path:
    """Where the archive for ``key`` lives: inside the environment (its lifetime is the Spark install's)."""
    return _cache_dir() / f"spark-driver-{key}.jsa"


def jvm_archive() -> Path | None:
    """The class archive the driver JVM should map, or None (none built, disabled, or incomplete)."""
    forced = os.environ.get(JVM_ARCHIVE_ENV, "")
    if forced == "0":
        return None
    if forced:
        return Path(forced)
    key = jvm_archive_key()
    if key is None:
        return None
    path = jvm_archive_path(key)
    return path if jvm_archive_complete(path) else None


def jvm_archive_sidecar(path: Path) -> Path:
    """The archive's sidecar: written after the archive, it records the archive's size (and key, build time)."""
    return path.with_suffix(".json")


def jvm_archive_complete(path: Path) -> bool:
    """Whether ``path`` is a finished archive: its sidecar exists and records the archive's exact size."""
    import json

    try:
        return path.stat().st_size == json.loads(jvm_archive_sidecar(path).read_text())["bytes"]
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _jvm_size(size: str | None) -> str | None:
    """A Spark memory size ("2g", "2048m", "512mb", "1024": MiB) as a JVM option value, or None if it is not one."""
    import re

    m = re.fullmatch(r"(\d+)\s*([kmgt]?)b?", (size or "").strip().lower())
    return f"{m.group(1)}{m.group(2) or 'm'}" if m else None


def driver_java_options(master: str | None, settings: dict[str, str]) -> str:
    """The driver JVM's options: our log4j configuration; in local mode C1-only JIT and the class archive when one
    is built (see :func:`jvm_archive`); then the caller's ``spark.driver.extraJavaOptions``, last so they win."""
    log4j = Path(__file__).with_name("log4j2.properties")
    options = [f"-Dlog4j2.configurationFile={log4j.as_uri()}"]
    if master and master.startswith("local"):
        # C1 only: the C2 compiler costs ~10 CPU-s in a run's first minute (2-core machine, 100k-document dedup)
        # and its code runs ~14% faster after that, which pays back only past ~1M documents in one local run.
        # A long local job passes -XX:TieredStopAtLevel=4 in spark.driver.extraJavaOptions.
        options.append("-XX:TieredStopAtLevel=1")
        # The whole heap from the start: a fresh JVM grows it from 1/64 of RAM through extra collections (0.3 of
        # the 10.5 CPU-s of a fresh 100k-document dedup, 3 of 3 paired runs; no change in a warm JVM). Memory is
        # committed, not touched.
        heap = _jvm_size(settings.get("spark.driver.memory"))
        if heap:
            options.append(f"-Xms{heap}")
    own_jar = local_fs_jar()
    class_path = settings.get("spark.driver.extraClassPath")  # the archive holds the classes of its class path
    ours_only = class_path is None or (own_jar is not None and class_path == str(own_jar))
    archive = jvm_archive() if master and ours_only else None
    if archive is not None:  # the driver JVM is ours to start: map the classes it loads from the archive
        options += [_java_arg(f"-XX:SharedArchiveFile={archive}"), "-Xlog:cds*=off"]
    options += [o for o in [settings.get("spark.driver.extraJavaOptions")] if o]
    return " ".join(options)


@contextlib.contextmanager
def session_conf(spark, conf: dict[str, str], note: Callable[[str], None] = print):
    """Set ``conf`` on the live session for a block, then put back what was there. A key that already has the value
    is left alone; a static key (fixed when the session started) cannot change on a live session: it is skipped and
    named through ``note``."""
    before = {}
    for k, v in conf.items():
        old = spark.conf.get(k, None)
        if old == str(v):
            continue
        try:
            spark.conf.set(k, v)
        except Exception:  # noqa: BLE001 - static confs cannot change on a live session
            note(f"note: --conf/spark.conf {k} not applied (fixed when the session started)")
            continue
        before[k] = old
    try:
        yield
    finally:
        for k, old in before.items():
            if old is None:
                spark.conf.unset(k)
            else:
                spark.conf.set(k, old)


def stop_spark() -> None:
    from pyspark.sql import SparkSession

    s = SparkSession.getActiveSession()
    if s is not None:
        s.stop()


def spark_schema(schema: pa.Schema):
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def map_batches(df, fn: Callable[[pa.RecordBatch], pa.RecordBatch | pa.Table | None], schema: pa.Schema):
    """Run a pure per-batch function over a DataFrame with ``mapInArrow``.

    ``fn`` takes one Arrow record batch (the DataFrame's columns) and returns a batch or table with exactly
    ``schema``. It must be picklable; heavy resources it needs should be loaded once per Python worker via
    :func:`worker_cached`.
    """

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            out = fn(batch)
            if out is None:
                continue
            if isinstance(out, pa.Table):
                yield from out.to_batches()
            else:
                yield out

    return df.mapInArrow(run, spark_schema(schema))


def map_partitions(df, fn: Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]], schema: pa.Schema):
    """Like :func:`map_batches` but ``fn`` sees the whole partition's batch iterator (for stateful readers)."""
    return df.mapInArrow(fn, spark_schema(schema))


_WORKER_CACHE: dict = {}
_WORKER_LOCK = threading.Lock()


def observed(df, **metrics):
    """(``df`` with metrics attached, a function returning them once an action on that frame has run): the row
    count ``rows`` plus ``metrics`` (name -> aggregate Column), computed during the action instead of by a second
    job."""
    import uuid

    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    observation = Observation(f"rows-{uuid.uuid4().hex}")
    columns = [F.count(F.lit(1)).alias("rows"), *[c.alias(name) for name, c in metrics.items()]]
    return df.observe(observation, *columns), lambda: observation.get


def checkpoint_observed(df, **metrics):
    """(``df`` checkpointed locally, the dict of its row count ``rows`` and ``metrics``, observed meanwhile).

    The blocks are kept serialized (rows are copied as bytes, not sized object by object as the default
    deserialized level does)."""
    from pyspark import StorageLevel

    watched, values = observed(df, **metrics)
    checkpointed = watched.localCheckpoint(storageLevel=StorageLevel.MEMORY_AND_DISK)
    return checkpointed, values()


def checkpoint_counted(df):
    """(``df`` checkpointed locally, its number of rows, counted while checkpointing)."""
    checkpointed, values = checkpoint_observed(df)
    return checkpointed, int(values["rows"])


def worker_cached(key, loader: Callable[[], object]):
    """Load a resource (a model, a tokenizer) once per Python worker process and reuse it across batches."""
    with _WORKER_LOCK:
        if key not in _WORKER_CACHE:
            _WORKER_CACHE[key] = loader()
        return _WORKER_CACHE[key]


def paths_frame(spark, paths: list[str], slices: int | None = None):
    """A one-column (``path``) DataFrame with one path per partition, for file-parallel readers."""
    from pyspark.sql.types import StringType, StructField, StructType

    schema = StructType([StructField("path", StringType())])
    n = max(1, len(paths) if slices is None else slices)
    rdd = spark.sparkContext.parallelize([(p,) for p in paths], n)
    return spark.createDataFrame(rdd, schema)


# ---- Hadoop file system: works for local paths, hdfs://, s3a:// etc. with the user's connectors ----


class HadoopFS:
    """Tiny wrapper over the JVM Hadoop FileSystem for committing stage outputs atomically."""

    def __init__(self, spark, root: str):
        self._jvm = spark._jvm
        self._conf = spark._jsc.hadoopConfiguration()
        self._Path = self._jvm.org.apache.hadoop.fs.Path
        self.fs = self._Path(root).getFileSystem(self._conf)

    def _p(self, path: str):
        return self._Path(path)

    def exists(self, path: str) -> bool:
        return bool(self.fs.exists(self._p(path)))

    def delete(self, path: str) -> None:
        if self.exists(path):
            self.fs.delete(self._p(path), True)

    def rename(self, src: str, dst: str) -> None:
        parent = self._p(dst).getParent()
        if parent is not None:
            self.fs.mkdirs(parent)
        if not self.fs.rename(self._p(src), self._p(dst)):
            raise OSError(f"could not rename {src} -> {dst}")

    def mkdirs(self, path: str) -> None:
        self.fs.mkdirs(self._p(path))

    def write_text(self, path: str, text: str) -> None:
        out = self.fs.create(self._p(path), True)
        try:
            out.write(bytearray(text.encode("utf-8")))
        finally:
            out.close()

    def read_text(self, path: str) -> str:
        stream = self.fs.open(self._p(path))
        try:
            buf = self._jvm.java.io.ByteArrayOutputStream()
            self._jvm.org.apache.hadoop.io.IOUtils.copyBytes(stream, buf, 65536, False)
            return bytes(buf.toByteArray()).decode("utf-8")
        finally:
            stream.close()

    def list_names(self, path: str) -> list[str]:
        if not self.exists(path):
            return []
        return sorted(str(s.getPath().getName()) for s in self.fs.listStatus(self._p(path)))


class ProgressReporter:
    """Prints task progress of running Spark jobs every few seconds while a long stage runs."""

    def __init__(self, spark, label: str, every: float = 5.0, printer=print):
        self.sc = spark.sparkContext
        self.label = label
        self.every = every
        self.printer = printer
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=1)

    def _loop(self):
        start = time.time()
        while not self._stop.wait(self.every):
            tracker = self.sc.statusTracker()
            done = total = 0
            for sid in tracker.getActiveStageIds():
                info = tracker.getStageInfo(sid)
                if info is not None:
                    done += info.numCompletedTasks
                    total += info.numTasks
            if total:
                self.printer(f"  [{self.label}] {time.time() - start:5.0f}s  tasks {done}/{total}")
