"""The on-disk token shard format, shared by the shard writer (curation) and the shard reader (train).

A shard directory holds:
- ``shard-NNNNN.bin``: flat little-endian token ids (``uint16``, or ``uint32`` when the vocabulary exceeds
  65,535); every document is followed by the EOS id.
- ``shard-NNNNN.idx``: little-endian ``uint64`` token offsets of document boundaries, ``documents + 1`` values,
  first 0, last the number of tokens in the ``.bin`` file. Document ``i`` is ``bin[idx[i]:idx[i+1]]`` (EOS
  included).
- ``manifest.json``: format name and version, dtype, tokenizer (sha256, vocab size, eos id), seed, mix, per-source
  documents / tokens / bytes, and one entry per shard with documents, tokens, bytes (UTF-8 bytes of the source
  text) and the sha256 of both files.
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import Iterable, Sequence

import numpy as np

FORMAT_NAME = "curation-shards"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"


def dtype_for_vocab(vocab_size: int) -> np.dtype:
    return np.dtype("<u2") if vocab_size <= 65535 else np.dtype("<u4")


def shard_names(i: int) -> tuple[str, str]:
    return f"shard-{i:05d}.bin", f"shard-{i:05d}.idx"


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_shard(bin_path: str, idx_path: str, docs: Iterable[Sequence[int]], dtype: np.dtype) -> tuple[int, int]:
    """Write documents (token id sequences, EOS already appended) as one shard. Returns (documents, tokens)."""
    offsets = [0]
    with open(bin_path, "wb") as f:
        for toks in docs:
            arr = np.asarray(toks, dtype=dtype)
            f.write(arr.tobytes())
            offsets.append(offsets[-1] + len(arr))
    np.asarray(offsets, dtype="<u8").tofile(idx_path)
    return len(offsets) - 1, offsets[-1]


def open_shard(bin_path: str, idx_path: str, dtype: np.dtype) -> tuple[np.memmap, np.ndarray]:
    """Memory-map a shard's tokens and load its document offsets."""
    offsets = np.fromfile(idx_path, dtype="<u8")
    n = int(offsets[-1]) if len(offsets) else 0
    tokens = np.memmap(bin_path, dtype=dtype, mode="r", shape=(n,)) if n else np.zeros(0, dtype=dtype)
    return tokens, offsets


def read_manifest(shard_dir: str) -> dict:
    with open(os.path.join(shard_dir, MANIFEST)) as f:
        manifest = json.load(f)
    if manifest.get("format") != FORMAT_NAME:
        raise ValueError(f"{shard_dir} is not a {FORMAT_NAME} directory")
    return manifest
