"""Executor side of the shard writer (pure Arrow/numpy, no Spark): place document copies in shards and write them.

A shard directory's documents are in one global order (seeded key, then content). Shard boundaries come from that
order alone: a document whose first token sits at position ``p`` of the directory's token stream goes into the
shard of value ``p // shard_tokens``; values no document starts in are skipped, so shards are numbered densely.
So the bytes depend only on the documents, the mix and the seed, never on partitions or executors (docs/shards.md).

Three passes (driven by :mod:`curation.shards.spark_writer`) share these functions: token totals per key bucket,
the first key of every shard value (:func:`shard_starts`), and the write itself (:func:`write_shards`), each
executor writing the whole shards it holds, sorted, with their index files.
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import Iterator

import numpy as np
import pyarrow as pa

from curation.shards.format import shard_names
from curation.shards.megatron import megatron_index

STARTS_SCHEMA = pa.schema([("dir", pa.string()), ("v", pa.int64()), ("order", pa.int64()), ("h", pa.int64())])
SUMMARY_SCHEMA = pa.schema([("dir", pa.string()), ("shard", pa.int64()), ("documents", pa.int64()),
                            ("tokens", pa.int64()), ("bytes", pa.int64()), ("bin_sha256", pa.string()),
                            ("idx_sha256", pa.string()), ("by_source", pa.string()), ("by_license", pa.string())])


def _runs(*columns: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of the runs of equal values over the given columns (rows already grouped)."""
    n = len(columns[0])
    if n == 0:
        return []
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for c in columns:
        change[1:] |= c[1:] != c[:-1]
    starts = np.flatnonzero(change)
    return list(zip(starts.tolist(), np.append(starts[1:], n).tolist()))


def shard_starts(batches: Iterator[pa.RecordBatch], prefix: dict, shard_tokens: int) -> Iterator[pa.RecordBatch]:
    """Rows (dir, bucket, order, h, n_tok) sorted by those keys -> the first (order, h) of each shard value met.

    ``prefix[(dir, bucket)]`` is the number of tokens of ``dir`` in the buckets before ``bucket``."""
    state = None  # (dir, bucket, tokens so far, last value)
    for batch in batches:
        dirs = np.asarray(batch.column("dir").to_pylist(), dtype=object)
        buckets = batch.column("bucket").to_numpy()
        order, h = batch.column("order").to_numpy(), batch.column("h").to_numpy()
        n_tok = batch.column("n_tok").to_numpy()
        out_dir, out_v, out_order, out_h = [], [], [], []
        for a, b in _runs(dirs, buckets):
            group = (dirs[a], int(buckets[a]))
            if state is None or state[:2] != group:
                state = (*group, prefix[group], -1)
            starts = state[2] + np.concatenate([[0], np.cumsum(n_tok[a:b])[:-1]])
            v = starts // shard_tokens
            first = np.flatnonzero(np.diff(np.concatenate([[state[3]], v])) != 0)
            out_dir += [group[0]] * len(first)
            out_v.append(v[first])
            out_order.append(order[a:b][first])
            out_h.append(h[a:b][first])
            state = (*group, state[2] + int(n_tok[a:b].sum()), int(v[-1]))
        if out_dir:
            yield pa.RecordBatch.from_arrays(
                [pa.array(out_dir, pa.string()), pa.array(np.concatenate(out_v)), pa.array(np.concatenate(out_order)),
                 pa.array(np.concatenate(out_h))], schema=STARTS_SCHEMA)


def shard_of(order: np.ndarray, h: np.ndarray, starts_order: np.ndarray, starts_h: np.ndarray) -> np.ndarray:
    """Shard index of each (order, h) given the sorted first keys of the shards (lexicographic on the pair)."""
    idx = np.searchsorted(starts_order, order, side="right") - 1
    while True:  # a key equal to a shard's first order but below its h belongs to an earlier shard
        safe = np.maximum(idx, 0)
        back = (idx >= 0) & (starts_order[safe] == order) & (h < starts_h[safe])
        if not back.any():
            return np.maximum(idx, 0)
        idx = np.where(back, idx - 1, idx)


def _open(path: str):
    if "://" in path and not path.startswith("file://"):
        import pyarrow.fs as pafs

        fs, inner = pafs.FileSystem.from_uri(path)
        fs.create_dir(os.path.dirname(inner), recursive=True)
        return fs.open_output_stream(inner)
    path = path[len("file://"):] if path.startswith("file://") else path
    path = path[len("file:"):] if path.startswith("file:") else path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return open(path, "wb")


