"""The ``parquet`` input format: Parquet files with a ``text`` column, read by Spark in the JVM (no Python pass).

The footers' row counts and null counts are read on the driver (:func:`parquet_footers`): with them the ingest
stage knows its row count without a job and can leave the files where they are
(:class:`curation.pipeline.storage.Replan`).
"""
from __future__ import annotations

from functools import lru_cache

import pyarrow as pa
from pyspark.sql import functions as F

from curation.readers.file_source import READ_SCHEMA, expand_inputs, open_binary

# Inputs with more files than this are not inspected on the driver (footers are read one file after another).
FOOTER_FILES = 256


@lru_cache(maxsize=64)
def parquet_footers(files: tuple[str, ...], text_field: str):
    """(rows, rows whose text is null, the first file's Arrow schema) of Parquet files, from their footers'
    row-group statistics; (-1, None, None) when there are more than ``FOOTER_FILES`` files, and the null count is
    None when a row group has no null count."""
    import pyarrow.parquet as pq

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
