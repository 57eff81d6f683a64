"""How the dedup benchmark (``bench_dedup.py``) runs each tool: the benchmark sets, the peers' virtualenvs, our
pipeline in a metered process, and the CPU of a process tree."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = Path(os.environ.get("CURATION_SHARED", REPO.parent / "shared")) / "bench"
OUT = REPO / "benchmarks" / "out"
RESULTS = REPO / "benchmarks" / "results"
VENVS = Path(os.environ.get("CURATION_PEER_VENVS", "/work/venvs"))
# Extra driver JVM options for our runs: none, so the benchmark measures what `curate run` ships with in local mode
# (C1-only JIT and, once `make setup` has built it, the class archive; see curation/runtime/driver_jvm.py).
JAVA_OPTIONS = ""
PY = sys.executable

# --size -> make_dedup_set.py options. "14k" is the yardstick's default set; the others cut the same corpora into
# shorter documents (53-89 words) to reach ~1k / ~10k / ~100k documents of one length distribution.
_SHORT = ["--min-words", "53", "--max-words", "89"]
SETS = {
    "14k": [],
    "1k": [*_SHORT, "--max-base", "870"],
    "10k": [*_SHORT, "--max-base", "8700"],
    "100k": _SHORT,
}
PEERS = {
    "datatrove": (["datatrove[io,processing]==0.10.1", "spacy"], "run_datatrove_minhash.py", []),
    "textdedup": (["text-dedup==0.4.0"], "run_textdedup_minhash.py", []),
}


def _bench_lib():
    sys.path.insert(0, str(BENCH))
    import benchlib
    import dedup_eval

    return benchlib, dedup_eval


def ensure_set(size: str) -> Path:
    """Build the benchmark set for ``size`` with the yardstick's generator unless it exists; return its folder."""
    d = OUT / f"set{size}"
    if not (d / "dedup_truth.jsonl").exists():
        d.mkdir(parents=True, exist_ok=True)
        subprocess.run([PY, str(BENCH / "make_dedup_set.py"), "--out-dir", str(d), *SETS[size]], check=True)
    parquet = d / "dedup_set.parquet"
    if not parquet.exists():  # input conversion is not timed (DataTrove's input sharding is not timed either)
        import pyarrow as pa
        import pyarrow.parquet as pq

        benchlib, _ = _bench_lib()
        rows = benchlib.read_jsonl(str(d / "dedup_set.jsonl"))
        pq.write_table(pa.Table.from_pylist([{"id": r["id"], "text": r["text"], "source": r["source"]}
                                             for r in rows]), parquet, row_group_size=4096)
    return d


def ensure_venv(name: str) -> Path:
    """The peer's virtualenv, created and installed (ENVIRONMENT-NOTES pins) when missing."""
    venv = VENVS / name
    py = venv / "bin" / "python"
    if not py.exists():
        subprocess.run([getattr(sys, "_base_executable", "python3"), "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", *PEERS[name][0]], check=True)
    return py


def bench_spark(partitions: int = 2, java_options: str = JAVA_OPTIONS):
    """The Spark session every metered run of ours uses: local[2], driver 2g, ``partitions`` shuffle partitions."""
    from curation.runtime.session import get_spark

    return get_spark(master="local[2]", driver_memory="2g",
                     conf={"spark.sql.shuffle.partitions": str(partitions), "spark.default.parallelism": "2",
                           **({"spark.driver.extraJavaOptions": java_options} if java_options else {})})


