"""The input formats a spec's ``inputs`` can name, each a reader ``read(spark, input_spec) -> DataFrame`` with the
document columns plus ``reason`` (null for documents, ``skipped: ...`` / ``error: ...`` otherwise). Adding a format
is one module in this folder and one line here."""
from __future__ import annotations

from curation.pipeline.registry import Registry

READERS = Registry("input format", {
    "jsonl": "curation.readers.jsonl:read_jsonl",
    "text": "curation.readers.text:read_text",
    "parquet": "curation.readers.parquet:read_parquet",
    "warc": "curation.readers.warc:read_warc",
    "pdf": "curation.readers.pdf:read_pdf",
})


def reader_for(fmt: str):
    """The reader function of input format ``fmt``."""
    return READERS.load(fmt)
