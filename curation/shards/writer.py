"""A shard directory (the format: :mod:`curation.shards.format`, ``docs/shards.md``) written from token documents
in order, read back document by document, and verified. Pure Python and numpy: the ``shards`` stage and the
Spark-free trainer tools (``train/text_shards.py``) both write through :func:`write_shard_dir`.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from curation.shards.format import (FORMAT_NAME, FORMAT_VERSION, MANIFEST, open_shard, read_manifest, sha256_file,
                                    shard_names, write_shard)
from curation.shards.tokenizer import TokenizerInfo

TOKENIZER_FILE = "tokenizer.json"
EVAL_DIR = "eval"
SOURCES_DIR = "sources"
MEGATRON_DIR = "megatron"


@dataclass
class ShardDoc:
    """One document copy as it goes into a shard: tokens (EOS last, shard dtype) and its text's UTF-8 bytes."""

    source: str
    tokens: np.ndarray
    n_bytes: int
    license: str = "unknown"


def _add(totals: dict, key: str, tokens: int, n_bytes: int) -> None:
    entry = totals.setdefault(key, {"documents": 0, "tokens": 0, "bytes": 0})
    entry["documents"] += 1
    entry["tokens"] += tokens
    entry["bytes"] += n_bytes


def write_shard_dir(out_dir: str, docs: Iterable[ShardDoc], info: TokenizerInfo, shard_tokens: int,
                    manifest_fields: dict) -> dict:
    """Write ``docs`` in order as shards plus ``manifest.json``; returns the manifest. A document whose first token
    sits at position ``p`` of the stream goes into the shard of value ``p // shard_tokens`` (the rule of the
    executors' writer, :mod:`curation.shards.part_writer`, so both give the same bytes). ``manifest_fields`` (split, seed, mix, ...) go into the manifest."""
    os.makedirs(out_dir, exist_ok=True)
    dtype = info.dtype
    stream = iter(docs)
    pending = next(stream, None)
    shards, by_source, by_license = [], {}, {}
    position = 0  # of the next document's first token in the directory's token stream

    while pending is not None:
        shard_stats: dict = {}
        value = position // shard_tokens

        def shard_docs() -> Iterator[np.ndarray]:
            nonlocal pending, position
            while pending is not None and position // shard_tokens == value:
                doc = pending
                if doc.tokens.dtype != dtype:
                    raise ValueError(f"document tokens are {doc.tokens.dtype}, shards are {dtype}")
                yield doc.tokens
                position += len(doc.tokens)
                _add(shard_stats, "all", len(doc.tokens), doc.n_bytes)
                _add(by_source, doc.source, len(doc.tokens), doc.n_bytes)
                _add(by_license, doc.license, len(doc.tokens), doc.n_bytes)
                pending = next(stream, None)

        bin_name, idx_name = shard_names(len(shards))
        bin_path, idx_path = os.path.join(out_dir, bin_name), os.path.join(out_dir, idx_name)
        write_shard(bin_path, idx_path, shard_docs(), dtype)
        shards.append({"bin": bin_name, "idx": idx_name, **shard_stats["all"],
                       "bin_sha256": sha256_file(bin_path), "idx_sha256": sha256_file(idx_path)})

    manifest = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        **manifest_fields,
        "dtype": dtype.name,
        "tokenizer": {**info.as_dict(), "file": TOKENIZER_FILE},
        "shard_tokens": shard_tokens,
        "documents": sum(s["documents"] for s in shards),
        "tokens": sum(s["tokens"] for s in shards),
        "bytes": sum(s["bytes"] for s in shards),
        "sources": dict(sorted(by_source.items())),
        "licenses": dict(sorted(by_license.items())),
        "shards": shards,
    }
    with open(os.path.join(out_dir, MANIFEST), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return manifest


def iter_documents(shard_dir: str) -> Iterator[np.ndarray]:
    """Every document of a shard directory in order (token ids, EOS last)."""
    manifest = read_manifest(shard_dir)
    dtype = np.dtype(manifest["dtype"])
    for i in range(len(manifest["shards"])):
        bin_name, idx_name = shard_names(i)
        tokens, offsets = open_shard(os.path.join(shard_dir, bin_name), os.path.join(shard_dir, idx_name), dtype)
        for start, end in zip(offsets[:-1].tolist(), offsets[1:].tolist()):
            yield tokens[start:end]


def verify_shard_dir(shard_dir: str) -> list[str]:
    """Problems found in a shard directory (empty list: it is sound): checksums, index consistency, EOS after every
    document, token ids inside the vocabulary, counts matching the manifest."""
    manifest = read_manifest(shard_dir)
    dtype = np.dtype(manifest["dtype"])
    eos, vocab = manifest["tokenizer"]["eos_id"], manifest["tokenizer"]["vocab_size"]
    problems = []
    for i, entry in enumerate(manifest["shards"]):
        bin_name, idx_name = shard_names(i)
        bin_path, idx_path = os.path.join(shard_dir, bin_name), os.path.join(shard_dir, idx_name)
        for path, key in ((bin_path, "bin_sha256"), (idx_path, "idx_sha256")):
            if sha256_file(path) != entry[key]:
                problems.append(f"{os.path.basename(path)}: sha256 differs from the manifest")
        tokens, offsets = open_shard(bin_path, idx_path, dtype)
        if os.path.getsize(bin_path) != len(tokens) * dtype.itemsize:
            problems.append(f"{bin_name}: size does not match the last offset of {idx_name}")
        if len(offsets) == 0 or offsets[0] != 0 or np.any(np.diff(offsets.astype(np.int64)) <= 0):
            problems.append(f"{idx_name}: offsets must start at 0 and increase")
        elif np.any(tokens[offsets[1:].astype(np.int64) - 1] != eos):
            problems.append(f"{bin_name}: a document does not end with EOS {eos}")
        if len(tokens) and int(tokens.max()) >= vocab:
            problems.append(f"{bin_name}: token id {int(tokens.max())} outside the vocabulary ({vocab})")
        if (len(offsets) - 1, len(tokens)) != (entry["documents"], entry["tokens"]):
            problems.append(f"{bin_name}: {len(offsets) - 1} documents / {len(tokens)} tokens, manifest says "
                            f"{entry['documents']} / {entry['tokens']}")
    return problems
