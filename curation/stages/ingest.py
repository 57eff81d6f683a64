"""The ingest stage: every input of the spec read into one document table; skipped and broken records rejected.

Readers are registered in ``READERS`` (format name -> ``module:function``). A reader is
``read(spark, input_spec) -> DataFrame`` with the document columns plus ``reason`` (null for documents).
"""
from __future__ import annotations

import importlib
import os
from functools import lru_cache

import pyarrow as pa
from pydantic import Field
from pyspark.sql import functions as F

from curation.readers.file_source import READ_SCHEMA, expand_inputs, read_files
from curation.schema import DOC_SCHEMA
from curation.pipeline.stage import Stage, StageContext, StageParams, StageResult
from curation.pipeline.storage import Replan

READERS: dict[str, str] = {
    "jsonl": "curation.stages.ingest:read_jsonl",
    "text": "curation.stages.ingest:read_text",
    "parquet": "curation.stages.ingest:read_parquet",
    "warc": "curation.readers.warc:read_warc",
    "pdf": "curation.readers.pdf:read_pdf",
}


def reader_for(fmt: str):
    if fmt not in READERS:
        raise KeyError(f"unknown input format {fmt!r}; known: {', '.join(sorted(READERS))}")
    module_name, fn = READERS[fmt].split(":")
    return getattr(importlib.import_module(module_name), fn)


def read_jsonl(spark, inp):
    from curation.readers.jsonl import jsonl_records

    return read_files(spark, expand_inputs(inp.path), jsonl_records, inp.options, inp.source, "jsonl")


def read_text(spark, inp):
    from curation.readers.jsonl import text_records

    return read_files(spark, expand_inputs(inp.path), text_records, inp.options, inp.source, "text")


# Inputs with more files than this are not inspected on the driver (footers are read one file after another).
FOOTER_FILES = 256


@lru_cache(maxsize=64)
def parquet_footers(files: tuple[str, ...], text_field: str):
    """(rows, rows whose text is null, the first file's Arrow schema) of Parquet files, from their footers'
    row-group statistics; (-1, None, None) when there are more than ``FOOTER_FILES`` files, and the null count is
    None when a row group has no null count."""
    import pyarrow.parquet as pq

    from curation.readers.file_source import open_binary

    if len(files) > FOOTER_FILES:
        return -1, None, None
    rows, nulls, schema = 0, 0, None
    for f in files:
        with open_binary(f, random_access=True) as fh:
            meta = pq.read_metadata(fh)
        schema = schema or meta.schema.to_arrow_schema()
        rows += meta.num_rows
        leaf = [i for i in range(meta.num_columns) if meta.schema.column(i).path == text_field]
        for g in range(meta.num_row_groups):
            stats = meta.row_group(g).column(leaf[0]).statistics if leaf else None
            if nulls is not None and stats is not None and stats.has_null_count:
                nulls += stats.null_count
            else:
                nulls = None
    return rows, nulls, schema


def _read_schema(arrow_schema, columns: list[str]):
    """The Spark schema of ``columns`` (those present) from a file's Arrow schema, so that Spark needs no job to
    infer it; None when a type has no Spark equivalent (Spark then infers it)."""
    from curation.runtime.batches import spark_schema

    try:
        return spark_schema(pa.schema([arrow_schema.field(c) for c in columns if c in arrow_schema.names]))
    except Exception:  # noqa: BLE001 - an exotic type: let Spark read the footer itself
        return None


def read_parquet(spark, inp):
    """Parquet with at least a ``text`` column; the columns id, source and url are kept when present.

    Runs entirely in the JVM (no Python pass over the text); a null ``text`` is an error row. The frame is cheap to
    recompute, so ingest does not copy it unless it is the last stage (see ``IngestStage``). Without an ``id``
    column, a document's id is ``<file name>:<row index in the file>``, whatever the file splits. When the files'
    statistics show no null text, the frame has no reject condition to evaluate (see :func:`parquet_footers`).
    """
    from curation.runtime.batches import spark_schema

    files = expand_inputs(inp.path)
    text_field = inp.options.get("text_field", "text")
    _, nulls, arrow_schema = parquet_footers(tuple(files), text_field)
    schema = _read_schema(arrow_schema, ["id", text_field, "source", "url"]) if arrow_schema is not None else None
    df = (spark.read.schema(schema) if schema is not None else spark.read).parquet(*files)
    if text_field not in df.columns:
        raise ValueError(f"parquet input {inp.path} has no '{text_field}' column (columns: {df.columns})")
    df = df.withColumnRenamed(text_field, "text") if text_field != "text" else df
    cols = set(df.columns)
    types = {f.name: f.dataType for f in spark_schema(READ_SCHEMA).fields}
    exprs = {
        "id": (F.col("id").cast("string") if "id" in cols else
               F.concat(F.col("_metadata.file_name"), F.lit(":"), F.col("_metadata.row_index").cast("string"))),
        "text": F.col("text").cast("string"),
        "source": (F.col("source").cast("string") if "source" in cols and inp.source is None
                   else F.lit(inp.source)),
        "url": F.col("url").cast("string") if "url" in cols else F.lit(None),
        "format": F.lit("parquet"),
        "reason": (F.lit(None) if nulls == 0 else
                   F.when(F.col("text").isNull(), F.lit("error: null text"))),
    }
    return df.select(*[exprs.get(name, F.lit(None)).cast(types[name]).alias(name) for name in READ_SCHEMA.names])


# Readers whose frame is cheap to recompute (no Python pass, no parsing): ingest does not copy their documents
# (see IngestStage).
RECOMPUTABLE = {"parquet"}


class IngestParams(StageParams):
    materialize: bool = Field(False, description="write the documents of Parquet inputs into the stage folder even "
                                                 "when later stages can read them in place (other formats are "
                                                 "always written)")


class IngestStage(Stage):
    """Reads ``spec.inputs``. Kept: documents. Rejected: records skipped or broken, with reason.

    When every input is cheap to read again (Parquet), the stage is lazy unless it is the last one or
    ``materialize`` is set: its folder records the counts (and the rejected rows go to ``rejected/ingest`` as
    usual), and the next stage reads the input files through the same plan instead of a copy of them. Inputs that
    must be parsed or extracted (JSONL, text, WARC, PDF) are always written once.
    """

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
            if ctx.materialize or self.params.materialize:  # kept and rejected: two filters of the cheap frame
                return StageResult(kept=raw.where(F.col("reason").isNull()).drop("reason"),
                                   rejected=raw.where(F.col("reason").isNotNull()))
            counts = [parquet_footers(tuple(expand_inputs(inp.path)), inp.options.get("text_field", "text"))
                      for inp in ctx.spec.inputs]  # read by the reader just now: cached
            known = sum(rows for rows, _, _ in counts) if all(nulls == 0 for _, nulls, _ in counts) else None
            return StageResult(combined=raw, storage=Replan(known_rows=known))
        return StageResult(combined=raw)
