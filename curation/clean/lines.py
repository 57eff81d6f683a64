"""Line and paragraph hashing for corpus-wide line dedup, and the removal of chosen lines from a text.

A unit is a line (text between newlines) or a paragraph (text between blank lines). Its key is the unit with
whitespace runs folded to one space and the ends stripped, hashed with xxh3-64 (as a signed int64, Spark's
``long``); units whose key is shorter than ``min_chars`` characters (blank lines, "|", "1.") are never counted
nor removed. The Spark stage counts in how many documents each key occurs and sends back, per document, the
keys to remove; :func:`remove_units` drops them and keeps everything else as it was.
"""
from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import xxhash

_SPACE = re.compile(r"\s+")
_PARAGRAPH_BREAK = re.compile(r"(\n[ \t\r\f\v]*\n)")
UNITS_SCHEMA = pa.schema([("id", pa.string()), ("hash", pa.int64()), ("line", pa.string())])


def split_units(text: str, unit: str) -> list[str]:
    """The pieces of ``text`` with their separators: units at even positions, separators at odd ones."""
    if unit == "paragraph":
        return _PARAGRAPH_BREAK.split(text)
    return re.split(r"(\n)", text)


def unit_key(piece: str) -> str:
    return _SPACE.sub(" ", piece).strip()


def unit_hash(key: str) -> int:
    return int(np.uint64(xxhash.xxh3_64_intdigest(key.encode())).astype(np.int64))


def units_batch(batch: pa.RecordBatch, unit: str, min_chars: int, shown_chars: int) -> pa.RecordBatch:
    """(id, hash, line) once per distinct countable unit of each document; ``line`` is the key cut to
    ``shown_chars`` characters, for reports."""
    ids, hashes, lines = [], [], []
    for doc_id, text in zip(batch.column("id").to_pylist(), batch.column("text").to_pylist()):
        if not text:
            continue
        seen = set()
        for piece in split_units(text, unit)[::2]:
            key = unit_key(piece)
            if len(key) < min_chars or key in seen:
                continue
            seen.add(key)
            ids.append(doc_id)
            hashes.append(unit_hash(key))
            lines.append(key[:shown_chars])
    return pa.RecordBatch.from_arrays([pa.array(ids, pa.string()), pa.array(hashes, pa.int64()),
                                       pa.array(lines, pa.string())], schema=UNITS_SCHEMA)


def remove_units(text: str, remove: set[int], unit: str, min_chars: int) -> tuple[str, int]:
    """(``text`` without the units whose hash is in ``remove``, units removed); a removed line takes its newline
    with it, a removed paragraph the blank line before it (or after it, for the first)."""
    if not text or not remove:
        return text, 0
    pieces = split_units(text, unit)
    kept: list[str] = []
    removed = 0
    pending_sep = ""
    for i in range(0, len(pieces), 2):
        piece = pieces[i]
        sep = pieces[i + 1] if i + 1 < len(pieces) else ""
        key = unit_key(piece)
        if len(key) >= min_chars and unit_hash(key) in remove:
            removed += 1
            continue
        if kept:
            kept.append(pending_sep)
        kept.append(piece)
        pending_sep = sep
    out = "".join(kept)
    if text.endswith("\n") and out and not out.endswith("\n"):
        out += "\n"
    return out, removed


def remove_batch(batch: pa.RecordBatch, unit: str, min_chars: int) -> pa.RecordBatch:
    """The batch (with a ``remove`` list-of-hashes column, null when nothing goes) with ``text`` cleaned, ``remove``
    dropped and ``lines_removed`` (units removed) appended."""
    texts, counts = [], []
    for text, remove in zip(batch.column("text").to_pylist(), batch.column("remove").to_pylist()):
        cleaned, n = remove_units(text, set(remove or ()), unit, min_chars)
        texts.append(cleaned)
        counts.append(n)
    names = [c for c in batch.schema.names if c not in ("remove", "lines_removed")]
    arrays = [pa.array(texts, pa.string()) if c == "text" else batch.column(c) for c in names]
    fields = [batch.schema.field(c) for c in names]
    return pa.RecordBatch.from_arrays([*arrays, pa.array(counts, pa.int32())],
                                      schema=pa.schema([*fields, pa.field("lines_removed", pa.int32())]))
