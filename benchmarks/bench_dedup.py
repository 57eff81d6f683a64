#!/usr/bin/env python
"""Near-duplicate detection side by side: this project vs DataTrove, text-dedup and datasketch, one run.

Same input, 5-gram shingles, 112 hashes and threshold 0.8 for every tool; each is scored by the yardstick's
``dedup_eval.py`` (../shared/bench) against its exact-Jaccard truth. Throughput is documents per CPU-second of
the whole process tree (this project: driver, JVM and Python workers; peers: their own meters, which reap their
worker processes). ``foreign_cpu_share`` is the share of the machine other jobs used meanwhile (> ~0.05 means
the timing is contaminated).

"ours" is a fresh process (Spark session start excluded, everything after it included: the JVM's class loading and
JIT warm-up, Python worker start-up). "ours-warm" is the same pipeline metered after the same process ran it once on
a set of the same size (by default the measured set itself; nothing is cached between runs: every run reads its
input and writes a new run folder): the steady state of a long job, where those fixed costs are paid once. A warm-up
on a smaller set leaves loops that only a full-size run makes hot uncompiled (one 10k run: ~0.6 CPU-s more on the
next 100k run). ``--repeat N`` runs the tools N times in turn and reports each tool's median run, with its range.

  .venv/bin/python benchmarks/bench_dedup.py compare --size 100k      # all tools on the ~100k-doc set
  .venv/bin/python benchmarks/bench_dedup.py compare --size 14k --tools ours
  .venv/bin/python benchmarks/bench_dedup.py scaling                  # ours (fresh, warm) and datasketch at 1k/10k/100k
  .venv/bin/python benchmarks/bench_dedup.py natural                  # labelled groups of dedup_natural
  .venv/bin/python benchmarks/bench_dedup.py floor                    # what Spark itself costs on the 100k set
  .venv/bin/python benchmarks/bench_dedup.py cli --size 14k           # the whole `curate run` command, as a user runs it

Sets are built with the yardstick's ``make_dedup_set.py`` under benchmarks/out/ (not committed) when missing;
peers are installed into /work/venvs/<name> when missing. Results: benchmarks/results/dedup*.json.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import typer

from dedup_runs import (BENCH, JAVA_OPTIONS, OUT, PY, REPO, RESULTS, SETS, _bench_lib, _row, bench_spark,
                        ensure_set, metered_run, run_peer, tree_cpu_seconds)

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False)


def run_ours(size: str, work: Path, partitions: int = 2, warmup: str = "") -> dict:
    """pipelines/dedup.yaml (Parquet in; exact + minhash + select) in a fresh process; its result dict.

    ``warmup``: a set the same process runs first, unmetered, so the metered run finds the JVM's classes loaded
    and compiled and the Python workers started (the steady state of a long job or a long-lived session)."""
    d = ensure_set(size)
    res = work / "result.json"
    extra = ["--warmup", str(ensure_set(warmup))] if warmup else []
    subprocess.run([PY, __file__, "ours-process", str(d), str(work), "--partitions", str(partitions), *extra],
                   check=True)
    return json.loads(res.read_text())


@app.command("ours-process", hidden=True)
def ours_process(set_dir: Path, work: Path, partitions: int = 2, java_options: str = JAVA_OPTIONS,
                 warmup: str = ""):
    """One process: start Spark, run the pipeline, meter it, write result.json with clusters and removals."""
    metered_run(set_dir, work, partitions, java_options, warmup)


@app.command("build-set")
def build_set(size: str):
    """Build one benchmark set (and its Parquet copy) without running anything."""
    print(ensure_set(size))


@app.command()
def compare(size: str = typer.Option("100k", help=f"set: {', '.join(SETS)}"),
            tools: str = typer.Option("ours,ours-warm,datasketch,textdedup,datatrove", help="comma-separated"),
            partitions: int = typer.Option(2, help="Spark shuffle partitions for ours"),
            reuse: str = typer.Option("", help="comma-separated tools whose last result on this set is reused"),
            warmup: str = typer.Option("same", help="set that 'ours-warm' runs first in the same process ('same': "
                                                    "the measured set)"),
            repeat: int = typer.Option(1, help="run the tools this many times in turn; each tool's median run is "
                                               "reported")):
    """Every tool on one set, one after the other; prints docs/CPU-s, F1 and our throughput ratios."""
    benchlib, _ = _bench_lib()
    runs: dict[str, list[dict]] = {tool: [] for tool in tools.split(",")}
    for i in range(repeat):
        for tool in runs:
            work = OUT / f"{tool}_{size}"
            if tool in reuse.split(",") and (work / "result.json").exists():
                r = json.loads((work / "result.json").read_text())
            elif tool == "ours":
                r = run_ours(size, work, partitions)
            elif tool == "ours-warm":
                r = run_ours(size, work, partitions, warmup=size if warmup == "same" else warmup)
            else:
                r = run_peer(tool, size, work)
            runs[tool].append(_row(tool, r))
            print(f"[{i + 1}/{repeat}]", benchlib.fmt_table(runs[tool][-1:], list(runs[tool][-1])), flush=True)
    rows = []
    for tool, tool_runs in runs.items():
        ordered = sorted(tool_runs, key=lambda r: r["cpu_s"])
        row = dict(ordered[len(ordered) // 2])  # the median run (of an even count, the slower of the middle two)
        if repeat > 1:
            row["cpu_s_runs"] = [r["cpu_s"] for r in tool_runs]
            row["docs_per_cpu_s_range"] = [ordered[-1]["docs_per_cpu_s"], ordered[0]["docs_per_cpu_s"]]
        rows.append(row)
    for name in ("ours", "ours-warm"):
        ours = next((r for r in rows if r["tool"] == name), None)
        if ours:
            for r in rows:
                r[f"{name}_speedup".replace("-", "_")] = round(ours["docs_per_cpu_s"] / r["docs_per_cpu_s"], 2)
    print(benchlib.fmt_table(rows, [k for k in rows[0] if k not in ("cpu_s_runs", "docs_per_cpu_s_range")]))
    if repeat > 1:
        for r in rows:
            print(f"{r['tool']:<11} CPU-s per run: {r['cpu_s_runs']}  (reported: {r['cpu_s']})")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"dedup_compare_{size}.json"
    path.write_text(json.dumps({"size": size, "repeat": repeat, "warmup": warmup, "machine": benchlib.machine_info(),
                                "rows": rows}, indent=2))
    print(f"wrote {path}")


@app.command("ours-sizes", hidden=True)
def ours_sizes(sizes: str, out_json: Path, partitions: int = 2, java_options: str = JAVA_OPTIONS):
    """One process: each size run twice in turn, the second run metered (the warm state of ``compare``)."""
    import shutil

    sys.path.insert(0, str(REPO))
    from curation.pipeline.runner import Runner
    from curation.pipeline.spec import load_spec

    spark = bench_spark(partitions, java_options)
    work = out_json.parent / "ours-sizes"
    rows = []
    for size in sizes.split(","):
        for metered in (False, True):
            shutil.rmtree(work, ignore_errors=True)
            spec = load_spec(REPO / "pipelines" / "dedup.yaml",
                             [f"inputs.0.path={ensure_set(size) / 'dedup_set.parquet'}", "inputs.0.format=parquet",
                              f"out={work}"])
            cpu0, t0 = tree_cpu_seconds(), time.perf_counter()
            result = Runner(spec, spark, log=lambda m: None, progress_every=3600).run()
            if metered:
                rows.append({"size": size, "docs": result.outcomes[0].stats["in"],
                             "wall_s": round(time.perf_counter() - t0, 2),
                             "cpu_s": round(tree_cpu_seconds() - cpu0, 2)})
    spark.stop()
    out_json.write_text(json.dumps(rows, indent=2))


def _marginal(rows: list[dict]) -> None:
    """On the largest size: ``marginal_docs_per_cpu_s``, the extra documents per extra CPU-second from the smallest
    size (fixed costs cancel; the sizes are 100x apart so that timing noise stays small against the difference)."""
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        extra_cpu = max(last["cpu_s"] - first["cpu_s"], 1e-9)
        last["marginal_docs_per_cpu_s"] = round((last["docs"] - first["docs"]) / extra_cpu, 1)


@app.command()
def scaling(sizes: str = typer.Option("1k,10k,100k"), partitions: int = typer.Option(2),
            peer: str = typer.Option("datasketch", help="peer run at the same sizes ('' for none)")):
    """Cost at sizes 10x apart: ours in a fresh process per size, ours warm (one process, each size run twice, the
    second metered), and the peer. ``marginal_docs_per_cpu_s`` (documents per extra CPU-second, smallest to largest size) is the
    throughput once fixed costs are paid, the figure that carries to larger inputs; our ratios to the peer are
    printed for both."""
    benchlib, _ = _bench_lib()
    fresh = []
    for size in sizes.split(","):
        r = run_ours(size, OUT / f"ours_{size}", partitions)
        fresh.append({**_row("ours", r), "size": size,
                      "cpu_ms_per_doc": round(1000 * r["total"]["cpu_s"] / r["docs"], 3)})
        print(benchlib.fmt_table(fresh[-1:], list(fresh[-1])), flush=True)
    warm_json = OUT / "ours_sizes.json"
    subprocess.run([PY, __file__, "ours-sizes", sizes, str(warm_json), "--partitions", str(partitions)], check=True)
    warm = [{"tool": "ours-warm", **r, "docs_per_cpu_s": round(r["docs"] / r["cpu_s"], 1)}
            for r in json.loads(warm_json.read_text())]
    peers = []
    for size in (sizes.split(",") if peer else []):
        r = run_peer(peer, size, OUT / f"{peer}_{size}")
        peers.append({**_row(peer, r), "size": size})
    table = []
    for rows in (fresh, warm, peers):
        _marginal(rows)
        table += [{k: r.get(k) for k in ("tool", "size", "docs", "wall_s", "cpu_s", "docs_per_cpu_s",
                                         "marginal_docs_per_cpu_s")} for r in rows]
    ratios = {}
    if peers:
        for name, rows in (("ours", fresh), ("ours-warm", warm)):
            ratios[name] = {}
            for r, q in zip(rows, peers):
                ratios[name][r["size"]] = {"docs_per_cpu_s": round(r["docs_per_cpu_s"] / q["docs_per_cpu_s"], 2)}
                if "marginal_docs_per_cpu_s" in r:
                    ratios[name][r["size"]]["marginal"] = round(
                        r["marginal_docs_per_cpu_s"] / q["marginal_docs_per_cpu_s"], 2)
    print(benchlib.fmt_table(table, list(table[0])))
    print(f"ours / {peer}:", json.dumps(ratios))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "dedup_scaling.json").write_text(json.dumps(
        {"machine": benchlib.machine_info(), "rows": fresh, "warm_rows": warm, "peer_rows": peers,
         "ratios_to_peer": ratios}, indent=2))


@app.command()
def floor(size: str = typer.Option("100k"), repeats: int = typer.Option(2)):
    """What Spark itself costs on this set, in a fresh process: the first query (JVM class loading and JIT warm-up),
    one Parquet read + write of the documents, one pass of the text through a Python worker (no work), and the
    MinHash signature pass; each warm step repeated. Compared with datasketch's whole run on the same set (its last
    ``compare`` result), this is the floor under any Spark pipeline's docs/CPU-s."""
    import shutil
    import tempfile

    sys.path.insert(0, str(REPO))
    import pyarrow as pa
    from pyspark.sql import functions as F

    from curation.dedup.minhash.lsh import PACKED_SCHEMA, packed_bucket_rows
    from curation.dedup.minhash.stage import MinHashParams
    from curation.runtime.batches import map_batches

    src = str(ensure_set(size) / "dedup_set.parquet")
    spark = bench_spark()
    tmp = Path(tempfile.mkdtemp(prefix="dedup-floor-"))
    bands, rows = MinHashParams().band_layout()
    docs = lambda: spark.read.parquet(src)  # noqa: E731
    ids = pa.schema([("id", pa.string())])
    steps = {
        "first query (count)": lambda: docs().count(),
        "Parquet read + write": lambda: docs().write.mode("overwrite").parquet(str(tmp / "copy")),
        "text through Python (no work)": lambda: map_batches(
            docs().select("id", "text"), lambda b: pa.RecordBatch.from_arrays([b.column(0)], schema=ids), ids).count(),
        "signatures + band keys": lambda: map_batches(
            docs().select(F.xxhash64("id").alias("h"), "text"),
            lambda b: packed_bucket_rows(b, 5, 112, bands, rows, 0, True, 16), PACKED_SCHEMA).count(),
    }
    rows_out = []
    for name, step in steps.items():
        for i in range(1 if name.startswith("first") else repeats):
            c0 = tree_cpu_seconds()
            step()
            rows_out.append({"step": name, "run": i + 1, "cpu_s": round(tree_cpu_seconds() - c0, 2)})
            print(rows_out[-1], flush=True)
    spark.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    peer = OUT / f"datasketch_{size}" / "result.json"
    ds = json.loads(peer.read_text())["total"]["cpu_s"] if peer.exists() else None
    out = {"size": size, "steps": rows_out, "datasketch_cpu_s": ds,
           "budget_3x_datasketch_cpu_s": round(ds / 3, 2) if ds else None}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"dedup_floor_{size}.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=1))


