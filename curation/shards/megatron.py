"""Export a shard directory as a Megatron-LM ``MMapIndexedDataset`` (``<prefix>.bin`` + ``<prefix>.idx``).

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


def export_megatron(shard_dir: str, prefix: str) -> tuple[str, str]:
    """Write ``prefix.bin`` / ``prefix.idx`` for the shards of ``shard_dir``; returns the two paths."""
    manifest = read_manifest(shard_dir)
    itemsize = np.dtype(manifest["dtype"]).itemsize
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
    pointers = np.zeros(len(sizes), dtype="<i8")
    np.cumsum(sizes[:-1] * itemsize, out=pointers[1:])
    doc_idx = np.arange(len(sizes) + 1, dtype="<i8")
    with open(idx_path, "wb") as f:
        f.write(INDEX_HEADER)
        f.write(struct.pack("<Q", INDEX_VERSION))
        f.write(struct.pack("<B", DTYPE_CODES[manifest["dtype"]]))
        f.write(struct.pack("<Q", len(sizes)))
        f.write(struct.pack("<Q", len(doc_idx)))
        f.write(sizes.astype("<i4").tobytes())
        f.write(pointers.tobytes())
        f.write(doc_idx.tobytes())
    return bin_path, idx_path
