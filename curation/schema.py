"""The document schema, defined once.

Every stage reads and writes Arrow/Parquet tables with the columns below: the core document columns, a typed
``meta`` struct (provenance and format-specific facts), and the annotation columns that stages add. Rejected rows
carry the same columns plus ``reason`` and ``stage``.
"""
from __future__ import annotations

from typing import Iterable

import pyarrow as pa

# Provenance and format facts. Fields a reader does not know stay null; ``extra`` holds anything untyped.
META_TYPE = pa.struct(
    [
        ("source_path", pa.string()),  # input file the document came from
        ("record_offset", pa.int64()),  # byte offset (WARC) or line number (JSONL) or row index (Parquet)
        ("warc_record_id", pa.string()),
        ("warc_date", pa.string()),
        ("warc_type", pa.string()),
        ("http_status", pa.int32()),
        ("content_type", pa.string()),
        ("charset", pa.string()),
        ("extractor", pa.string()),  # engine that produced `text` (resiliparse, trafilatura, pymupdf, ...)
        ("title", pa.string()),
        ("author", pa.string()),
        ("producer", pa.string()),
        ("page_count", pa.int32()),
        ("pages_ocr", pa.int32()),
        ("page_offsets", pa.list_(pa.int64())),  # character offset in `text` where each page starts
        ("page_methods", pa.list_(pa.string())),  # per page: text_layer / ocr / ocr_implausible / blank / error
        ("page_rotations", pa.list_(pa.int32())),  # per page: degrees clockwise the image was turned before OCR
        ("extract_seconds", pa.float64()),
        ("extra", pa.map_(pa.string(), pa.string())),
    ]
)

CORE_FIELDS: list[pa.Field] = [
    pa.field("id", pa.string()),
    pa.field("text", pa.string()),
    pa.field("source", pa.string()),  # corpus / domain name, used by mixing
    pa.field("url", pa.string()),
    pa.field("format", pa.string()),  # html, wet, pdf, text, jsonl, parquet
    pa.field("lang", pa.string()),
    pa.field("lang_score", pa.float32()),
    pa.field("meta", META_TYPE),
]

# Columns that stages add ("annotate, then select"). A stage may only add columns declared here, so the
# schema of every stage output is known in one place.
ANNOTATIONS: dict[str, pa.DataType] = {
    "url_norm": pa.string(),
    "text_hash": pa.string(),
    "exact_dup_of": pa.string(),
    "dup_cluster": pa.string(),
    "dup_cluster_size": pa.int64(),
    "dup_of": pa.string(),
    "heuristic_fails": pa.list_(pa.string()),
    "quality_score": pa.float64(),
    "topic": pa.string(),
    "topic_score": pa.float64(),
    "n_tokens": pa.int64(),
    "tokens": pa.list_(pa.int32()),
    "split": pa.string(),  # shards stage: "train" or "eval" (held out per source)
    "mix_copies": pa.int64(),  # shards stage: times the document is repeated in the training shards
    "license": pa.string(),  # consent stage: the record's own license, else its source's, else "unknown"
    "opted_out": pa.string(),  # consent stage: the opt-out entry (domain or URL prefix) the URL falls under
    "pii_counts": pa.struct([(t, pa.int32()) for t in ("email", "iban", "card", "ip", "phone")]),  # pii: spans masked
    "contam_matches": pa.map_(pa.string(), pa.int32()),  # decontaminate: benchmark -> n-grams shared with it
    "contaminated": pa.bool_(),  # decontaminate: shares at least min_matches n-grams with some benchmark
    "lines_removed": pa.int32(),  # line_dedup: lines (or paragraphs) removed as repeated across documents
}

REJECT_FIELDS: list[pa.Field] = [pa.field("reason", pa.string()), pa.field("stage", pa.string())]

# Columns whose values are (nearly) all distinct: Parquet dictionary encoding only costs CPU on them (the writer
# builds a dictionary, then falls back to plain), ~0.25 CPU-s per 100k documents written.
DISTINCT_VALUED = ["id", "text", "url", "url_norm", "text_hash", "exact_dup_of", "dup_cluster", "dup_of", "reason"]

DOC_SCHEMA = pa.schema(CORE_FIELDS)
CORE_NAMES = [f.name for f in CORE_FIELDS]


def doc_schema(annotations: Iterable[str] = ()) -> pa.Schema:
    """Document schema with the given annotation columns appended (in the order given)."""
    fields = list(CORE_FIELDS)
    for name in annotations:
        if name not in ANNOTATIONS:
            raise KeyError(f"unknown annotation column {name!r}; declare it in curation/schema.py ANNOTATIONS")
        fields.append(pa.field(name, ANNOTATIONS[name]))
    return pa.schema(fields)


def annotations_of(schema: pa.Schema | Iterable[str]) -> list[str]:
    names = schema.names if isinstance(schema, pa.Schema) else list(schema)
    return [n for n in names if n in ANNOTATIONS]


def with_reason(schema: pa.Schema) -> pa.Schema:
    """Schema of raw reader output / rejected rows: documents plus ``reason`` (null for kept rows) and ``stage``."""
    out = schema
    for f in REJECT_FIELDS:
        if f.name not in out.names:
            out = out.append(f)
    return out


def empty_meta(**values) -> dict:
    """A meta dict with every field present (null unless given)."""
    meta = {f.name: None for f in META_TYPE}
    unknown = set(values) - set(meta)
    if unknown:
        raise KeyError(f"unknown meta fields: {sorted(unknown)}")
    meta.update(values)
    return meta


def rows_to_batch(rows: list[dict], schema: pa.Schema) -> pa.RecordBatch:
    """Build a record batch from row dicts; missing keys become null, ``meta`` dicts are completed."""
    cols = {}
    for f in schema:
        if f.name == "meta":
            cols["meta"] = [empty_meta(**(r.get("meta") or {})) for r in rows]
        else:
            cols[f.name] = [r.get(f.name) for r in rows]
    return pa.RecordBatch.from_pydict(cols, schema=schema)


def conform(table: pa.Table | pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch | pa.Table:
    """Reorder/cast columns to ``schema``; columns missing from ``table`` are filled with nulls."""
    n = table.num_rows
    arrays = []
    for f in schema:
        if f.name in table.schema.names:
            col = table.column(f.name)
            arrays.append(col if col.type == f.type else col.cast(f.type))
        else:
            arrays.append(pa.nulls(n, f.type))
    if isinstance(table, pa.RecordBatch):
        return pa.RecordBatch.from_arrays(arrays, schema=schema)
    return pa.Table.from_arrays(arrays, schema=schema)