def tree_cpu_seconds() -> float:
    """CPU seconds used so far by this process and all its descendants (live ones and reaped ones)."""
    import psutil

    me = psutil.Process()
    total = 0.0
    for p in [me, *me.children(recursive=True)]:
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def metered_run(set_dir: Path, work: Path, partitions: int = 2, java_options: str = JAVA_OPTIONS,
                warmup: str = ""):
    """One process: start Spark, run the pipeline, meter it, write result.json with clusters and removals."""
    import shutil

    t_proc = time.perf_counter()
    benchlib, dedup_eval = _bench_lib()
    sys.path.insert(0, str(REPO))
    from curation.dedup.eval import clusters_from_annotated
    from curation.pipeline.runner import Runner
    from curation.pipeline.spec import load_spec
    from curation.pipeline.storage import read_parquet
    from curation.runtime.driver_jvm import jvm_archive

    shutil.rmtree(work, ignore_errors=True)
    spec = load_spec(REPO / "pipelines" / "dedup.yaml",
                     [f"inputs.0.path={set_dir / 'dedup_set.parquet'}", "inputs.0.format=parquet", f"out={work / 'run'}"])
    spark = bench_spark(partitions, java_options)
    if warmup:  # the same pipeline on a set (by default the measured one), not metered
        warm_spec = load_spec(REPO / "pipelines" / "dedup.yaml",
                              [f"inputs.0.path={Path(warmup) / 'dedup_set.parquet'}", "inputs.0.format=parquet",
                               f"out={work / 'warmup'}"])
        Runner(warm_spec, spark, log=lambda m: None, progress_every=3600).run()
    t_started = time.perf_counter()
    cpu0, busy0 = tree_cpu_seconds(), benchlib.machine_busy_s()
    marks: list[tuple[str, float]] = []  # (runner log line, tree CPU then): per-stage CPU from the runner's log
    result = Runner(spec, spark, log=lambda m: marks.append((m, tree_cpu_seconds())), progress_every=3600).run()
    wall = time.perf_counter() - t_started
    cpu = tree_cpu_seconds() - cpu0
    foreign = max(0.0, (benchlib.machine_busy_s() - busy0) - cpu) / (wall * (os.cpu_count() or 1))
    cpu_whole = tree_cpu_seconds()
    wall_whole = time.perf_counter() - t_proc
    annotated = read_parquet(spark, f"{work / 'run'}/minhash").select("id", "dup_cluster", "dup_of", "exact_dup_of")
    clusters, removed = clusters_from_annotated(annotated.toArrow())
    n = result.ledger["stages"][0]["in"] if "stages" in result.ledger else result.outcomes[0].stats["in"]
    stage_seconds = {o.name: o.stats["seconds"] for o in result.outcomes}
    starts = {m.split("]")[0][1:]: c for m, c in marks if m.endswith(")") and "running" in m}
    ends = {m.split("]")[0][1:]: c for m, c in marks if " kept " in m}
    stage_cpu = {k: round(ends[k] - starts[k], 2) for k in starts if k in ends}
    spark.stop()
    metrics = dedup_eval.evaluate(str(set_dir / "dedup_set.jsonl"), str(set_dir / "dedup_truth.jsonl"),
                                  clusters, set(removed))
    out = {
        "tool": "curation", "docs": n,
        "settings": {"pipeline": "pipelines/dedup.yaml (ingest parquet, minhash with exact, select)",
                     "warmup_set": warmup or None,
                     "spark": "local[2], driver 2g", "shuffle_partitions": partitions, "java_options": java_options,
                     "jvm_class_archive": jvm_archive() is not None,
                     "minhash": next(o.stats.get("extra", {}) for o in result.outcomes if o.name == "minhash")},
        "total": {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "docs_per_cpu_s": round(n / cpu, 1),
                  "foreign_cpu_share": round(foreign, 3)},
        "whole_process": {"wall_s": round(wall_whole, 2), "cpu_s": round(cpu_whole, 2),
                          "spark_start_wall_s": round(t_started - t_proc, 2)},
        "stage_wall_s": stage_seconds,
        "stage_cpu_s": stage_cpu,
        "metrics": metrics,
    }
    (work / "result.json").write_text(json.dumps(out, indent=2))
    print(dedup_eval.summary_line(metrics))
    print(json.dumps({k: v for k, v in out.items() if k != "metrics"}, indent=1))


def run_peer(tool: str, size: str, work: Path) -> dict:
    d = ensure_set(size)
    args = ["--input", str(d / "dedup_set.jsonl"), "--truth", str(d / "dedup_truth.jsonl"), "--work", str(work)]
    if tool == "datasketch":
        cmd = [PY, str(BENCH / "run_datasketch.py"), *args]
    else:
        cmd = [str(ensure_venv(tool)), str(BENCH / PEERS[tool][1]), *args]
    env = dict(os.environ, HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1")
    (work / "result.json").unlink(missing_ok=True)
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # run_datasketch.py writes result.json, then can fail printing a stage too fast to have a rate (1k set)
    if not (work / "result.json").exists():
        raise RuntimeError(f"{tool} on {size} failed (exit {done.returncode}): {done.stderr[-2000:]}")
    return json.loads((work / "result.json").read_text())


def _row(tool: str, r: dict) -> dict:
    t, m = r["total"], r["metrics"]
    return {"tool": tool, "docs": t.get("docs", r.get("docs")), "wall_s": t["wall_s"], "cpu_s": t["cpu_s"],
            "docs_per_cpu_s": t["docs_per_cpu_s"], "foreign_cpu_share": t.get("foreign_cpu_share"),
            "pair_f1": m["pair"]["f1"], "pair_precision": m["pair"]["precision"], "pair_recall": m["pair"]["recall"],
            "removal_precision": m["removal"]["precision"], "removal_recall": m["removal"]["recall"]}
