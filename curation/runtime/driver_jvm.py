"""The driver JVM a local session starts: its options, its class-data archive and its local file system jar.

Both are built by ``python -m curation.runtime.precompile`` (``make setup``) inside the environment and used only
when present and current; without them Spark starts as it ships.
"""
from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path

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
# `python -m curation.runtime.precompile` (run by `make setup`) builds one inside the environment, keyed on the JDK
# and the Spark jars, so a changed JDK or Spark install never picks up a stale archive (a mismatched archive is
# ignored by the JVM anyway; only a truncated one would crash it, hence the size check against the archive's
# sidecar).

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


# The young generation's upper bound as a share of the heap. With the whole heap committed up front (-Xms), G1 grows
# eden up to 60% of it whenever its pause predictions allow, and eden's pages stay resident once touched: the JVM's
# resident memory then follows how long a run has been allocating, not what it keeps (a 2g driver holding ~150 MiB
# of live heap reached 1.2 GiB resident with the bad-input set of bench_bad_inputs.py, 625 MiB without it). 1/16 is
# just above G1's own minimum (1/20), where a short run stays anyway. Cost, 2-core machine, driver 2g: the bench's
# good-input run makes the same 8 collections in the same JVM CPU; a 100k-document dedup run makes 16 young
# collections instead of 10-12, JVM CPU 13.7/14.0 s vs 15.0/14.0 s, JVM peak 930 MiB vs 1.2-1.6 GiB.
YOUNG_SHARE = 16


def _young_max(heap: str) -> str | None:
    """``-XX:MaxNewSize`` for a heap given as a JVM size ("2g", "2048m"): 1/:data:`YOUNG_SHARE` of it, in MiB."""
    units = {"k": 1 / 1024, "m": 1, "g": 1024, "t": 1 << 20}
    mib = int(int(heap[:-1]) * units[heap[-1]]) // YOUNG_SHARE
    return f"{mib}m" if mib else None


def driver_java_options(master: str | None, settings: dict[str, str]) -> str:
    """The driver JVM's options: our log4j configuration; in local mode C1-only JIT, the whole heap from the start
    with a bounded young generation (:data:`YOUNG_SHARE`) and the class archive when one is built (see
    :func:`jvm_archive`); then the caller's ``spark.driver.extraJavaOptions``, last so they win."""
    log4j = Path(__file__).with_name("log4j2.properties")
    options = [f"-Dlog4j2.configurationFile={log4j.as_uri()}"]
    if master and master.startswith("local"):
        # C1 only: the C2 compiler costs ~10 CPU-s in a run's first minute (2-core machine, 100k-document dedup)
        # and its code runs ~14% faster after that, which pays back only past ~1M documents in one local run.
        # A long local job passes -XX:TieredStopAtLevel=4 in spark.driver.extraJavaOptions.
        options.append("-XX:TieredStopAtLevel=1")
        # The whole heap from the start: a fresh JVM grows it from 1/64 of RAM through extra collections, a few
        # per cent of a fresh run's CPU (benchmarks/results/NOTES.md). Memory is committed, not touched.
        heap = _jvm_size(settings.get("spark.driver.memory"))
        if heap:
            options.append(f"-Xms{heap}")
            young = _young_max(heap)
            if young:
                options.append(f"-XX:MaxNewSize={young}")
    own_jar = local_fs_jar()
    class_path = settings.get("spark.driver.extraClassPath")  # the archive holds the classes of its class path
    ours_only = class_path is None or (own_jar is not None and class_path == str(own_jar))
    archive = jvm_archive() if master and ours_only else None
    if archive is not None:  # the driver JVM is ours to start: map the classes it loads from the archive
        options += [_java_arg(f"-XX:SharedArchiveFile={archive}"), "-Xlog:cds*=off"]
    options += [o for o in [settings.get("spark.driver.extraJavaOptions")] if o]
    return " ".join(options)
