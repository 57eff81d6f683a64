"""File-parallel reading on Spark: list input files, then stream each file's records inside executors.

A format reader is a plain generator ``record_fn(path, options) -> Iterator[dict]`` of document rows (keys of the
document schema plus ``reason``: null for a document, ``"skipped: ..."`` or ``"error: ..."`` otherwise). It never
holds a whole file in memory. :func:`read_files` runs it one file per Spark task and turns anything it raises into
an error row naming the file, so a broken file never fails the job.
"""
from __future__ import annotations

import glob
import io
import os
import re
from typing import Callable, Iterator

import pyarrow as pa

from curation.readers.streams import DEFAULT_MAX_RATIO, DecodedStream, compression_of
from curation.schema import DOC_SCHEMA, rows_to_batch, with_reason

READ_SCHEMA = with_reason(DOC_SCHEMA)
BATCH_ROWS = 512
NAME_KEY = "_file_name"  # set by read_files in each file's options: the file's input-relative name
# a record's own source that cannot be one folder name (the spec's names follow curation.pipeline.spec.SAFE_NAME)
UNSAFE_SOURCE = re.compile(r"\A(?:\.|\Z)|[/\\\x00]|\A.{256}")


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


def open_decoded(path: str, max_bytes: int = 8 << 30, max_ratio: float = DEFAULT_MAX_RATIO) -> DecodedStream:
    """The decompressed bytes of a file (.gz, .zst, .bz2, .xz by name, else as is), capped at ``max_bytes`` and at
    a decompression ratio of ``max_ratio``; damage is recorded in ``.damage`` (see :mod:`curation.readers.streams`).
    """
    return DecodedStream(open_binary(path), compression_of(path), max_bytes, max_ratio)


def open_text_stream(path: str, max_bytes: int = 8 << 30, max_ratio: float = DEFAULT_MAX_RATIO):
    """Buffered binary stream over a possibly compressed file (.gz, .zst, .bz2, .xz), capped at ``max_bytes``
    decompressed (and at ``max_ratio``, see :func:`open_decoded`)."""
    return io.BufferedReader(open_decoded(path, max_bytes, max_ratio), buffer_size=1 << 20)


def file_label(path: str, options: dict) -> str:
    """The name a file's row ids start with: its input-relative name given by :func:`read_files` (see
    :func:`input_names`), or its base name when a reader is called on its own."""
    return options.get(NAME_KEY) or os.path.basename(path)


def input_root(pattern: str) -> str:
    """The folder an input's files are named relative to: the directory itself, a file's folder, or a glob's
    longest folder without wildcards."""
    path = pattern[len("file://"):] if pattern.startswith("file://") else pattern
    if any(c in path for c in "*?["):
        parts = path.split("/")
        cut = next(i for i, part in enumerate(parts) if any(c in part for c in "*?["))
        root = "/".join(parts[:cut]) or ("/" if path.startswith("/") else ".")
    elif _has_scheme(path) or not os.path.isdir(path):
        root = path.rsplit("/", 1)[0] if "/" in path else "."
    else:
        root = path
    if _has_scheme(root):
        return root.split("://", 1)[1].rstrip("/")
    return os.path.abspath(root)


def input_names(inp, files: list[str]) -> dict[str, str]:
    """``file -> <input prefix>/<path relative to the input's root>``: row ids built on these names are the same
    wherever the data lives, and files with equal names in different folders (or inputs) get different ids."""
    root = input_root(inp.path)
    prefix = getattr(inp, "id_prefix", None) or inp.source or "input"
    names = {}
    for f in files:
        local = f.split("://", 1)[1] if _has_scheme(f) else f
        rel = local[len(root):].lstrip("/") if local.startswith(root.rstrip("/") + "/") else os.path.basename(local)
        names[f] = f"{prefix}/{rel}"
    return names


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


def _unsafe_source(row: dict) -> dict:
    """A document whose source cannot be one folder name (empty, ``.``, ``..``, a leading dot, a path separator)
    becomes an error row: sources name output folders (shards, eval splits)."""
    src = row.get("source")
    if row.get("reason") is None and src is not None and UNSAFE_SOURCE.search(src):
        meta = row.get("meta") or {}
        return {**error_row(meta.get("source_path") or "", f"error: unsafe source name {src[:80]!r} (a source "
                            f"names a folder: no path separator, no leading dot)", None, row.get("format") or "",
                            meta.get("record_offset"), row.get("id")), "url": row.get("url")}
    return row


def _to_batch(rows: list[dict], path: str, source: str | None, fmt: str) -> pa.RecordBatch:
    """Rows to one Arrow batch; a row that does not convert (a lone surrogate in a string, a value of the wrong
    type) becomes an error row naming the file and the cause, and the others stand."""
    try:
        return rows_to_batch(rows, READ_SCHEMA)
    except Exception:  # noqa: BLE001 - find the rows that fail, one by one
        good = []
        for row in rows:
            try:
                rows_to_batch([row], READ_SCHEMA)
                good.append(row)
            except Exception as exc:  # noqa: BLE001
                offset = (row.get("meta") or {}).get("record_offset")
                good.append(error_row(path, f"error: {os.path.basename(path)}@{offset}: unconvertible record: "
                                      f"{type(exc).__name__}: {exc}"[:500], source, fmt, offset, row.get("id")))
        return rows_to_batch(good, READ_SCHEMA)


def read_files(spark, paths: list[str], record_fn: Callable[[str, dict], Iterator[dict]], options: dict,
               source: str | None, fmt: str, names: dict[str, str] | None = None):
    """DataFrame (``READ_SCHEMA``) of every record of every file; one Spark task per file.

    ``names`` (file -> input-relative name, :func:`input_names`) reaches ``record_fn`` as ``options[NAME_KEY]``;
    row ids start with it. ``meta.extract_seconds`` (a document's extraction CPU time) is kept only with the input
    option ``timings: true``: it differs from run to run, and the same inputs must give the same bytes."""
    from curation.runtime.batches import map_partitions, paths_frame

    timings = bool(options.get("timings", False))
    names = dict(names or {})

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for path in batch.column("path").to_pylist():
                rows: list[dict] = []
                file_options = {**options, NAME_KEY: names[path]} if path in names else options
                try:
                    for row in record_fn(path, file_options):
                        _apply_source(row, source)
                        row.setdefault("format", fmt)
                        if not timings and row.get("meta"):
                            row["meta"].pop("extract_seconds", None)
                        rows.append(_unsafe_source(row))
                        if len(rows) >= BATCH_ROWS:
                            yield _to_batch(rows, path, source, fmt)
                            rows = []
                except Exception as exc:  # a broken file becomes one error row, the job goes on
                    rows.append(error_row(path, f"error: {os.path.basename(path)}: {type(exc).__name__}: "
                                          f"{exc}"[:500], source, fmt, doc_id=f"{file_label(path, file_options)}@file"))
                if rows:
                    yield _to_batch(rows, path, source, fmt)

    return map_partitions(paths_frame(spark, paths), run, READ_SCHEMA)
