"""Tokens per CPU-second for tokenization and shard writing, on the shared domain corpora.

    .venv/bin/python benchmarks/bench_tokenize.py [--vocab-size 8192] [--max-mb 0] [--spark]

Per-core figures run the pure functions in this one process with the tokenizer's thread pool off, timed with
``time.process_time``: ``tokenize_batch`` over Arrow batches of 2,048 documents, then the shard path (mix plan,
shuffle keys and shard bytes via ``order_batch``, then ``write_shard_dir`` with checksums). ``--spark`` also times
the two stages end to end on ``local[2]`` (after a warm-up pass): wall seconds and the CPU seconds of this process and all its descendants
(the Spark JVM and its Python workers, read from /proc), so tokens per CPU-second stay meaningful on a busy
machine. Results are printed and written to ``benchmarks/out/bench_tokenize.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

os.environ["TOKENIZERS_PARALLELISM"] = "false"  # per-core figures: one thread

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from curation.cli.tokenizer import training_texts  # noqa: E402
from curation.schema import DOC_SCHEMA, rows_to_batch  # noqa: E402
from curation.shards.mixing import doc_keys, plan_mix  # noqa: E402
from curation.shards.tokenizer import load_tokenizer, text_sample, tokenizer_info, train_byte_level_bpe  # noqa: E402
from curation.shards.writer import ShardDoc, write_shard_dir  # noqa: E402
from curation.stages.shards import order_batch  # noqa: E402
from curation.stages.tokenize import tokenize_batch, tokenized_schema  # noqa: E402

CORPORA = os.path.join(os.path.dirname(ROOT), "shared", "data", "corpora")
DOMAINS = ["web", "code", "books", "wiki", "papers", "forum", "docs"]
BATCH = 2048


def load_rows(max_mb: float) -> list[dict]:
    """Documents of every domain corpus; with ``max_mb``, each domain's leading documents up to its equal part."""
    from curation.readers.jsonl import jsonl_records

    rows = []
    for domain in DOMAINS:
        seen = 0
        for r in jsonl_records(os.path.join(CORPORA, f"{domain}.jsonl.zst"), {}):
            if r["reason"] is not None:
                continue
            if max_mb and seen > max_mb * 1e6 / len(DOMAINS):
                break
            rows.append({"id": r["id"], "text": r["text"], "source": domain})
            seen += len(r["text"].encode())
    return rows


def bench_tokenize(rows, tok, eos_id) -> tuple[list[pa.RecordBatch], dict]:
    batches = [rows_to_batch(rows[i:i + BATCH], DOC_SCHEMA) for i in range(0, len(rows), BATCH)]
    schema = tokenized_schema(DOC_SCHEMA.names)
    start = time.process_time()
    out = [tokenize_batch(b, tok, eos_id, schema) for b in batches]
    cpu = time.process_time() - start
    tokens = sum(pa.compute.sum(b.column("n_tokens")).as_py() for b in out)
    mb = sum(len(r["text"].encode()) for r in rows) / 1e6
    return out, {"documents": len(rows), "text_mb": round(mb, 2), "tokens": tokens, "cpu_s": round(cpu, 2),
                 "tokens_per_cpu_s": round(tokens / cpu), "mb_per_cpu_s": round(mb / cpu, 2)}


def bench_shards(tokenized: list[pa.RecordBatch], info, out_dir: str) -> dict:
    start = time.process_time()
    sources = [s for b in tokenized for s in b.column("source").to_pylist()]
    ids = [i for b in tokenized for i in b.column("id").to_pylist()]
    n_tokens = np.concatenate([b.column("n_tokens").to_numpy() for b in tokenized])
    plan = plan_mix(None, sources, doc_keys(sources, ids, 0), n_tokens)
    ordered = []
    for b in tokenized:
        copies = b.select(["source", "id", "tokens", "text"]).append_column("copy", pa.array(np.zeros(b.num_rows,
                                                                                                    np.int64)))
        ordered.append(order_batch(copies, 0, info))
    table = pa.Table.from_batches(ordered).sort_by("order")
    plan_cpu = time.process_time() - start
    docs = (ShardDoc(s, np.frombuffer(t, dtype=info.dtype), n) for s, t, n in
            zip(table.column("source").to_pylist(), table.column("token_bytes").to_pylist(),
                table.column("n_bytes").to_pylist()))
    start = time.process_time()
    manifest = write_shard_dir(out_dir, docs, info, 2_000_000, {"split": "train", "seed": 0})
    write_cpu = time.process_time() - start
    tokens = manifest["tokens"]
    assert tokens == plan.achieved_tokens
    return {"tokens": tokens, "shards": len(manifest["shards"]), "plan_and_order_cpu_s": round(plan_cpu, 2),
            "write_cpu_s": round(write_cpu, 2), "tokens_per_cpu_s": round(tokens / (plan_cpu + write_cpu)),
            "write_tokens_per_cpu_s": round(tokens / write_cpu)}


