"""Ids unique per run: of the documents that share an ``id``, the first keeps it and every other becomes an error row
``error: duplicate id 'X' (first in <input-relative file>:<offset>)`` of the ingest stage.

"First" is the smallest (``meta.source_path``, ``meta.record_offset``, input index in the spec): the same inputs give
the same choice whatever the partitioning or the order the files are read in. The JSONL reader already refuses a
repeat within one file as it streams; this check covers repeats across files, inputs and formats (a JSONL id that
a Parquet input also has, two Parquet files, an explicit id that spells another input's derived one).

Cost, built for the common case of no repeat: a first job shuffles only a 64-bit hash of each id (a map-side
partial count, then the hashes seen more than once). Without such a hash nothing else runs and the documents are not
touched. Otherwise a second job reads the ids of the candidate hashes (broadcast when few), finds the ids really
repeated with their first occurrence, and only then are the documents joined with that set, broadcast up to
:data:`BROADCAST_ROWS` ids (a shuffle join above, when a large share of the corpus repeats its ids). Nothing
per-document reaches the driver; the small sets stay on the executors (persisted).
"""
from __future__ import annotations

import urllib.parse

from pyspark.sql import functions as F

INPUT_COL = "_input"  # the spec's index of the input a row comes from: the last tie-break of "first"
# candidate hashes, or repeated ids, up to this many are broadcast to the documents' side of a join
BROADCAST_ROWS = 1 << 20


def tag_input(frame, index: int):
    """A reader's frame with the index of its input in the spec (dropped again by :func:`mark_duplicates`)."""
    return frame.withColumn(INPUT_COL, F.lit(index).cast("int"))


def _order_key():
    """The struct that orders the occurrences of an id: smallest first."""
    return F.struct(F.col("meta.source_path").alias("path"), F.col("meta.record_offset").alias("offset"),
                    F.col(INPUT_COL).alias("input"))


def _maybe_broadcast(df, rows: int):
    return F.broadcast(df) if rows <= BROADCAST_ROWS else df


def file_names(spark, names: list[dict[str, str]]):
    """``(input, path, name)`` rows for the input-relative file names of each input (in spec order, from
    :func:`curation.readers.file_source.input_names`), the path spelled both as ``meta.source_path`` has it: a
    plain path (Python readers) and URL-quoted (Spark's Parquet scan)."""
    rows = {}
    for i, per_input in enumerate(names):
        for path, name in per_input.items():
            rows[(i, path)] = name
            rows.setdefault((i, urllib.parse.quote(path)), name)
    return spark.createDataFrame(sorted((i, p, n) for (i, p), n in rows.items()),
                                 "input int, path string, name string")


def repeated_ids(frame, names_df) -> tuple[object, int, int, int]:
    """(``id``, ``_first`` (path, offset, input), ``_first_name``) of the ids more than one document of
    ``frame`` (documents: rows without ``reason``, plus :data:`INPUT_COL`) has, persisted, or None when every id
    is unique; their number; and, counted in the same pass, the rows of ``frame`` and those with a reason."""
    from curation.runtime.batches import observed

    watched, counts = observed(frame, rejected=F.count_if(F.col("reason").isNotNull()))
    docs = watched.where(F.col("reason").isNull())
    h = F.xxhash64("id").alias("_h")
    candidates = docs.select(h).groupBy("_h").count().where(F.col("count") > 1).select("_h").persist()
    n_candidates = candidates.count()
    rows, rejected = int(counts()["rows"]), int(counts()["rejected"])
    if not n_candidates:
        candidates.unpersist()
        return None, 0, rows, rejected
    docs = frame.where(F.col("reason").isNull())
    hits = docs.select("id", h, _order_key().alias("_first")).join(_maybe_broadcast(candidates, n_candidates), "_h")
    repeated = (hits.groupBy("id").agg(F.count(F.lit(1)).alias("_n"), F.min("_first").alias("_first"))
                .where(F.col("_n") > 1))
    named = (repeated.join(names_df, (repeated["_first.path"] == names_df["path"])
                           & (repeated["_first.input"] == names_df["input"]), "left")
             .select("id", "_first", F.coalesce(names_df["name"], repeated["_first.path"]).alias("_first_name"))
             .persist())
    n = named.count()
    candidates.unpersist()
    if not n:
        named.unpersist()
        return None, 0, rows, rejected
    return named, n, rows, rejected


def mark_duplicates(frame, repeated, n_repeated: int):
    """``frame`` without :data:`INPUT_COL`, every document after the first of each repeated id turned into an error
    row naming the first; ``frame`` itself (less the column) when ``repeated`` is None."""
    columns = [c for c in frame.columns if c != INPUT_COL]
    if repeated is None:
        return frame.select(*columns)
    joined = frame.join(_maybe_broadcast(repeated, n_repeated), "id", "left")
    later = (F.col("reason").isNull() & F.col("_first").isNotNull()
             & ~_order_key().eqNullSafe(F.col("_first")))
    why = F.concat(F.lit("error: duplicate id '"), F.substring("id", 1, 80), F.lit("' (first in "),
                   F.col("_first_name"), F.lit(":"),
                   F.coalesce(F.col("_first.offset").cast("string"), F.lit("?")), F.lit(")"))
    return joined.withColumn("reason", F.when(later, why).otherwise(F.col("reason"))).select(*columns)
