"""What the run-wide id check costs the ingest stage: ingest with it (this tree) against ingest without it (the
stage as of commit ``BASELINE``, loaded from git), in one Spark session (local[2]), run in turn.

The set: the shared corpora (/work/shared/data/corpora, 3,363 documents) repeated with distinct ids to ``--docs``
documents, texts cut at 6,000 characters, the corpus name as ``source``, in 8 zstd JSONL files, and the same documents in 8 Parquet files (the
lazy path: the check reads ids, paths and row indexes, the documents stay in the files). For each run: the stage's
wall seconds and the CPU seconds of the whole process tree (driver, JVM, Python workers), from /proc.

    nice -n 15 .venv/bin/python benchmarks/bench_ingest_ids.py --docs 30000 --repeat 3
                                                        # writes benchmarks/results/ingest_ids.json
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

BASELINE = "c85473d"  # the last commit whose ingest stage has no run-wide id check
CORPORA = Path(os.environ.get("CURATION_SHARED", REPO.parent / "shared")) / "data" / "corpora"
FILES = 8


def build_set(work: Path, docs: int) -> tuple[Path, Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq
    import zstandard

    base = []
    for f in sorted(CORPORA.glob("*.jsonl.zst")):
        with zstandard.open(f, "rt") as fh:
            base += [{**json.loads(line), "source": f.name.split(".")[0]} for line in fh if line.strip()]
    jdir, pdir = work / "jsonl", work / "parquet"
    jdir.mkdir(parents=True, exist_ok=True)
    pdir.mkdir(parents=True, exist_ok=True)
    per = -(-docs // FILES)
    for k in range(FILES):
        rows = []
        for i in range(k * per, min(docs, (k + 1) * per)):
            d = base[i % len(base)]
            rows.append({"id": f"{d['id']}#{i // len(base)}", "text": d["text"][:6000], "source": d["source"]})
        with zstandard.open(jdir / f"part-{k:05d}.jsonl.zst", "wt") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in rows)
        pq.write_table(pa.Table.from_pylist(rows), pdir / f"part-{k:05d}.parquet")
    return jdir, pdir


def tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its live descendants (each with its reaped children)."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = raw.rsplit(")", 1)[1].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
        stats[int(entry)] = sum(int(x) for x in fields[11:15]) / tick
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += stats.get(p, 0.0)
        todo += children.get(p, [])
    return total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=30000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=str(REPO / "benchmarks/results/ingest_ids.json"))
    args = ap.parse_args()

    from curation.pipeline.registry import STAGES
    from curation.pipeline.runner import Runner
    from curation.pipeline.spec import load_spec
    from curation.runtime.session import get_spark

    work = Path(tempfile.mkdtemp(prefix="bench-ingest-ids-"))
    jdir, pdir = build_set(work, args.docs)
    old = subprocess.run(["git", "-C", str(REPO), "show", f"{BASELINE}:curation/stages/ingest.py"], check=True,
                         capture_output=True, text=True).stdout
    (work / "ingest_baseline.py").write_text(old)
    sys.path.insert(0, str(work))
    STAGES["ingest_baseline"] = "ingest_baseline:IngestStage"  # driver-side only: the readers are this tree's
    spark = get_spark(master="local[2]", driver_memory="2g", conf={"spark.ui.enabled": "false"})

    def run(variant: str, fmt: str, n: int) -> dict:
        src = jdir if fmt == "jsonl" else pdir
        spec = work / f"{variant}-{fmt}-{n}.yaml"
        stype = "ingest" if variant == "check" else "ingest_baseline"
        spec.write_text(f"out: {work / 'runs' / spec.stem}\ninputs:\n  - {{format: {fmt}, path: {src}}}\n"
                        f"stages:\n  ingest: {{type: {stype}}}\n  all:\n    type: select\n"
                        "    rules: [{keep_if: 'true', reason: never}]\n")
        cpu0, t0 = tree_cpu(os.getpid()), time.time()
        result = Runner(load_spec(spec), spark, log=lambda m: None).run()
        wall, cpu = time.time() - t0, tree_cpu(os.getpid()) - cpu0
        st = result.outcomes[0].stats
        return {"variant": variant, "format": fmt, "ingest_s": st["seconds"], "run_wall_s": round(wall, 2),
                "run_cpu_s": round(cpu, 2), "kept": st["kept"], "rejected": st["rejected"]}

    for fmt in ("jsonl", "parquet"):  # warm-up: JVM classes, Python workers
        run("baseline", fmt, -1)
    runs = []
    for n in range(args.repeat):
        for fmt in ("jsonl", "parquet"):
            for variant in (("baseline", "check") if n % 2 == 0 else ("check", "baseline")):
                runs.append(run(variant, fmt, n))
                print(json.dumps(runs[-1]), flush=True)
    summary = {}
    for fmt in ("jsonl", "parquet"):
        med = {v: {k: statistics.median(r[k] for r in runs if r["variant"] == v and r["format"] == fmt)
                   for k in ("ingest_s", "run_wall_s", "run_cpu_s")} for v in ("baseline", "check")}
        summary[fmt] = {**med, "overhead_ingest_wall": round(med["check"]["ingest_s"] / med["baseline"]["ingest_s"]
                                                             - 1, 3),
                        "overhead_run_cpu": round(med["check"]["run_cpu_s"] / med["baseline"]["run_cpu_s"] - 1, 3)}
    result = {"docs": args.docs, "files": FILES, "text_chars_max": 6000, "repeat": args.repeat,
              "baseline_commit": BASELINE, "machine": f"{os.cpu_count()} cores, local[2], shared (nice 15)",
              "load_avg_at_end": os.getloadavg(), "summary": summary, "runs": runs}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    spark.stop()


if __name__ == "__main__":
    main()