def _tree_cpu_seconds() -> float:
    """User + system CPU seconds of this process and every descendant, reaped children included (Linux /proc)."""
    stats = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(pid)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))  # ppid; utime stime cutime cstime
    tree, frontier = {os.getpid()}, [os.getpid()]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _) in stats.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    return sum(stats[p][1] for p in tree if p in stats) / os.sysconf("SC_CLK_TCK")


def bench_spark(rows, tokenizer_path: str, work: str) -> dict:
    from pyspark.sql import functions as F

    from curation.pipeline.stage import StageContext
    from curation.runtime.session import get_spark
    from curation.stages.shards import ShardStage
    from curation.stages.tokenize import TokenizeStage

    spark = get_spark(master="local[2]", driver_memory="2g")
    stages = [("tokenize", TokenizeStage(TokenizeStage.Params(tokenizer=tokenizer_path))),
              ("shards", ShardStage(ShardStage.Params(tokenizer=tokenizer_path, shard_tokens=2_000_000)))]
    figures = {}
    # a first pass over a few documents warms the JVM (JIT, class loading) and the Python workers up
    for label, docs in (("warmup", rows[::20]), ("measured", rows)):
        run_dir = f"{work}/{label}"
        df = spark.createDataFrame(pa.Table.from_batches([rows_to_batch(docs, DOC_SCHEMA)])).repartition(8)
        df.write.mode("overwrite").parquet(f"{run_dir}/in")
        prev = f"{run_dir}/in"
        for name, stage in stages:
            start, cpu_start = time.time(), _tree_cpu_seconds()
            res = stage.apply(spark.read.parquet(prev), StageContext(spark=spark, out=run_dir, stage_name=name))
            res.combined.write.mode("overwrite").parquet(f"{run_dir}/{name}-all")
            kept = spark.read.parquet(f"{run_dir}/{name}-all").where(F.col("reason").isNull()).drop("reason")
            kept.write.mode("overwrite").parquet(f"{run_dir}/{name}")
            stats = res.after_write(spark.read.parquet(f"{run_dir}/{name}"), None, f"{run_dir}/{name}-artifacts")
            wall, cpu = time.time() - start, _tree_cpu_seconds() - cpu_start
            figures[name] = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "tokens": stats["tokens"],
                             "tokens_per_cpu_s": round(stats["tokens"] / cpu)}
            prev = f"{run_dir}/{name}"
    spark.stop()
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vocab-size", type=int, default=8192)
    ap.add_argument("--max-mb", type=float, default=0, help="cap the text (0: all of the corpora, ~42 MB)")
    ap.add_argument("--spark", action="store_true", help="also time the Spark stages on local[2]")
    args = ap.parse_args()
    rows = load_rows(args.max_mb)
    with tempfile.TemporaryDirectory() as work:
        tok_path = os.path.join(work, "tokenizer.json")
        start = time.process_time()
        files = [os.path.join(CORPORA, f"{d}.jsonl.zst") for d in DOMAINS]
        train_byte_level_bpe(text_sample(training_texts(files), 5_000_000), args.vocab_size, tok_path)
        result = {"vocab_size": args.vocab_size, "train_5mb_cpu_s": round(time.process_time() - start, 2)}
        info = tokenizer_info(tok_path)
        tokenized, result["tokenize"] = bench_tokenize(rows, load_tokenizer(tok_path), info.eos_id)
        result["tokens_by_source"] = {
            s: int(sum(pa.compute.sum(b.filter(pa.compute.equal(b.column("source"), s)).column("n_tokens")).as_py()
                       or 0 for b in tokenized)) for s in DOMAINS}
        result["shards"] = bench_shards(tokenized, info, os.path.join(work, "shards"))
        if args.spark:
            result["spark_local2"] = bench_spark(rows, tok_path, os.path.join(work, "spark"))
    print(json.dumps(result, indent=2))
    os.makedirs(os.path.join(ROOT, "benchmarks", "out"), exist_ok=True)
    with open(os.path.join(ROOT, "benchmarks", "out", "bench_tokenize.json"), "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
