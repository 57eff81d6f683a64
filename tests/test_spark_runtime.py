"""The driver JVM's options and its class archive (spark_runtime.driver_java_options / jvm_archive)."""
import json
import os
from pathlib import Path

import psutil
import pytest

from curation.spark_runtime import driver_java_options, jvm_archive, jvm_archive_key, jvm_archive_path


def test_local_driver_gets_c1_and_log4j_and_callers_options_last(monkeypatch):
    monkeypatch.setenv("CURATION_JVM_ARCHIVE", "0")
    opts = driver_java_options("local[2]", {"spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=4 -Dx=1"}).split()
    assert opts[0].startswith("-Dlog4j2.configurationFile=file:")
    assert opts.index("-XX:TieredStopAtLevel=1") < opts.index("-XX:TieredStopAtLevel=4")  # the caller's wins
    assert opts[-1] == "-Dx=1"
    assert not any("SharedArchiveFile" in o for o in opts)
    cluster = driver_java_options("spark://head:7077", {})
    assert "TieredStopAtLevel" not in cluster and "log4j2" in cluster


def test_archive_used_only_when_complete(monkeypatch, tmp_path):
    if jvm_archive_key() is None:
        pytest.skip("no java")
    monkeypatch.setenv("CURATION_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("CURATION_JVM_ARCHIVE", raising=False)
    path = jvm_archive_path(jvm_archive_key())
    assert path.parent == tmp_path
    assert jvm_archive() is None  # nothing built
    path.write_bytes(b"\0" * 4096)
    assert jvm_archive() is None  # no sidecar yet: the writer has not finished
    sidecar = path.with_suffix(".json")
    sidecar.write_text(json.dumps({"bytes": 8192}))
    assert jvm_archive() is None  # truncated (a truncated archive would crash the JVM)
    sidecar.write_text(json.dumps({"bytes": 4096}))
    assert jvm_archive() == path
    opts = driver_java_options("local[*]", {})
    assert f"-XX:SharedArchiveFile={path}" in opts.split() and "-Xlog:cds*=off" in opts.split()
    # a driver on an extended class path would not match the archive's: none then
    assert "SharedArchiveFile" not in driver_java_options("local[*]", {"spark.driver.extraClassPath": "/x.jar"})
    monkeypatch.setenv("CURATION_JVM_ARCHIVE", "0")
    assert jvm_archive() is None


def test_session_driver_maps_the_built_archive(spark):
    """With the archive `make setup` builds, the running driver JVM has it mapped (so its classes come from it)."""
    archive = jvm_archive()
    if archive is None:
        # CI runs `make setup`, which builds it: a missing archive there is a failed build, not a choice
        assert not os.environ.get("CI"), "make setup built no class archive (see python -m curation.precompile)"
        pytest.skip("no class archive built (python -m curation.precompile)")
    args = list(spark._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
    assert f"-XX:SharedArchiveFile={archive}" in args
    java = [p for p in psutil.Process().children(recursive=True) if p.name() == "java"]
    assert java, "the driver JVM is not a child of this process"
    maps = Path(f"/proc/{java[0].pid}/maps")
    if not maps.exists():
        pytest.skip("no /proc")
    # the JVM unmaps an archive it cannot validate; a mapped one is in use
    assert str(archive) in maps.read_text()
    assert os.path.getsize(archive) == json.loads(archive.with_suffix(".json").read_text())["bytes"]


def _pids_of_workers(batches):
    import pyarrow as pa
    import pyspark

    for batch in batches:
        yield pa.RecordBatch.from_pydict({"pid": [os.getpid()] * batch.num_rows, "ppid": [os.getppid()] * batch.num_rows,
                                          "pyspark": [pyspark.__file__] * batch.num_rows})


def test_workers_fork_from_a_daemon_that_preloaded_arrow_and_the_numba_kernels(spark):
    """Python workers are forked from curation.worker_daemon, which has pyarrow and numba's LLVM mapped already."""
    rows = spark.range(0, 64, numPartitions=2).mapInArrow(_pids_of_workers, "pid long, ppid long, pyspark string")
    rows = rows.distinct().collect()
    daemons = {r.ppid for r in rows}
    # pyspark from site-packages (cached bytecode), not from the zip of sources Spark puts first on the path
    assert all(".zip" not in r.pyspark for r in rows), rows
    assert len(daemons) == 1
    daemon = psutil.Process(daemons.pop())
    assert "curation.worker_daemon" in " ".join(daemon.cmdline())
    maps = Path(f"/proc/{daemon.pid}/maps")
    if not maps.exists():
        pytest.skip("no /proc")
    mapped = maps.read_text()
    assert "libarrow" in mapped and "llvmlite" in mapped  # imported, and the kernels loaded, before any fork
    # ...without starting threads whose locks a fork would copy held: only its own and jemalloc's background one
    threads = [(Path(f"/proc/{daemon.pid}/task") / t / "comm").read_text().strip()
               for t in os.listdir(f"/proc/{daemon.pid}/task")]
    assert len(threads) <= 2 and sum(t != "jemalloc_bg_thd" for t in threads) == 1, threads
