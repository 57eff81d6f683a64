"""The PySpark daemon our sessions start (``spark.python.daemon.module``): pyspark's own daemon, after importing
the modules every Python worker needs and loading the numba kernels once.

PySpark's daemon forks one worker per concurrent Python task. Left to itself, each worker imports numpy, pyarrow,
numba and the stage modules and loads the numba kernels from their cache: over a CPU-second per worker, paid again
by every worker of every executor. Forked from a daemon that has done it, a worker starts with all of it in memory
(copy-on-write). What is preloaded: a few generic modules and the module of every registered stage
(:data:`curation.pipeline.registry.STAGES`), so a new stage is preloaded without a line here.

PySpark imports its worker module only after the fork because numpy and pyarrow may start threads, and a thread
holding a lock at fork time would leave the child's copy of that lock held. What is preloaded here is limited to
imports and single-threaded kernel calls. Measured after preloading, the daemon runs two threads: its own and the
background thread of the jemalloc allocator pyarrow loads, whose fork handlers keep the allocator consistent in the
child. OpenBLAS starts no pool because Spark sets ``OMP_NUM_THREADS`` to the task's cores (1), and Arrow's thread
pools are created on first use. ``tests/curation/runtime/test_session.py`` checks the thread count, so a preload that
starts threads fails there. A failure while preloading is not fatal: the workers then import what they need themselves.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys

GENERIC = ("numpy", "pyarrow", "pyarrow.compute", "pyspark.worker", "scipy.sparse.csgraph",
           "curation.readers.file_source")


def preload_modules() -> list[str]:
    """The generic modules, then the module of every registered stage."""
    from curation.pipeline.registry import STAGES

    return [*GENERIC, *STAGES.modules()]


def prefer_installed_pyspark() -> None:
    """Spark puts ``pyspark.zip`` and py4j's source zip at the head of the workers' ``PYTHONPATH``. Imported from a
    zip of sources, every pyspark module is compiled again in every daemon (~0.5 CPU-s a process, measured); the
    same version installed in site-packages has its bytecode cached. Move the zips to the end of ``sys.path``."""
    zips = [p for p in sys.path if p.endswith("pyspark.zip") or ("py4j-" in p and p.endswith("-src.zip"))]
    if zips and importlib.util.find_spec("pyspark") is not None:
        sys.path[:] = [p for p in sys.path if p not in zips] + zips


def preload() -> None:
    prefer_installed_pyspark()
    for name in preload_modules():
        importlib.import_module(name)
    from curation.runtime.precompile import numba_kernels

    numba_kernels(quiet=True)


if __name__ == "__main__":
    import contextlib

    try:
        # the daemon's standard output carries its port to Spark: anything a module prints while loading goes to
        # standard error instead (otherwise Spark fails with "Bad data in ... standard output")
        with contextlib.redirect_stdout(sys.stderr):
            preload()
    except Exception as exc:  # noqa: BLE001 - the daemon must start regardless
        print(f"curation.runtime.worker_daemon: preload failed, workers import on their own: {exc!r}", file=sys.stderr)
    from pyspark.daemon import manager

    manager()
