"""The ingest stage: every input of the spec read into one document table; skipped and broken records rejected.

Readers are registered in ``READERS`` (format name -> ``module:function``). A reader is
``read(spark, input_spec) -> DataFrame`` with the document columns plus ``reason`` (null for documents).
"""
from __future__ import annotations

import importlib
import os

from pyspark.sql import functions as F

from curation.file_source import READ_SCHEMA, expand_inputs, read_files
from curation.schema import DOC_SCHEMA
from curation.stage import Stage, StageContext, StageParams, StageResult

READERS: dict[str, str] = {
    "jsonl": "curation.ingest:read_jsonl",
    "text": "curation.ingest:read_text",
    "parquet": "curation.ingest:read_parquet",
    "warc": "curation.warc_reader:read_warc",
    "pdf": "curation.pdf_reader:read_pdf",
}


def reader_for(fmt: str):
    if fmt not in READERS:
        raise KeyError(f"unknown input format {fmt!r}; known: {', '.join(sorted(READERS))}")
    module_name, fn = READERS[fmt].split(":")
    return getattr(importlib.import_module(module_name), fn)


def read_jsonl(spark, inp):
    from curation.jsonl_reader import jsonl_records

    return read_files(spark, expand_inputs(inp.path), jsonl_records, inp.options, inp.source, "jsonl")


def read_text(spark, inp):
    from curation.jsonl_reader import text_records

    return read_files(spark, expand_inputs(inp.path), text_records, inp.options, inp.source, "text")


def read_parquet(spark, inp):
    """Parquet with at least a ``text`` column; the columns id, source and url are kept when present.

    Runs entirely in the JVM (no Python pass over the text); a null ``text`` is an error row. The frame is cheap to
    recompute, so ingest filters kept and rejected rows from it lazily instead of materialising it first.
    """
    from curation.spark_runtime import spark_schema

    files = expand_inputs(inp.path)
    df = spark.read.parquet(*files)
    text_field = inp.options.get("text_field", "text")
    if text_field not in df.columns:
        raise ValueError(f"parquet input {inp.path} has no '{text_field}' column (columns: {df.columns})")
    df = df.withColumnRenamed(text_field, "text") if text_field != "text" else df
    cols = set(df.columns)
    base = os.path.basename(files[0]) if len(files) == 1 else "parquet"
    idx = F.monotonically_increasing_id()
    types = {f.name: f.dataType for f in spark_schema(READ_SCHEMA).fields}
    exprs = {
        "id": F.col("id").cast("string") if "id" in cols else F.concat(F.lit(base + ":"), idx.cast("string")),
        "text": F.col("text").cast("string"),
        "source": (F.col("source").cast("string") if "source" in cols and inp.source is None
                   else F.lit(inp.source)),
        "url": F.col("url").cast("string") if "url" in cols else F.lit(None),
        "format": F.lit("parquet"),
        "reason": F.when(F.col("text").isNull(), F.lit("error: null text")),
    }
    return df.select(*[exprs.get(name, F.lit(None)).cast(types[name]).alias(name) for name in READ_SCHEMA.names])


# Readers whose frame is cheap to recompute (no Python pass, no parsing): ingest returns kept and rejected as two
# lazy filters of it instead of writing it once and splitting the copy.
RECOMPUTABLE = {"parquet"}


class IngestParams(StageParams):
    pass


class IngestStage(Stage):
    """Reads ``spec.inputs``. Kept: documents. Rejected: records skipped or broken, with reason."""

    type_name = "ingest"
    Params = IngestParams
    is_source = True

    def fingerprint_extra(self, ctx: StageContext) -> str:
        parts = []
        for inp in ctx.spec.inputs:
            for f in expand_inputs(inp.path):
                try:
                    st = os.stat(f)
                    parts.append(f"{f}:{st.st_size}:{int(st.st_mtime)}")
                except OSError:
                    parts.append(f)
        return "|".join(parts)

    def apply(self, df, ctx: StageContext) -> StageResult:
        frames = []
        for inp in ctx.spec.inputs:
            frames.append(reader_for(inp.format)(ctx.spark, inp))
        raw = frames[0]
        for f in frames[1:]:
            raw = raw.unionByName(f)
        raw = raw.select(*[f.name for f in DOC_SCHEMA], "reason")
        if all(inp.format in RECOMPUTABLE for inp in ctx.spec.inputs):
            return StageResult(kept=raw.where(F.col("reason").isNull()).drop("reason"),
                               rejected=raw.where(F.col("reason").isNotNull()))
        return StageResult(combined=raw)