class _HashedFile:
    """A write stream that also hashes what goes through it."""

    def __init__(self, path: str):
        self.f, self.sha = _open(path), hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.f.write(data)
        self.sha.update(data)

    def close(self) -> str:
        self.f.close()
        return self.sha.hexdigest()


def _add(totals: dict, key: str, tokens: int, n_bytes: int) -> None:
    entry = totals.setdefault(key, {"documents": 0, "tokens": 0, "bytes": 0})
    entry["documents"] += 1
    entry["tokens"] += tokens
    entry["bytes"] += n_bytes


class _Shard:
    def __init__(self, root: str, directory: str, shard: int, dtype: np.dtype, megatron: str | None):
        bin_name, idx_name = shard_names(shard)
        base = f"{root.rstrip('/')}/{directory}/" if directory else f"{root.rstrip('/')}/"
        self.dir, self.shard, self.dtype = directory, shard, dtype
        self.bin = _HashedFile(base + bin_name)
        self.idx_path = base + idx_name
        self.mg = None if megatron is None else (_open(f"{root.rstrip('/')}/{megatron}/{bin_name}"),
                                                 _open(f"{root.rstrip('/')}/{megatron}/{idx_name}"))
        self.lengths: list[np.ndarray] = []
        self.by_source: dict = {}
        self.by_license: dict = {}
        self.n_bytes = 0

    def add(self, token_bytes: list[bytes], sources: list[str], licenses: list[str], n_bytes: np.ndarray) -> None:
        for data, source, lic, nb in zip(token_bytes, sources, licenses, n_bytes.tolist()):
            self.bin.write(data)
            if self.mg is not None:
                self.mg[0].write(data)
            n = len(data) // self.dtype.itemsize
            _add(self.by_source, source, n, nb)
            _add(self.by_license, lic, n, nb)
        self.lengths.append(np.fromiter((len(d) // self.dtype.itemsize for d in token_bytes), np.int64,
                                        len(token_bytes)))
        self.n_bytes += int(n_bytes.sum())

    def close(self) -> dict:
        sizes = np.concatenate(self.lengths) if self.lengths else np.zeros(0, np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype("<u8")
        idx = _HashedFile(self.idx_path)
        idx.write(offsets.tobytes())
        if self.mg is not None:
            self.mg[0].close()
            self.mg[1].write(megatron_index(sizes, self.dtype))
            self.mg[1].close()
        return {"dir": self.dir, "shard": self.shard, "documents": len(sizes), "tokens": int(sizes.sum()),
                "bytes": self.n_bytes, "bin_sha256": self.bin.close(), "idx_sha256": idx.close(),
                "by_source": json.dumps(self.by_source, sort_keys=True),
                "by_license": json.dumps(self.by_license, sort_keys=True)}


def write_shards(batches: Iterator[pa.RecordBatch], root: str, dtype_name: str,
                 megatron: str | None) -> Iterator[pa.RecordBatch]:
    """Rows (dir, shard, source, license, n_bytes, token_bytes) sorted by (dir, shard, then the global order) ->
    shard files under ``root`` (the training directory's shards also as Megatron pairs under ``megatron``) and one
    summary row per shard written."""
    dtype, current, done = np.dtype(dtype_name), None, []
    for batch in batches:
        dirs = np.asarray(batch.column("dir").to_pylist(), dtype=object)
        shards = batch.column("shard").to_numpy()
        tokens, sources = batch.column("token_bytes").to_pylist(), batch.column("source").to_pylist()
        licenses, n_bytes = batch.column("license").to_pylist(), batch.column("n_bytes").to_numpy()
        for a, b in _runs(dirs, shards):
            key = (dirs[a], int(shards[a]))
            if current is None or (current.dir, current.shard) != key:
                if current is not None:
                    done.append(current.close())
                current = _Shard(root, key[0], key[1], dtype, megatron if key[0] == "" else None)
            current.add(tokens[a:b], sources[a:b], licenses[a:b], n_bytes[a:b])
    if current is not None:
        done.append(current.close())
    if done:
        yield pa.RecordBatch.from_pylist(done, schema=SUMMARY_SCHEMA)