@app.command()
def cli(size: str = typer.Option("14k", help=f"set: {', '.join(SETS)}"),
        repeat: int = typer.Option(3, help="runs; the median is reported")):
    """The whole ``curate run pipelines/dedup.yaml`` command on a set, as a user runs it (the spec's defaults:
    local[*], driver 2g, the default shuffle partitions): wall time until the command returns, and the CPU time of
    every process it started (Python, the Spark JVM, the Python workers).

    CPU is read from every descendant every 20 ms (its last reading counts), not from ``RUSAGE_CHILDREN``: PySpark's
    worker daemon ignores SIGCHLD, so its workers' CPU never reaches anyone's rusage. This process becomes a
    subreaper (Linux), so the JVM and the workers stay its descendants after the command exits; each process's last
    <= 20 ms may be missed."""
    import ctypes
    import shutil

    import psutil
    import pyarrow.parquet as pq

    benchlib, dedup_eval = _bench_lib()
    sys.path.insert(0, str(REPO))
    from curation.dedup.eval import clusters_from_annotated

    PR_SET_CHILD_SUBREAPER = 36
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise SystemExit("prctl(PR_SET_CHILD_SUBREAPER) failed: processes outliving the command would be missed")
    d = ensure_set(size)
    curate = Path(PY).with_name("curate")
    command = [str(curate)] if curate.exists() else [PY, "-m", "curation.cli.app"]
    work = OUT / f"cli_{size}"
    me = psutil.Process()

    runs = []
    for i in range(repeat):
        shutil.rmtree(work, ignore_errors=True)
        cpu: dict[int, tuple[str, float]] = {}  # pid -> (name, last CPU seconds read)
        t0 = time.perf_counter()
        proc = subprocess.Popen([*command, "run", str(REPO / "pipelines" / "dedup.yaml"),
                                 "--set", f"inputs.0.path={d / 'dedup_set.parquet'}", "--set", "inputs.0.format=parquet",
                                 "--set", f"out={work}"], stdout=subprocess.DEVNULL, cwd=REPO)
        wall = None
        while True:
            for q in me.children(recursive=True):
                try:
                    t = q.cpu_times()
                    cpu[q.pid] = (q.name(), t.user + t.system)
                except psutil.Error:
                    pass
            if wall is None and proc.poll() is not None:
                wall = time.perf_counter() - t0
                if proc.returncode:
                    raise SystemExit(f"curate run failed (exit {proc.returncode})")
            try:
                while os.waitpid(-1, os.WNOHANG)[0]:  # reap what exited (the command, orphans given to us)
                    pass
            except ChildProcessError:
                if wall is not None:
                    break
            time.sleep(0.02)
        by_name: dict[str, float] = {}
        for name, c in cpu.values():
            by_name[name] = by_name.get(name, 0.0) + c
        run = {"wall_s": round(wall, 2), "wall_to_last_exit_s": round(time.perf_counter() - t0, 2),
               "cpu_s": round(sum(c for _, c in cpu.values()), 2), "cpu_s_by_process": {k: round(v, 2) for k, v in by_name.items()}}
        runs.append(run)
        print(f"[{i + 1}/{repeat}] {run}", flush=True)
    annotated = pq.read_table([str(f) for f in sorted((work / "minhash").glob("*.parquet"))])
    clusters, removed = clusters_from_annotated(annotated)
    metrics = dedup_eval.evaluate(str(d / "dedup_set.jsonl"), str(d / "dedup_truth.jsonl"), clusters, set(removed))
    median = sorted(runs, key=lambda r: r["wall_s"])[len(runs) // 2]
    docs = json.loads((work / "ledger.json").read_text())["documents_in"]
    out = {"size": size, "docs": docs, "command": "curate run pipelines/dedup.yaml (Parquet input)",
           "machine": benchlib.machine_info(), "runs": runs, "median": median,
           "docs_per_cpu_s": round(docs / median["cpu_s"], 1), "metrics": metrics}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"dedup_cli_{size}.json").write_text(json.dumps(out, indent=2))
    print(dedup_eval.summary_line(metrics))
    print(json.dumps({k: v for k, v in out.items() if k not in ("metrics", "machine")}, indent=1))


