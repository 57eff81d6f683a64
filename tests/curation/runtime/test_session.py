"""The driver JVM's options, its class archive (spark_runtime.driver_java_options / jvm_archive) and the local
file system class (spark_runtime.use_local_fs_jar)."""
import json
import os
from pathlib import Path

import psutil
import pytest

from curation.runtime.driver_jvm import (LOCAL_FS_CLASS, driver_java_options, jvm_archive, jvm_archive_key,
                                         jvm_archive_path, local_fs_jar, local_fs_jar_path, use_local_fs_jar)


def test_local_driver_gets_c1_and_log4j_and_callers_options_last(monkeypatch):
    monkeypatch.setenv("CURATION_JVM_ARCHIVE", "0")
    opts = driver_java_options("local[2]", {"spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=4 -Dx=1"}).split()
    assert opts[0].startswith("-Dlog4j2.configurationFile=file:")
    assert opts.index("-XX:TieredStopAtLevel=1") < opts.index("-XX:TieredStopAtLevel=4")  # the caller's wins
    assert opts[-1] == "-Dx=1"
    assert not any("SharedArchiveFile" in o for o in opts)
    cluster = driver_java_options("spark://head:7077", {"spark.driver.memory": "2g"})
    assert "TieredStopAtLevel" not in cluster and "log4j2" in cluster and "-Xms" not in cluster


def test_local_driver_starts_with_its_whole_heap(monkeypatch):
    """-Xms from spark.driver.memory in Spark's units (no unit: MiB); none without a driver memory; the caller's
    own -Xms comes later and wins."""
    monkeypatch.setenv("CURATION_JVM_ARCHIVE", "0")
    for memory, want in (("2g", "-Xms2g"), ("2048", "-Xms2048m"), ("512mb", "-Xms512m"), ("4G", "-Xms4g")):
        assert want in driver_java_options("local[*]", {"spark.driver.memory": memory}).split()
    assert "-Xms" not in driver_java_options("local[*]", {})
    assert "-Xms" not in driver_java_options("local[*]", {"spark.driver.memory": "lots"})
    opts = driver_java_options("local[2]", {"spark.driver.memory": "2g", "spark.driver.extraJavaOptions": "-Xms1g"})
    assert opts.split().index("-Xms2g") < opts.split().index("-Xms1g")


def test_local_driver_bounds_its_young_generation(monkeypatch):
    """With the whole heap committed, eden may grow to 60% of it and stay resident: the young generation is bounded
    to 1/16 of the heap, only where -Xms is given; the caller's own bound comes later and wins."""
    monkeypatch.setenv("CURATION_JVM_ARCHIVE", "0")
    for memory, want in (("2g", "-XX:MaxNewSize=128m"), ("2048", "-XX:MaxNewSize=128m"), ("16g", "-XX:MaxNewSize=1024m"),
                         ("1000000k", "-XX:MaxNewSize=61m")):
        assert want in driver_java_options("local[*]", {"spark.driver.memory": memory}).split()
    assert "MaxNewSize" not in driver_java_options("local[*]", {})
    assert "MaxNewSize" not in driver_java_options("spark://head:7077", {"spark.driver.memory": "2g"})
    opts = driver_java_options("local[2]", {"spark.driver.memory": "2g",
                                            "spark.driver.extraJavaOptions": "-XX:MaxNewSize=512m"}).split()
    assert opts.index("-XX:MaxNewSize=128m") < opts.index("-XX:MaxNewSize=512m")


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
        assert not os.environ.get("CI"), "make setup built no class archive (see python -m curation.runtime.precompile)"
        pytest.skip("no class archive built (python -m curation.runtime.precompile)")
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


def test_local_fs_jar_joins_the_class_path_and_the_callers_choice_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("CURATION_CACHE_DIR", str(tmp_path))
    settings = {}
    use_local_fs_jar(settings)
    assert settings == {}  # not built: Hadoop's own file system
    jar = local_fs_jar_path()
    assert jar.parent == tmp_path
    jar.write_bytes(b"PK")
    use_local_fs_jar(settings)
    assert settings == {"spark.driver.extraClassPath": str(jar), "spark.hadoop.fs.file.impl": LOCAL_FS_CLASS}
    mine = {"spark.driver.extraClassPath": "/x.jar", "spark.hadoop.fs.file.impl": "org.apache.hadoop.fs.LocalFileSystem"}
    use_local_fs_jar(mine)
    assert mine == {"spark.driver.extraClassPath": f"/x.jar{os.pathsep}{jar}",
                    "spark.hadoop.fs.file.impl": "org.apache.hadoop.fs.LocalFileSystem"}
    monkeypatch.setenv("CURATION_JVM_ARCHIVE", str(tmp_path / "a.jsa"))
    # the archive is built on a class path holding this jar: kept with it alone, not with the caller's entries
    assert "SharedArchiveFile" in driver_java_options("local[*]", {"spark.driver.extraClassPath": str(jar)})
    assert "SharedArchiveFile" not in driver_java_options("local[*]", mine)


