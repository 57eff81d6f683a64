"""The pipeline on a real Spark standalone cluster (a master and two 1-core workers on 127.0.0.1, submitted with
spark-submit): shards byte-identical to local[1] and local[2]; a worker killed by pid in the middle of the shards
stage costs retries, not the run or its bytes; an executor no worker can host is refused within seconds."""
import filecmp
import json
import os
import time
from pathlib import Path

import pytest

from tests.cluster.standalone import StandaloneCluster
from tests.curation.conftest import corpus_rows

# five spark-submits (JVM, executors and Python workers started each time): minutes, not seconds; on a machine
# shared by many jobs the per-test bound of the suite is too short
pytestmark = [pytest.mark.timeout(2400)]

SAMPLE = {"web": 120, "code": 40, "forum": 200, "wiki": 8, "docs": 25}
SPEC = """
out: {out}
seed: 3
spark: {{master: "local[2]"}}  # spark-submit's --master wins
inputs:
  - {{format: jsonl, path: "{inputs}/*.jsonl"}}
stages:
  ingest: {{}}
  tokenize: {{tokenizer: "{{out}}/tokenizer.json", train_vocab_size: 1024, train_max_bytes: 300000}}
  shards: {{tokenizer: "{{out}}/tokenizer.json", mix: "{mix}", shard_tokens: 40000, eval_fraction: 0.1,
            per_source_dirs: true, megatron: true}}
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("cluster")
    inputs = root / "in"
    inputs.mkdir()
    rows = corpus_rows(SAMPLE)
    for source in SAMPLE:
        (inputs / f"{source}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows if r["source"] == source))
    (root / "mix.yaml").write_text("weights: {web: 0.5, forum: 0.3, wiki: 0.2}\n"
                                   "max_repetition: {web: 2, forum: 2, wiki: 4}\n")
    (root / "spec.yaml").write_text(SPEC.format(out="{out}", inputs=inputs, mix=root / "mix.yaml"))
    return root


@pytest.fixture(scope="module")
def cluster(workdir):
    c = StandaloneCluster(workdir / "cluster", workers=2, cores=1, memory="1g")
    try:
        yield c.start()
    finally:
        c.stop()


def run(cluster, workdir, name: str, master: str | None = None, wait: bool = True, conf: dict | None = None):
    out = workdir / name
    return out, cluster.submit(["run", str(workdir / "spec.yaml"), "--set", f"out={out}"], workdir / f"{name}.log",
                               master=master, wait=wait, conf=conf)


def artifacts(out: Path) -> Path:
    return out / "shards" / "_artifacts"


def assert_same_tree(a: Path, b: Path) -> list[str]:
    names = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file())
    assert names == sorted(str(p.relative_to(b)) for p in b.rglob("*") if p.is_file())
    assert filecmp.cmpfiles(a, b, names, shallow=False)[1:] == ([], [])
    return names


def stage_counts(out: Path) -> list:
    stats = [json.loads(p.read_text()) for p in sorted(out.glob("*/_stats.json"))] or \
        [json.loads(p.read_text()) for p in sorted(out.rglob("stats.json"))]
    return [(s.get("stage"), s.get("kept"), s.get("rejected"), s.get("reasons")) for s in stats]


def test_an_executor_no_worker_can_host_is_refused_within_seconds(cluster, workdir):
    start = time.time()
    _, p = run(cluster, workdir, "too_big", conf={"spark.executor.memory": "6g"})
    log = (workdir / "too_big.log").read_text()
    assert p.returncode == 2 and "cannot run an executor of 1 cores and 6144 MB" in log, log[-2000:]
    assert "Traceback" not in log and any(line.startswith("error: ") and "6144 MB" in line
                                          for line in log.splitlines()), log[-2000:]  # one line, no stack
    # refused from the master's worker list before any job: no "tasks 0/N" wait (Spark alone would wait forever);
    # the bound covers starting the driver JVM on a busy 2-core machine
    assert "tasks 0/" not in log and time.time() - start < 120


def test_cluster_shards_equal_local_1_and_local_2_byte_for_byte(cluster, workdir):
    for name, master in (("local1", "local[1]"), ("local2", "local[2]"), ("standalone", None)):
        _, p = run(cluster, workdir, name, master=master)
        assert p.returncode == 0, (workdir / f"{name}.log").read_text()[-3000:]
    names = assert_same_tree(artifacts(workdir / "local1"), artifacts(workdir / "standalone"))
    assert_same_tree(artifacts(workdir / "local2"), artifacts(workdir / "standalone"))
    assert {"manifest.json", "eval/web/manifest.json", "sources/docs/manifest.json", "megatron/shard-00000.idx",
            "shard-00003.bin"} <= set(names)
    assert "master spark://127.0.0.1" in (workdir / "standalone.log").read_text()
    assert stage_counts(workdir / "local1") == stage_counts(workdir / "standalone")


def clean_run(cluster, workdir) -> Path:
    """A clean run's output: the cluster's from the round trip when it ran, else one in local[2] (equal bytes)."""
    for name in ("standalone", "local2"):
        if (artifacts(workdir / name) / "manifest.json").exists():
            return workdir / name
    _, p = run(cluster, workdir, "local2", master="local[2]")
    assert p.returncode == 0, (workdir / "local2.log").read_text()[-3000:]
    return workdir / "local2"


def test_a_worker_killed_mid_stage_costs_retries_not_the_run(cluster, workdir):
    clean = clean_run(cluster, workdir)
    out, p = run(cluster, workdir, "killed", wait=False)
    log = workdir / "killed.log"
    deadline = time.time() + 180
    while "[shards] running" not in (log.read_text() if log.exists() else "") and p.poll() is None:
        assert time.time() < deadline, "the shards stage never started"
        time.sleep(0.2)
    time.sleep(1.0)
    assert p.poll() is None, "the run ended before the worker could be killed"
    cluster.kill_worker(1)
    assert p.wait(timeout=240) == 0, log.read_text()[-3000:]
    assert_same_tree(artifacts(clean), artifacts(out))
    assert stage_counts(clean) == stage_counts(out)
    alive = [w for w in cluster.state()["workers"] if w["state"] == "ALIVE"]
    assert len(alive) == 1
