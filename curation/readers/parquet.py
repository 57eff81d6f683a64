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

# UNSAFE_SOURCE of curation.readers.file_source in Java regex syntax
UNSAFE_SOURCE_SQL = r"^(\.|$)|[/\\\x00]|^.{256}"
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
        try:
            with open_binary(f, random_access=True) as fh:
                meta = pq.read_metadata(fh)
        except Exception:  # noqa: BLE001 - a broken file: read_parquet makes it an error row; no count from footers
            return -1, None, None
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


def check_files(files: list[str], text_field: str) -> tuple[dict[tuple, list[str]], list[tuple[str, str]]]:
    """Each file's footer, read before Spark touches the files: (readable files grouped by the types of the columns
    read, [(file, why it cannot be read)]). A file is bad when its footer does not parse (random bytes, an empty
    or truncated file) or its ``text_field`` column is missing or not a string."""
    import pyarrow.parquet as pq

    groups: dict[tuple, list[str]] = {}
    bad: list[tuple[str, str]] = []
    for f in files:
        try:
            with open_binary(f, random_access=True) as fh:
                schema = pq.read_schema(fh)
        except Exception as exc:  # noqa: BLE001 - whatever pyarrow says about the footer names the cause
            bad.append((f, f"not a readable Parquet file: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"))
            continue
        if text_field not in schema.names:
            bad.append((f, f"no '{text_field}' column (columns: {', '.join(schema.names[:20])})"))
            continue
        ttype = schema.field(text_field).type
        if not (pa.types.is_string(ttype) or pa.types.is_large_string(ttype) or pa.types.is_null(ttype)):
            bad.append((f, f"column '{text_field}' has type {ttype}, not string"))
            continue
        key = tuple((c, str(schema.field(c).type)) for c in ("id", text_field, "source", "url") if c in schema.names)
        groups.setdefault(key, []).append(f)
    return groups, bad


def _root_uri(inp) -> str:
    """How Spark's ``_metadata.file_path`` spells the input's root folder."""
    import urllib.parse

    from curation.readers.file_source import input_root

    root = input_root(inp.path)
    return f"{inp.path.split('://', 1)[0]}://{root}" if "://" in inp.path and not inp.path.startswith("file://") \
        else "file:" + urllib.parse.quote(root)


def _error_rows(spark, bad: list[tuple[str, str]], names: dict[str, str], source: str | None):
    from curation.readers.file_source import error_row
    from curation.runtime.batches import spark_schema
    from curation.schema import rows_to_batch

    rows = [error_row(f, f"error: {names[f]}: {why}", source, "parquet", None, f"{names[f]}@file") for f, why in bad]
    # plain rows, not pandas: the driver need not import pandas for a few error rows
    return spark.createDataFrame(rows_to_batch(rows, READ_SCHEMA).to_pylist(), spark_schema(READ_SCHEMA))


def read_parquet(spark, inp):
    """Parquet with a string ``text`` column; the columns id, source and url are kept when present.

    Each file's footer is checked first (:func:`check_files`): a file that is not Parquet, lacks the text column
    or types it as something else than a string becomes an error row naming the file and the cause, and the other
    files are read. Files whose columns have different types (an ``id`` of int64 in one, string in another) are read
    in groups of equal types. Runs in the JVM (no Python pass over the text); a null ``text`` is an error row. The
    frame is cheap to recompute, so ingest does not copy it unless it is the last stage (see ``IngestStage``).
    Without an ``id`` column, a document's id is ``<input-relative file name>:<row index in the file>``, whatever
    the file splits; ``meta.record_offset`` is that row index. When the files' statistics show no null text, the
    frame has no reject condition to evaluate (see :func:`parquet_footers`).
    """
    from curation.readers.file_source import input_names

    files = expand_inputs(inp.path)
    text_field = inp.options.get("text_field", "text")
    names = input_names(inp, files)
    groups, bad = check_files(files, text_field)
    _, nulls, _ = parquet_footers(tuple(files), text_field)
    frames = [_read_group(spark, inp, group, text_field, nulls, names) for group in groups.values()]
    if bad:
        frames.append(_error_rows(spark, bad, names, inp.source))
    df = frames[0]
    for frame in frames[1:]:
        df = df.unionByName(frame)
    return df


def _read_group(spark, inp, files: list[str], text_field: str, nulls, names: dict[str, str]):
    """The documents of Parquet files whose columns have the same types."""
    import pyarrow.parquet as pq

    from curation.runtime.batches import spark_schema

    with open_binary(files[0], random_access=True) as fh:
        arrow_schema = pq.read_schema(fh)
    schema = _read_schema(arrow_schema, ["id", text_field, "source", "url"])
    df = (spark.read.schema(schema) if schema is not None else spark.read).parquet(*files)
    df = df.withColumnRenamed(text_field, "text") if text_field != "text" else df
    cols = set(df.columns)
    types = {f.name: f.dataType for f in spark_schema(READ_SCHEMA).fields}
    prefix = names[files[0]].split("/", 1)[0]
    root = _root_uri(inp) + "/"
    file_path = F.col("_metadata.file_path")
    rel = F.when(file_path.startswith(root), file_path.substr(len(root) + 1, 1 << 20)).otherwise(
        F.col("_metadata.file_name"))
    exprs = {
        "id": (F.col("id").cast("string") if "id" in cols else
               F.concat(F.lit(prefix + "/"), rel, F.lit(":"), F.col("_metadata.row_index").cast("string"))),
        "text": F.col("text").cast("string"),
        "source": (F.col("source").cast("string") if "source" in cols and inp.source is None
                   else F.lit(inp.source)),
        "url": F.col("url").cast("string") if "url" in cols else F.lit(None),
        "format": F.lit("parquet"),
        "reason": (F.lit(None) if nulls == 0 else
                   F.when(F.col("text").isNull(), F.lit("error: null text"))),
    }
    meta_type = types["meta"]
    provenance = {"source_path": F.regexp_replace(file_path, "^file:", ""),  # as for the other formats
                  "record_offset": F.col("_metadata.row_index")}  # orders the repeats of an id (ingest)
    exprs["meta"] = F.struct(*[provenance.get(f.name, F.lit(None)).cast(f.dataType).alias(f.name)
                               for f in meta_type.fields])
    if "source" in cols and inp.source is None:  # a record's own source names a folder: the reader's rule
        own = F.col("source").cast("string")
        exprs["reason"] = F.when(own.rlike(UNSAFE_SOURCE_SQL), F.concat(
            F.lit("error: unsafe source name '"), F.substring(own, 1, 80),
            F.lit("' (a source names a folder: no path separator, no leading dot)"))).otherwise(exprs["reason"])
    return df.select(*[exprs.get(name, F.lit(None)).cast(types[name]).alias(name) for name in READ_SCHEMA.names])