def test_session_creates_files_with_hadoops_permissions_through_the_local_fs(spark, tmp_path):
    """The session's file: paths go through curation.hadoop.NioLocalFileSystem (no chmod process per file): files
    and folders get the modes Hadoop's own class gives them; modes java.nio cannot set fall back to it."""
    if local_fs_jar() is None:
        assert not os.environ.get("CI"), "make setup built no local file system jar (see python -m curation.runtime.precompile)"
        pytest.skip("no local file system jar built (needs javac)")
    jvm = spark._jvm
    conf = spark._jsc.hadoopConfiguration()
    out = tmp_path / "out"
    fs = jvm.org.apache.hadoop.fs.Path(out.as_uri()).getFileSystem(conf)
    assert fs.getClass().getName() == LOCAL_FS_CLASS
    spark.range(10, numPartitions=2).write.parquet(str(out))
    files = sorted(out.rglob("*"))
    assert any(f.name.endswith(".parquet") for f in files) and any(f.name.endswith(".crc") for f in files)
    umask = int(conf.get("fs.permissions.umask-mode", "022"), 8)
    assert {oct(out.stat().st_mode & 0o7777)} == {oct(0o777 & ~umask)}
    assert {oct(f.stat().st_mode & 0o7777) for f in files if f.is_file()} == {oct(0o666 & ~umask)}
    perm = jvm.org.apache.hadoop.fs.permission.FsPermission
    part = next(f for f in files if f.name.endswith(".parquet"))
    fs.setPermission(jvm.org.apache.hadoop.fs.Path(part.as_uri()), perm(0o640))
    assert part.stat().st_mode & 0o7777 == 0o640
    fs.setPermission(jvm.org.apache.hadoop.fs.Path(out.as_uri()), perm(0o1777))  # sticky: Hadoop's own chmod
    assert out.stat().st_mode & 0o7777 == 0o1777


def _what_workers_inherited(batches):
    # looked up before this function imports anything: what the worker has, it got from the process it forked from
    import sys

    main = getattr(sys.modules["__main__"].__spec__, "name", None) if sys.modules["__main__"].__spec__ else None
    numba = "numba" in sys.modules
    mapped = Path("/proc/self/maps").read_text() if Path("/proc/self/maps").exists() else ""
    import pyarrow as pa
    import pyspark

    for batch in batches:
        n = batch.num_rows
        yield pa.RecordBatch.from_pydict({"main": [main] * n, "numba": [numba] * n,
                                          "llvmlite": ["llvmlite" in mapped] * n, "pyspark": [pyspark.__file__] * n})


def test_workers_fork_from_a_daemon_that_preloaded_arrow_and_the_numba_kernels(spark):
    """Python workers are forked from curation.runtime.worker_daemon, which has numba's LLVM mapped already (the
    daemon's own maps and threads are checked on a daemon started alone, below: which daemon serves a Spark task can
    change when an earlier test kills a worker)."""
    schema = "main string, numba boolean, llvmlite boolean, pyspark string"
    rows = spark.range(0, 64, numPartitions=2).mapInArrow(_what_workers_inherited, schema).distinct().collect()
    # pyspark from site-packages (cached bytecode), not from the zip of sources Spark puts first on the path
    assert all(".zip" not in r.pyspark for r in rows), rows
    assert {r.main for r in rows} == {"curation.runtime.worker_daemon"}, rows
    if Path("/proc/self/maps").exists():
        assert all(r.numba and r.llvmlite for r in rows), rows  # the kernels were loaded before the fork


def test_daemon_sends_its_port_even_when_preloading_prints():
    """Spark reads the daemon's port from its standard output: a module printing while the daemon preloads (here
    numba's cache debugging) must not corrupt it."""
    import struct
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_DEBUG_CACHE": "1", "OMP_NUM_THREADS": "1"}  # as Spark sets it for a 1-core task
    proc = subprocess.Popen([sys.executable, "-m", "curation.runtime.worker_daemon"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        port = struct.unpack("!i", proc.stdout.read(4))[0]  # sent once preloading is done
        maps = Path(f"/proc/{proc.pid}/maps")
        mapped = maps.read_text() if maps.exists() else None
        threads = ([(Path(f"/proc/{proc.pid}/task") / t / "comm").read_text().strip()
                    for t in os.listdir(f"/proc/{proc.pid}/task")] if maps.exists() else None)
    finally:
        proc.stdin.close()  # the daemon exits at the end of its standard input
        err = proc.stderr.read().decode()
        proc.wait(timeout=60)
    assert 1024 <= port <= 65535, port
    assert "[cache] index loaded" in err  # what was printed went to standard error
    if mapped is not None:
        assert "libarrow" in mapped and "llvmlite" in mapped  # imported, and the kernels loaded, before any fork
        # ...without starting threads whose locks a fork would copy held: only its own and jemalloc's background one
        assert len(threads) <= 2 and sum(t != "jemalloc_bg_thd" for t in threads) == 1, threads
