"""The Spark session factory: one session per process, started with this project's settings.

``local[*]`` is the default. Under ``spark-submit`` (or any already-configured context) the master and
resources given there win; the same entry point runs unchanged on a cluster. The driver JVM's options (class
archive, local file system, log4j) come from :mod:`curation.runtime.driver_jvm`.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import warnings
from typing import Callable

from curation.runtime.driver_jvm import driver_java_options, use_local_fs_jar

_LOCAL_DEFAULTS = {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    # pyspark's daemon, after importing what every worker needs once (curation/runtime/worker_daemon.py). Local
    # only: on a cluster the executors' Python must be able to import this package before any task runs; set it
    # there once that is so.
    "spark.python.daemon.module": "curation.runtime.worker_daemon",
}

_DEFAULTS = {
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "2048",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.compression.codec": "zstd",
    # zstd level 1: cheaper to write than level 3 (the default) for stage outputs ~13% larger, still well below
    # snappy's size (measurements: benchmarks/results/NOTES.md)
    "spark.hadoop.parquet.compression.codec.zstd.level": "1",
    "spark.ui.showConsoleProgress": "false",
    "spark.ui.enabled": "false",
    # Stage outputs are small-ish per partition; keep shuffles proportional to the default parallelism.
    "spark.sql.adaptive.enabled": "false",
    "spark.python.worker.reuse": "true",
    # PySpark 4 records the Python call site of every DataFrame API call for error messages: ~10 py4j round trips
    # per call, most of a cheap call's driver time. Errors still name the stage that failed.
    "spark.python.sql.dataFrameDebugging.enabled": "false",
}


# Local mode runs each task once unless the master names a failure count (local[N, F]); a cluster retries 4 times.
LOCAL_TASK_ATTEMPTS = 4


def with_task_retries(master: str) -> str:
    """``local`` / ``local[N]`` / ``local[*]`` with the task attempts of a cluster (``local[N, 4]``), so a lost
    Python worker costs a retry instead of the run; other masters (and ``local[N, F]``) unchanged."""
    m = re.fullmatch(r"local(?:\[\s*(\*|\d+)\s*\])?", master.strip())
    if not m:
        return master
    return f"local[{m.group(1) or 1},{LOCAL_TASK_ATTEMPTS}]"


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
    effective_master = None if submitted else with_task_retries(master or "local[*]")
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
    if not spark.sparkContext.master.startswith("local"):  # a cluster: fail fast if it cannot give what is asked
        from curation.runtime.cluster_check import check_cluster, cluster_shuffle_partitions

        try:
            check_cluster(spark)
        except Exception:
            spark.stop()
            raise
        cluster_shuffle_partitions(spark)
    return spark


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


def partitions_for(spark, n_bytes: int, target_bytes: int = 128 << 20) -> int:
    """Partitions for a shuffle of ``n_bytes``: about ``target_bytes`` each, at least the cluster's parallelism
    (a fixed 200 makes small jobs pay for 200 tasks; a fixed small number makes large ones spill)."""
    return max(spark.sparkContext.defaultParallelism, -(-int(n_bytes) // target_bytes), 1)


def stop_spark() -> None:
    from pyspark.sql import SparkSession

    s = SparkSession.getActiveSession()
    if s is not None:
        s.stop()
