"""File-parallel reading on Spark: list input files, then stream each file's records inside executors.

A format reader is a plain generator ``record_fn(path, options) -> Iterator[dict]`` of document rows (keys of the
document schema plus ``reason``: null for a document, ``"skipped: ..."`` or ``"error: ..."`` otherwise). It never
holds a whole file in memory. :func:`read_files` runs it one file per Spark task and turns anything it raises into
an error row naming the file, so a broken file never fails the job.
"""
from __future__ import annotations

import bz2
import glob
import gzip
import io
import lzma
import os
from typing import Callable, Iterator

import pyarrow as pa

from curation.schema import DOC_SCHEMA, rows_to_batch, with_reason

READ_SCHEMA = with_reason(DOC_SCHEMA)
BATCH_ROWS = 512


class InputError(ValueError):
    """A user-facing problem with an input path (missing, empty glob)."""


def _has_scheme(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def list_files(pattern: str) -> list[str]:
    """Expand a path, directory or glob to a sorted list of files. URIs (s3://, hdfs://, gs://) use pyarrow.fs."""
    if _has_scheme(pattern):
        import pyarrow.fs as pafs

        fs, root = pafs.FileSystem.from_uri(pattern.split("*")[0].rsplit("/", 1)[0] if "*" in pattern else pattern)
        scheme = pattern.split("://", 1)[0]
        if "*" in pattern:
            import fnmatch

            infos = fs.get_file_info(pafs.FileSelector(root, recursive=True))
            prefix = pattern.split("://", 1)[1]
            files = [i.path for i in infos if i.type == pafs.FileType.File and fnmatch.fnmatch(i.path, prefix)]
        else:
            info = fs.get_file_info(root)
            if info.type == pafs.FileType.Directory:
                files = [i.path for i in fs.get_file_info(pafs.FileSelector(root, recursive=True))
                         if i.type == pafs.FileType.File]
            elif info.type == pafs.FileType.File:
                files = [root]
            else:
                files = []
        return sorted(f"{scheme}://{f}" for f in files)
    path = pattern[len("file://"):] if pattern.startswith("file://") else pattern
    if any(c in path for c in "*?["):
        files = [f for f in glob.glob(path, recursive=True) if os.path.isfile(f)]
    elif os.path.isdir(path):
        files = [os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs if not f.startswith((".", "_"))]
    elif os.path.isfile(path):
        files = [path]
    else:
        files = []
    return sorted(os.path.abspath(f) for f in files)


def expand_inputs(pattern: str) -> list[str]:
    files = list_files(pattern)
    if not files:
        raise InputError(f"input path matches no files: {pattern}")
    return files


def open_binary(path: str, random_access: bool = False):
    """Open a local path or URI for binary reading: streaming, or ``random_access`` (e.g. for a Parquet footer)."""
    if _has_scheme(path):
        import pyarrow.fs as pafs

        fs, p = pafs.FileSystem.from_uri(path)
        return fs.open_input_file(p) if random_access else fs.open_input_stream(p)
    return open(path, "rb")


class LimitedReader(io.RawIOBase):
    """Raises once more than ``limit`` bytes were read: guards against decompression bombs."""

    def __init__(self, raw, limit: int):
        self.raw, self.limit, self.seen = raw, limit, 0

    def readable(self):
        return True

    def readinto(self, b):
        n = self.raw.readinto(b) if hasattr(self.raw, "readinto") else None
        if n is None:
            data = self.raw.read(len(b))
            n = len(data)
            b[:n] = data
        self.seen += n
        if self.seen > self.limit:
            raise ValueError(f"decompressed size exceeds limit of {self.limit} bytes")
        return n


def open_text_stream(path: str, max_bytes: int = 8 << 30):
    """Binary stream over a possibly compressed file (.gz, .zst, .bz2, .xz), capped at ``max_bytes`` decompressed."""
    raw = open_binary(path)
    lower = path.lower()
    if lower.endswith(".gz"):
        stream = gzip.GzipFile(fileobj=raw)
    elif lower.endswith((".zst", ".zstd")):
        import zstandard

        stream = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    elif lower.endswith(".bz2"):
        stream = bz2.BZ2File(raw)
    elif lower.endswith(".xz"):
        stream = lzma.LZMAFile(raw)
    else:
        stream = raw
    return io.BufferedReader(LimitedReader(stream, max_bytes), buffer_size=1 << 20)


def error_row(path: str, reason: str, source: str | None, fmt: str, offset: int | None = None, doc_id: str | None = None) -> dict:
    return {
        "id": doc_id or f"{os.path.basename(path)}@{offset if offset is not None else 'file'}",
        "text": None,
        "source": source,
        "format": fmt,
        "reason": reason,
        "meta": {"source_path": path, "record_offset": offset},
    }


def _apply_source(row: dict, source: str | None) -> None:
    """The input's ``source`` (the spec's domain name) wins; a record's own differing value moves to meta.extra."""
    if source is None:
        return
    own = row.get("source")
    if own is not None and own != source:
        meta = row.setdefault("meta", {}) or {}
        meta["extra"] = {**(meta.get("extra") or {}), "source": own}
        row["meta"] = meta
    row["source"] = source


def read_files(spark, paths: list[str], record_fn: Callable[[str, dict], Iterator[dict]], options: dict,
               source: str | None, fmt: str):
    """DataFrame (``READ_SCHEMA``) of every record of every file; one Spark task per file.

    ``meta.extract_seconds`` (a document's extraction CPU time) is kept only with the input option ``timings:
    true``: it differs from run to run, and the same inputs must give the same bytes."""
    from curation.runtime.batches import map_partitions, paths_frame

    timings = bool(options.get("timings", False))

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for path in batch.column("path").to_pylist():
                rows: list[dict] = []
                try:
                    for row in record_fn(path, options):
                        _apply_source(row, source)
                        row.setdefault("format", fmt)
                        if not timings and row.get("meta"):
                            row["meta"].pop("extract_seconds", None)
                        rows.append(row)
                        if len(rows) >= BATCH_ROWS:
                            yield rows_to_batch(rows, READ_SCHEMA)
                            rows = []
                except Exception as exc:  # a broken file becomes one error row, the job goes on
                    rows.append(error_row(path, f"error: {type(exc).__name__}: {exc}"[:500], source, fmt))
                if rows:
                    yield rows_to_batch(rows, READ_SCHEMA)

    return map_partitions(paths_frame(spark, paths), run, READ_SCHEMA)