@app.command()
def natural(threshold: float = typer.Option(0.8)):
    """dedup_natural.jsonl.gz: within every labelled group, are all pairs at Jaccard >= threshold (brute force)
    found, and does no cluster mix a group with unrelated documents?"""
    import shutil
    from collections import defaultdict

    benchlib, _ = _bench_lib()
    sys.path.insert(0, str(REPO))
    from curation.dedup.eval import clusters_from_annotated, score, true_pairs
    from curation.pipeline.runner import Runner
    from curation.pipeline.spec import load_spec
    from curation.pipeline.storage import read_parquet
    from curation.runtime.session import get_spark

    src = BENCH.parent / "data" / "dedup_natural.jsonl.gz"
    work = OUT / "natural"
    shutil.rmtree(work, ignore_errors=True)
    spec = load_spec(REPO / "pipelines" / "dedup.yaml", [f"inputs.0.path={src}", f"out={work}",
                                                          f"stages.minhash.threshold={threshold}"])
    spark = get_spark(master="local[2]", driver_memory="2g",
                      conf={"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2"})
    Runner(spec, spark, log=lambda m: None, progress_every=3600).run()
    annotated = read_parquet(spark, f"{work}/minhash").select("id", "dup_cluster", "dup_of", "exact_dup_of").toArrow()
    spark.stop()
    docs = benchlib.read_jsonl(str(src))
    group_of = {str(d["id"]): d["group"] for d in docs}
    clusters, removed = clusters_from_annotated(annotated)
    cluster_of = {x: i for i, c in enumerate(clusters) for x in c}
    truth = true_pairs(list(group_of), [d["text"] for d in docs], threshold)
    members: dict[str, set[str]] = defaultdict(set)
    for doc, g in group_of.items():
        if g is not None:
            members[g].add(doc)
    groups = {}
    for g, docs_in_group in sorted(members.items()):
        inside = [(a, b) for a, b in truth if a in docs_in_group and b in docs_in_group]
        found = [(a, b) for a, b in inside if a in cluster_of and cluster_of.get(b) == cluster_of[a]]
        clusters_hit = {cluster_of.get(d, d) for d in docs_in_group}
        groups[g] = {"docs": len(docs_in_group), "true_pairs": len(inside), "found": len(found),
                     "recovered": len(found) == len(inside) and len(inside) > 0,
                     "whole_group_one_cluster": len(clusters_hit) == 1}
    mixed = [c for c in clusters if len({group_of[x] for x in c}) > 1 and any(group_of[x] for x in c)]
    out = {"threshold": threshold, "docs": len(group_of), "clusters": len(clusters), "removed": len(removed),
           "all_pairs": score(clusters, set(removed), truth),
           "groups": len(groups), "groups_recovered": sum(g["recovered"] for g in groups.values()),
           "groups_whole_in_one_cluster": sum(g["whole_group_one_cluster"] for g in groups.values()),
           "clusters_mixing_a_group_with_other_docs": len(mixed), "mixed_examples": mixed[:3], "per_group": groups}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"dedup_natural_t{threshold}.json").write_text(json.dumps(out, indent=2))
    print(json.dumps({k: v for k, v in out.items() if k != "per_group"}, indent=1))
    for g, v in groups.items():
        print(f"{g:60s} {v}")


if __name__ == "__main__":
    app()
