"""The ``text`` input format: one document per plain-text file (UTF-8, optionally compressed)."""
from __future__ import annotations

from typing import Iterator

from curation.readers.file_source import (error_row, expand_inputs, file_label, input_names, open_decoded,
                                          read_files)
from curation.readers.streams import DEFAULT_MAX_RATIO


def text_records(path: str, options: dict) -> Iterator[dict]:
    """One document per plain-text file (UTF-8; invalid bytes are an error row unless ``errors: replace``)."""
    max_doc = int(options.get("max_doc_bytes", 50 << 20))
    label = file_label(path, options)
    chunks = []
    with open_decoded(path, max_doc, float(options.get("max_ratio", DEFAULT_MAX_RATIO))) as stream:
        try:
            while chunk := stream.read(1 << 20):
                chunks.append(chunk)
        except ValueError as exc:  # the file's cap is max_doc_bytes (or the decompression ratio)
            yield error_row(path, f"error: {label}: {exc} (max_doc_bytes {max_doc})", None, "text", 0, label)
            return
        if stream.damage:
            yield error_row(path, f"error: {label}: {stream.damage[0]}", None, "text", 0, label)
            return
    data = b"".join(chunks)
    try:
        text = data.decode("utf-8", errors=options.get("errors", "strict"))
    except UnicodeDecodeError as exc:
        yield error_row(path, f"error: invalid UTF-8 at byte {exc.start}", None, "text", 0, label)
        return
    yield {"id": label, "text": text, "format": "text", "reason": None,
           "meta": {"source_path": path, "record_offset": 0}}


def read_text(spark, inp):
    """Reader for ``format: text`` (registered in :data:`curation.readers.formats.READERS`)."""
    files = expand_inputs(inp.path)
    return read_files(spark, files, text_records, inp.options, inp.source, "text", input_names(inp, files))
