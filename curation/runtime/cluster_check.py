"""Cluster sessions: fail within seconds when the cluster cannot give what was asked, and size shuffles for it.

Spark itself waits forever at ``tasks 0/N`` when no worker can host an executor of the asked size. On a standalone
master the workers' cores and memory are public (the master's web UI ``/json``, port ``spark.curation.masterWebUi``
or 8080): an executor no alive worker can host is refused at once, naming the sizes. On any cluster manager the
session then waits at most ``spark.curation.executorWaitSeconds`` (default 60) for a first executor (not under
dynamic allocation, where executors come with the first job).
"""
from __future__ import annotations

import json
import re
import time
import urllib.request


class ClusterResourcesError(RuntimeError):
    """The cluster cannot run an executor of the requested size (or gave none in time)."""


def _mb(size: str) -> int:
    m = re.fullmatch(r"\s*(\d+)\s*([kmgt]?)b?\s*", size.lower())
    if not m:
        raise ClusterResourcesError(f"spark.executor.memory: cannot read {size!r}")
    return int(int(m.group(1)) * {"k": 1 / 1024, "": 1, "m": 1, "g": 1024, "t": 1 << 20}[m.group(2)])


def standalone_workers(master: str, ui: str | None = None, timeout: float = 3.0) -> list[dict] | None:
    """The alive workers of a standalone master (cores, memory in MB), or None when its web UI is not reachable."""
    host = master[len("spark://"):].split(",")[0].rsplit(":", 1)[0]
    url = (ui or f"http://{host}:8080").rstrip("/") + "/json/"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            state = json.load(r)
    except (OSError, ValueError):
        return None
    return [w for w in state.get("workers", []) if w.get("state") == "ALIVE"]


def check_cluster(spark) -> None:
    """Raise :class:`ClusterResourcesError` (one line) when the session's cluster cannot give its executors."""
    sc = spark.sparkContext
    conf = sc.getConf()
    master = sc.master
    if master.startswith("local"):
        return
    memory = _mb(conf.get("spark.executor.memory", "1g"))
    cores = int(conf.get("spark.executor.cores", "1"))
    if master.startswith("spark://"):
        workers = standalone_workers(master, conf.get("spark.curation.masterWebUi", None))
        if workers is not None and not any(w["cores"] >= cores and w["memory"] >= memory for w in workers):
            biggest = max(((w["cores"], w["memory"]) for w in workers), default=(0, 0))
            raise ClusterResourcesError(
                f"the cluster at {master} cannot run an executor of {cores} cores and {memory} MB "
                f"(spark.executor.cores / spark.executor.memory): its largest alive worker has {biggest[0]} cores "
                f"and {biggest[1]} MB ({len(workers)} alive workers)")
    if conf.get("spark.dynamicAllocation.enabled", "false") == "true":
        return  # executors come with the first job
    wait = float(conf.get("spark.curation.executorWaitSeconds", "60"))
    deadline = time.time() + wait
    while sc._jsc.sc().getExecutorMemoryStatus().size() <= 1:  # the driver counts as one
        if time.time() > deadline:
            raise ClusterResourcesError(
                f"the cluster at {master} gave no executor in {wait:g} s for {cores} cores and {memory} MB each "
                f"(spark.executor.cores / spark.executor.memory): are workers up, and is one that large?")
        time.sleep(0.2)


def cluster_shuffle_partitions(spark) -> None:
    """Unless set explicitly, shuffle partitions become twice the executors' cores (Spark's 200 made a small dedup
    2.5x slower on a cluster than locally); stages that know their data size choose more
    (:func:`curation.runtime.session.partitions_for`)."""
    if spark.sparkContext.getConf().contains("spark.sql.shuffle.partitions"):
        return
    spark.conf.set("spark.sql.shuffle.partitions", str(max(4, 2 * spark.sparkContext.defaultParallelism)))
