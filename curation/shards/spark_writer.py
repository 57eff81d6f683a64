"""Shard directories written by the executors (the Spark side of :mod:`curation.shards.part_writer`).

Input: every document copy of every directory as (dir, order, h, source, license, n_bytes, token_bytes), where
``dir`` is the directory relative to the root ("" for the training shards, ``eval/<source>``, ``sources/<source>``)
and (order, h, token_bytes) its place in the directory's global order. Three jobs, none bringing per-document data
to the driver:

1. token totals per (dir, key bucket): at most ``directories x 2**BUCKET_BITS`` rows on the driver, whatever the
   corpus size; their prefix sums give each bucket's first token position;
2. per bucket, sorted, the first key of every shard value (one row per shard);
3. every copy tagged with its shard (a search over the broadcast shard starts), hash-partitioned by (dir, shard),
   sorted within partitions and written by the executor holding it; one summary row per shard comes back and the
   driver writes each directory's ``manifest.json`` from them.
"""
from __future__ import annotations

import json
from typing import Callable

import numpy as np
import pyarrow as pa

from curation.shards.format import FORMAT_NAME, FORMAT_VERSION, MANIFEST, shard_names
from curation.shards.part_writer import STARTS_SCHEMA, SUMMARY_SCHEMA, _open, shard_of, shard_starts, write_shards
from curation.shards.tokenizer import TokenizerInfo

BUCKET_BITS = 10  # key buckets per directory in jobs 1-2 (the driver holds one row per bucket)
TAGGED_SCHEMA = pa.schema([("dir", pa.string()), ("shard", pa.int64()), ("order", pa.int64()), ("h", pa.int64()),
                           ("source", pa.string()), ("license", pa.string()), ("n_bytes", pa.int64()),
                           ("token_bytes", pa.binary())])


def _tag_batch(batch: pa.RecordBatch, starts: dict) -> pa.RecordBatch:
    dirs = np.asarray(batch.column("dir").to_pylist(), dtype=object)
    order, h = batch.column("order").to_numpy(), batch.column("h").to_numpy()
    shard = np.zeros(batch.num_rows, dtype=np.int64)
    for d in set(dirs.tolist()):
        rows = np.flatnonzero(dirs == d)
        s_order, s_h = starts[d]
        shard[rows] = shard_of(order[rows], h[rows], s_order, s_h)
    columns = {n: batch.column(n) for n in TAGGED_SCHEMA.names if n != "shard"}
    columns["shard"] = pa.array(shard, pa.int64())
    return pa.RecordBatch.from_pydict({n: columns[n] for n in TAGGED_SCHEMA.names}, schema=TAGGED_SCHEMA)


def write_shard_dirs(copies, root: str, info: TokenizerInfo, shard_tokens: int, megatron: str | None,
                     fields: Callable[[str, list[str]], dict]) -> dict[str, dict]:
    """Write every directory of ``copies`` under ``root``; returns {dir: manifest}. ``fields(dir, its sources)``
    (split, seed, source, mix, ...) go into that directory's manifest."""
    from pyspark.sql import functions as F

    from curation.runtime.batches import map_batches, map_partitions
    from curation.runtime.session import partitions_for

    spark = copies.sparkSession
    meta = copies.select("dir", "order", "h", (F.length("token_bytes") / info.dtype.itemsize).cast("long")
                         .alias("n_tok"), F.shiftright("order", 64 - BUCKET_BITS).alias("bucket"))
    totals = sorted((r["dir"], r["bucket"], r["tokens"]) for r in
                    meta.groupBy("dir", "bucket").agg(F.sum("n_tok").alias("tokens")).collect())
    prefix, running = {}, {}
    for d, bucket, tokens in totals:
        prefix[(d, bucket)] = running.get(d, 0)
        running[d] = running.get(d, 0) + int(tokens)
    if not totals:
        return {}
    n_meta = partitions_for(spark, 24 * sum(running.values()) // 100)  # ~24 bytes per copy of ~100 tokens
    starts_df = map_partitions(
        meta.repartition(n_meta, "dir", "bucket").sortWithinPartitions("dir", "bucket", "order", "h"),
        lambda it: shard_starts(it, prefix, shard_tokens), STARTS_SCHEMA)
    firsts = (starts_df.groupBy("dir", "v").agg(F.min(F.struct("order", "h")).alias("k"))
              .select("dir", "v", "k.order", "k.h").collect())
    starts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for d in sorted({r["dir"] for r in firsts}):
        rows = sorted((r["v"], r["order"], r["h"]) for r in firsts if r["dir"] == d)
        starts[d] = (np.array([r[1] for r in rows], np.int64), np.array([r[2] for r in rows], np.int64))
    shipped = spark.sparkContext.broadcast(starts)
    n_shards = sum(len(v[0]) for v in starts.values())
    n_write = max(1, min(n_shards, partitions_for(spark, info.dtype.itemsize * sum(running.values()))))
    tagged = map_batches(copies, lambda b: _tag_batch(b, shipped.value), TAGGED_SCHEMA)
    ordered = (tagged.repartition(n_write, "dir", "shard")
               .sortWithinPartitions("dir", "shard", "order", "h", "token_bytes")
               .select("dir", "shard", "source", "license", "n_bytes", "token_bytes"))
    dtype_name = info.dtype.name
    summaries = map_partitions(ordered, lambda it: write_shards(it, root, dtype_name, megatron),
                               SUMMARY_SCHEMA).collect()
    manifests = {}
    for d in starts:
        rows = sorted((r.asDict() for r in summaries if r["dir"] == d), key=lambda r: r["shard"])
        if [r["shard"] for r in rows] != list(range(len(starts[d][0]))):
            raise RuntimeError(f"shard directory {d or '.'}: shards {[r['shard'] for r in rows]} written, expected "
                               f"{len(starts[d][0])}")
        manifests[d] = _manifest(rows, info, shard_tokens, fields(d, sorted(_merge(rows, "by_source"))))
        base = f"{root.rstrip('/')}/{d}/" if d else f"{root.rstrip('/')}/"
        with _open(base + MANIFEST) as f:
            f.write((json.dumps(manifests[d], indent=2) + "\n").encode("utf-8"))
    return manifests


def _merge(rows: list[dict], column: str) -> dict:
    out: dict = {}
    for r in rows:
        for key, v in json.loads(r[column]).items():
            e = out.setdefault(key, {"documents": 0, "tokens": 0, "bytes": 0})
            for k in e:
                e[k] += v[k]
    return dict(sorted(out.items()))


def _manifest(rows: list[dict], info: TokenizerInfo, shard_tokens: int, fields: dict) -> dict:
    shards = []
    for i, r in enumerate(rows):
        bin_name, idx_name = shard_names(i)
        shards.append({"bin": bin_name, "idx": idx_name, "documents": r["documents"], "tokens": r["tokens"],
                       "bytes": r["bytes"], "bin_sha256": r["bin_sha256"], "idx_sha256": r["idx_sha256"]})
    return {"format": FORMAT_NAME, "version": FORMAT_VERSION, **fields, "dtype": info.dtype.name,
            "tokenizer": {**info.as_dict(), "file": "tokenizer.json"}, "shard_tokens": shard_tokens,
            "documents": sum(s["documents"] for s in shards), "tokens": sum(s["tokens"] for s in shards),
            "bytes": sum(s["bytes"] for s in shards), "sources": _merge(rows, "by_source"),
            "licenses": _merge(rows, "by_license"), "shards": shards}
