"""Scaling of the whole demo-like pipeline through shards: time, CPU and driver memory per 10x step.

    .venv/bin/python benchmarks/bench_scale.py --steps 100 1000 10000 [--master local[2]]

Each step writes N documents of 300-1,000 words (word windows drawn, seeded, from the shared corpora of five
sources, so they are neither duplicates nor gibberish) as JSONL and runs ``curate run`` on a spec of ingest ->
exact_dedup -> minhash -> heuristics -> select -> tokenize (a BPE trained on the first 2 MB) -> shards (a mix with
an eval split and per-source directories), in a fresh process. Measured from outside: wall seconds, CPU seconds of
the process tree (driver, JVM, Python workers; /proc), and the peak resident memory (VmHWM) of the Python driver
process, where per-document data would land if anything collected it. In local mode the JVM is driver and executor
at once, so its peak is reported too but is not the driver's alone. Prints the ratio of the largest step's CPU-s
per document to the middle step's and whether the driver's peak stays within 20% from the smallest step to the
largest; writes benchmarks/results/scale.json.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import zstandard

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "corpora"
SOURCES = ("web", "wiki", "forum", "code", "docs")
SPEC = """
out: {out}
seed: 0
inputs:
  - {{format: jsonl, path: "{inputs}/*.jsonl"}}
stages:
  ingest: {{}}
  exact_dedup: {{}}
  minhash: {{threshold: 0.8}}
  heuristics: {{rules: {{gopher_repetition: {{}}, fineweb: {{}}}}}}
  select:
    rules:
      - {{keep_if: "exact_dup_of IS NULL", reason: exact_duplicate}}
      - {{keep_if: "dup_of IS NULL", reason: near_duplicate}}
  tokenize: {{tokenizer: "{{out}}/tokenizer.json", train_vocab_size: 4096, train_max_bytes: 2000000}}
  shards: {{tokenizer: "{{out}}/tokenizer.json", mix: "{mix}", shard_tokens: 2000000, eval_fraction: 0.05,
            per_source_dirs: true}}
"""
MIX = "weights: {web: 0.4, wiki: 0.15, forum: 0.2, code: 0.15, docs: 0.1}\nmax_repetition: 3\n"


def word_pools(max_docs: int = 3000) -> dict[str, list[str]]:
    pools = {}
    for source in SOURCES:
        reader = zstandard.ZstdDecompressor().stream_reader(open(DATA / f"{source}.jsonl.zst", "rb"))
        words: list[str] = []
        for i, line in enumerate(io.TextIOWrapper(reader, encoding="utf-8")):
            if i >= max_docs or len(words) > 2_000_000:
                break
            words += json.loads(line)["text"].split()
        pools[source] = words
    return pools


def write_inputs(n: int, folder: Path, pools: dict[str, list[str]], seed: int = 0) -> int:
    """``n`` documents of 300-1,000 words, a seeded window of one source's words each; returns the text bytes."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    files = {s: open(folder / f"{s}.jsonl", "w", encoding="utf-8") for s in SOURCES}
    total = 0
    for i in range(n):
        source = SOURCES[i % len(SOURCES)]
        words = pools[source]
        length = rng.randint(300, 1000)
        start = rng.randrange(0, len(words) - length)
        text = " ".join(words[start:start + length])
        total += len(text.encode())
        files[source].write(json.dumps({"id": f"{source}-{i}", "text": text, "source": source}) + "\n")
    for f in files.values():
        f.close()
    return total


def _tree(pid: int) -> list[int]:
    kids = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        kids.append(int(p))
            except OSError:
                pass
    return [pid] + [d for k in kids for d in _tree(k)]


def _cpu(pids: list[int]) -> dict[int, float]:
    out = {}
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[p] = sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return out


def _hwm_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_step(n: int, work: Path, pools, master: str) -> dict:
    step = work / f"n{n}"
    text_bytes = write_inputs(n, step / "in", pools)
    (step / "mix.yaml").write_text(MIX)
    (step / "spec.yaml").write_text(SPEC.format(out=step / "run", inputs=step / "in", mix=step / "mix.yaml"))
    cmd = [str(ROOT / ".venv" / "bin" / "curate"), "run", str(step / "spec.yaml"), "--master", master,
           "--driver-memory", "2g"]
    start = time.time()
    proc = subprocess.Popen(cmd, stdout=open(step / "run.log", "w"), stderr=subprocess.STDOUT)
    cpu: dict[int, float] = {}
    driver_mb = jvm_mb = 0.0
    while proc.poll() is None:
        tree = _tree(proc.pid)
        cpu.update(_cpu(tree))
        driver_mb = max(driver_mb, _hwm_mb(proc.pid))
        jvm_mb = max([jvm_mb] + [_hwm_mb(p) for p in tree[1:] if "java" in _cmd(p)])
        time.sleep(0.5)
    wall = time.time() - start
    if proc.returncode:
        raise SystemExit(f"step {n} failed: see {step / 'run.log'}")
    ledger = json.loads((step / "run" / "ledger.json").read_text())
    return {"documents": n, "text_mb": round(text_bytes / 1e6, 1), "wall_s": round(wall, 1),
            "cpu_s": round(sum(cpu.values()), 1), "cpu_s_per_1k_docs": round(1000 * sum(cpu.values()) / n, 2),
            "driver_python_peak_mb": round(driver_mb), "jvm_peak_mb": round(jvm_mb),
            "ledger_stages": len(ledger.get("stages", ledger)) if isinstance(ledger, dict) else None}


def _cmd(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--work", default=str(ROOT / "benchmarks" / "out" / "scale"))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "scale.json"))
    args = ap.parse_args()
    pools = word_pools()
    rows = []
    for n in args.steps:
        rows.append(run_step(n, Path(args.work), pools, args.master))
        print(json.dumps(rows[-1]), flush=True)
    small, middle, large = rows[0], rows[len(rows) // 2], rows[-1]
    ratio = large["cpu_s_per_1k_docs"] / middle["cpu_s_per_1k_docs"]
    drift = large["driver_python_peak_mb"] / small["driver_python_peak_mb"] - 1
    summary = {"master": args.master, "cores": os.cpu_count(), "steps": rows,
               "cpu_per_doc_ratio_largest_to_middle": round(ratio, 3),
               "driver_peak_change_smallest_to_largest": round(drift, 3), "driver_flat_within_20pct": abs(drift) <= 0.2,
               "load_average_at_end": os.getloadavg()[0]}
    print(f"CPU-s per document, largest step / middle step: {ratio:.2f}")
    print(f"driver (Python) peak: {small['driver_python_peak_mb']} MB -> {large['driver_python_peak_mb']} MB "
          f"({drift:+.1%}; flat within 20%: {abs(drift) <= 0.2})")
    Path(args.out).write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
