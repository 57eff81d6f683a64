"""The ``text`` input format: one document per plain-text file (UTF-8, optionally compressed)."""
from __future__ import annotations

import os
from typing import Iterator

from curation.readers.file_source import error_row, expand_inputs, open_text_stream, read_files


def text_records(path: str, options: dict) -> Iterator[dict]:
    """One document per plain-text file (UTF-8; invalid bytes are an error row unless ``errors: replace``)."""
    max_doc = int(options.get("max_doc_bytes", 50 << 20))
    with open_text_stream(path, max_doc + 1) as stream:
        try:
            data = stream.read()
        except ValueError:
            yield error_row(path, f"error: text file larger than max_doc_bytes ({max_doc})", None, "text", 0)
            return
    try:
        text = data.decode("utf-8", errors=options.get("errors", "strict"))
    except UnicodeDecodeError as exc:
        yield error_row(path, f"error: invalid UTF-8 at byte {exc.start}", None, "text", 0)
        return
    yield {"id": os.path.basename(path), "text": text, "format": "text", "reason": None,
           "meta": {"source_path": path, "record_offset": 0}}


def read_text(spark, inp):
    """Reader for ``format: text`` (registered in :data:`curation.readers.formats.READERS`)."""
    return read_files(spark, expand_inputs(inp.path), text_records, inp.options, inp.source, "text")
