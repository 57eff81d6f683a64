"""The ``jsonl`` input format: one document per JSON line (plain, .gz, .zst, .bz2, .xz), one Spark task per file."""
from __future__ import annotations

import json
import os
from typing import Iterator

from curation.readers.file_source import error_row, expand_inputs, open_text_stream, read_files

_META_KEYS = ("id", "text", "source", "url")


def _stable_id(path: str, line_no: int) -> str:
    return f"{os.path.basename(path)}:{line_no}"


def jsonl_records(path: str, options: dict) -> Iterator[dict]:
    """One document per JSON line: ``text`` required; ``id``, ``source``, ``url`` optional and kept.

    A line that is not valid JSON, not valid UTF-8, lacks ``text`` or exceeds ``max_doc_bytes`` becomes an error
    row with its line number; the rest of the file is still read. ``text_field``/``id_field`` rename the fields.
    """
    text_field = options.get("text_field", "text")
    id_field = options.get("id_field", "id")
    max_doc = int(options.get("max_doc_bytes", 50 << 20))
    fmt = "jsonl"
    with open_text_stream(path, int(options.get("max_file_bytes", 64 << 30))) as stream:
        for line_no, raw in enumerate(stream, start=1):
            if not raw.strip():
                continue
            if len(raw) > max_doc:
                yield error_row(path, f"error: document larger than max_doc_bytes ({max_doc})",
                                None, fmt, line_no)
                continue
            try:
                obj = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                yield error_row(path, f"error: invalid UTF-8: {exc.reason}", None, fmt, line_no)
                continue
            except json.JSONDecodeError as exc:
                yield error_row(path, f"error: invalid JSON: {exc.msg}", None, fmt, line_no)
                continue
            if not isinstance(obj, dict) or not isinstance(obj.get(text_field), str):
                yield error_row(path, f"error: no string '{text_field}' field", None, fmt, line_no)
                continue
            doc_id = obj.get(id_field)
            extra = {k: (v if isinstance(v, str) else json.dumps(v, sort_keys=True))
                     for k, v in obj.items() if k not in _META_KEYS and k != text_field and v is not None}
            yield {
                "id": str(doc_id) if doc_id is not None else _stable_id(path, line_no),
                "text": obj[text_field],
                "source": obj.get("source") if isinstance(obj.get("source"), str) else None,
                "url": obj.get("url") if isinstance(obj.get("url"), str) else None,
                "format": fmt,
                "reason": None,
                "meta": {"source_path": path, "record_offset": line_no, "extra": extra or None},
            }


def read_jsonl(spark, inp):
    """Reader for ``format: jsonl`` (registered in :data:`curation.readers.formats.READERS`)."""
    return read_files(spark, expand_inputs(inp.path), jsonl_records, inp.options, inp.source, "jsonl")
