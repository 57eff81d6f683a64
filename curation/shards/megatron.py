"""Megatron-LM ``MMapIndexedDataset`` files (``<prefix>.bin`` + ``<prefix>.idx``): one pair per training shard,
written by the executors next to the shards (``megatron/shard-NNNNN.bin/.idx``; Megatron blends several prefixes
with ``--data-path``), or one pair for a whole shard directory (:func:`export_megatron`, ``curate tokenizer``).

``.bin`` is every shard's tokens concatenated (one sequence per document, EOS included). ``.idx`` is
``MMIDIDX\\x00\\x00``, version (``<Q`` 1), dtype code (``<B``: 8 = uint16, 4 = int32), sequence count (``<Q``),
document-index count (``<Q``), then the sequence lengths (``int32``), the sequence byte offsets into ``.bin``
(``int64``) and the document indices (``int64``, ``0..n``: each document is one sequence). Megatron has no uint32
code, so uint32 shards are exported as int32, which holds the same bytes for ids below 2**31.
"""
from __future__ import annotations

import os
import shutil
import struct

import numpy as np

from curation.shards.format import read_manifest, shard_names

INDEX_HEADER = b"MMIDIDX\x00\x00"
INDEX_VERSION = 1
DTYPE_CODES = {"uint16": 8, "uint32": 4}  # Megatron DType codes (uint32 written as int32)


def megatron_index(sizes: np.ndarray, dtype: np.dtype) -> bytes:
    """The ``.idx`` bytes for documents of these token counts (one sequence per document) stored as ``dtype``."""
    sizes = np.asarray(sizes, dtype=np.int64)
    pointers = np.zeros(len(sizes), dtype="<i8")
    np.cumsum(sizes[:-1] * np.dtype(dtype).itemsize, out=pointers[1:])
    doc_idx = np.arange(len(sizes) + 1, dtype="<i8")
    return b"".join([INDEX_HEADER, struct.pack("<Q", INDEX_VERSION), struct.pack("<B", DTYPE_CODES[np.dtype(dtype).name]),
                     struct.pack("<Q", len(sizes)), struct.pack("<Q", len(doc_idx)), sizes.astype("<i4").tobytes(),
                     pointers.tobytes(), doc_idx.tobytes()])


def export_megatron(shard_dir: str, prefix: str) -> tuple[str, str]:
    """Write ``prefix.bin`` / ``prefix.idx`` for the shards of ``shard_dir`` (one file pair for all of them, on
    this machine); returns the two paths."""
    manifest = read_manifest(shard_dir)
    os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
    bin_path, idx_path = prefix + ".bin", prefix + ".idx"
    lengths = []
    with open(bin_path, "wb") as out:
        for i in range(len(manifest["shards"])):
            shard_bin, shard_idx = shard_names(i)
            with open(os.path.join(shard_dir, shard_bin), "rb") as f:
                shutil.copyfileobj(f, out, 1 << 20)
            lengths.append(np.diff(np.fromfile(os.path.join(shard_dir, shard_idx), dtype="<u8").astype(np.int64)))
    sizes = np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64)
    with open(idx_path, "wb") as f:
        f.write(megatron_index(sizes, np.dtype(manifest["dtype"])))
    return bin_path, idx_path
