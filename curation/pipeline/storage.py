"""How a stage's result is stored: the Parquet writes of the runner and the storage modes it picks.

A stage returns what it keeps and rejects (:class:`~curation.pipeline.stage.StageResult`); the runner stores it in
one of three modes, and only two stages need to know more than the first:

- documents (every stage): the kept documents and the rejected rows, written and counted while writing;
- :class:`Replan` (``ingest`` of Parquet inputs): the kept documents are cheap to plan again from the stage's inputs
  (no parsing, no Python pass), so unless the stage is the spec's last, only the rejected rows are written, every
  row counted on the way (nothing at all when the stage knows its row count), and later stages read the plan instead
  of a copy (``stats.json`` says ``"lazy": true``);
- :class:`AnnotationTable` (``minhash``): a stage that only adds columns and rejects nothing hands over ``id`` and
  its columns; unless it is the spec's last or its input is larger than ``max_rows``, that narrow table is its
  output and later stages read the input put together with it by :meth:`Stage.annotated
  <curation.pipeline.stage.Stage.annotated>` (``stats.json`` says ``"lazy": "annotations"``).

Stage outputs in a local folder get byte-stable Parquet footers (:mod:`curation.runtime.parquet_footer`) and part
files named ``part-NNNNN.parquet``, so the same inputs give the same bytes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from curation.pipeline.errors import ReconciliationError, StageFailed
from curation.schema import ANNOTATIONS, CORE_NAMES, DISTINCT_VALUED


@dataclass(frozen=True)
class Replan:
    """Storage hint for a ``combined`` result that is cheap to plan again: see the module docstring.
    ``known_rows``: the number of rows of ``combined``, known without a job, none of them rejected (e.g. from
    Parquet footers); the runner then writes nothing at all."""

    known_rows: int | None = None


@dataclass(frozen=True)
class AnnotationTable:
    """Storage hint for an annotation-only stage: ``table`` holds ``id`` and the added columns, one row per input
    document; with ``sparse``, only the rows of the documents whose values differ from those the stage's
    :meth:`~curation.pipeline.stage.Stage.annotated` gives a document without a row (minhash: the documents that
    have a duplicate). Stored instead of the documents while the input has at most ``max_rows`` documents."""

    table: Any
    sparse: bool = False
    max_rows: int = 0


def write_parquet(df, path: str) -> None:
    """Write a stage output (overwriting): no dictionary encoding on the columns whose values are all distinct.

    In a local folder, the files' footers are then made byte-stable (:mod:`curation.runtime.parquet_footer`): the
    same rows give the same bytes in any JVM. Elsewhere (``hdfs://``, ``s3a://``) the files are left as Spark wrote
    them."""
    writer = df.write.mode("overwrite")
    for name in DISTINCT_VALUED:
        if name in df.columns:
            writer = writer.option(f"parquet.enable.dictionary#{name}", "false")
    writer.parquet(path)
    folder = local_folder(path, df.sparkSession)
    if folder is not None:
        from curation.runtime.parquet_footer import normalize_folder

        normalize_folder(folder)


def local_folder(path: str, spark):
    """The local folder a Spark path names (a ``file:`` URI, or a plain path where the default file system is the
    local one), or None for another file system."""
    from pathlib import Path
    from urllib.parse import unquote, urlparse

    if path.startswith("file:"):
        return Path(unquote(urlparse(path).path))
    if ":" in path.split("/", 1)[0]:  # another scheme
        return None
    default = spark.sparkContext._jsc.hadoopConfiguration().get("fs.defaultFS") or "file:///"
    return Path(path) if default.startswith("file:") else None


def read_parquet(spark, path: str, schema=None):
    """Read a stage folder's Parquet files (the folder also holds stats.json and _artifacts/).

    ``schema`` (a StructType or its JSON string), when known, saves the Spark job that reads a file footer for it."""
    reader = spark.read.option("pathGlobFilter", "*.parquet")
    if schema is not None:
        from pyspark.sql.types import StructType

        reader = reader.schema(StructType.fromJson(json.loads(schema)) if isinstance(schema, str) else schema)
    return reader.parquet(path)


def _write_counted(df, path: str, reasons: list[str] = ()) -> tuple[int, dict[str, int]]:
    """Write ``df`` (see :func:`write_parquet`); (its number of rows, {reason: rows with it} for ``reasons``), both
    counted while writing."""
    from pyspark.sql import functions as F

    from curation.runtime.batches import observed

    metrics = {f"reason{i}": F.count_if(F.col("reason") == r) for i, r in enumerate(reasons)}
    watched, values = observed(df, **metrics)
    write_parquet(watched, path)
    counts = values()
    return int(counts["rows"]), {r: int(counts[f"reason{i}"]) for i, r in enumerate(reasons)}


def lazy_kept(res):
    """The kept documents of a ``combined`` result: its rows without a reason."""
    from pyspark.sql import functions as F

    return res.combined.where(F.col("reason").isNull()).drop("reason")


def annotated(spark, stage, ctx, df, folder: str, annotation_schema, kept_schema):
    """The documents of an annotation-only stage stored lazily: its input ``df`` and the annotation table committed
    in ``folder``, put together by the stage (:meth:`curation.pipeline.stage.Stage.annotated`), columns in the kept
    order."""
    from pyspark.sql.types import StructType

    annotations = read_parquet(spark, folder, annotation_schema)
    names = (StructType.fromJson(json.loads(kept_schema)) if isinstance(kept_schema, str) else kept_schema).names
    return stage.annotated(df, annotations, ctx).select(*names)


def check_columns(df, name: str) -> None:
    unknown = [c for c in df.columns if c not in CORE_NAMES and c not in ANNOTATIONS]
    missing = [c for c in CORE_NAMES if c not in df.columns]
    if unknown or missing:
        raise StageFailed(f"stage {name} output breaks the document schema: unknown columns {unknown}, "
                          f"missing {missing} (declare annotations in curation/schema.py)")


@dataclass
class Written:
    """What a stage's write left in its temporary folder: kept count and schema, the rejected frame and its counts,
    and for a lazy stage the plan of its kept documents (and the schema of its annotation table)."""

    n_kept: int
    kept_schema: object
    rejected: object = None
    n_rejected_rows: int = 0
    known_reasons: dict = field(default_factory=dict)
    frame: object = None
    annotation_schema: object = None


class StageWriter:
    """Writes one stage's result under its temporary folder ``tmp`` (``tmp/kept``, ``tmp/rejected``) in the
    storage mode the result and the run allow, through ``fs`` (a :class:`~curation.runtime.hadoop_fs.HadoopFS`)."""

    def __init__(self, spark, fs):
        self.spark = spark
        self.fs = fs

    def write(self, res, name: str, tmp: str, materialize: bool, upstream_kept: int | None) -> Written:
        """``materialize``: the documents must be written (last stage, or the spec asks); ``upstream_kept``: the
        documents the stage read (None for a source stage)."""
        kept_tmp, rej_tmp = f"{tmp}/kept", f"{tmp}/rejected"
        hint = res.storage
        if (isinstance(hint, AnnotationTable) and res.rejected is None and not materialize
                and upstream_kept is not None and upstream_kept <= hint.max_rows):
            return self._write_annotations(res, hint, name, kept_tmp, upstream_kept)
        if isinstance(hint, Replan) and res.combined is not None and not materialize:
            return self._write_lazy(res, hint, name, kept_tmp, rej_tmp)
        return self._write_documents(res, name, tmp, kept_tmp, rej_tmp)

    def rejected_reasons(self, w: Written, rej_tmp: str):
        """(the written rejected rows as a frame or None, {reason: rows}); counted in a job only when the write
        did not count them."""
        if w.rejected is None:
            return None, {}
        rej_w, reasons = read_parquet(self.spark, rej_tmp, w.rejected.schema), {}
        if w.n_rejected_rows and sum(w.known_reasons.values()) == w.n_rejected_rows:
            reasons = {r: n for r, n in w.known_reasons.items() if n}
        elif w.n_rejected_rows:
            reasons = {r["reason"]: r["count"] for r in rej_w.groupBy("reason").count().collect()}
        return rej_w, reasons

    def _write_annotations(self, res, hint: AnnotationTable, name: str, kept_tmp: str, n_in: int) -> Written:
        """An annotation-only stage: only its annotation table is written; the documents stay where its input has
        them. It rejects nothing: it keeps its ``n_in`` input documents (a full table has a row for each)."""
        check_columns(res.kept, name)
        n_rows, _ = _write_counted(hint.table, kept_tmp)
        if not hint.sparse and n_rows != n_in:
            raise ReconciliationError(f"stage {name}: {n_rows} annotation rows for {n_in} documents")
        return Written(n_in, res.kept.schema, frame=res.kept, annotation_schema=hint.table.schema)

    def _write_lazy(self, res, hint: Replan, name: str, kept_tmp: str, rej_tmp: str) -> Written:
        """A stage whose documents are cheap to plan again: only the rejected rows are written, every row counted on
        the way (nothing at all when the stage knows its rows and rejects none)."""
        from pyspark.sql import functions as F

        from curation.runtime.batches import observed

        frame = lazy_kept(res)
        check_columns(frame, name)
        self.fs.mkdirs(kept_tmp)
        self.fs.write_text(f"{kept_tmp}/_SUCCESS", "")
        if hint.known_rows is not None:
            return Written(hint.known_rows, frame.schema, frame=frame)
        watched, values = observed(res.combined)
        rejected = watched.where(F.col("reason").isNotNull()).withColumn("stage", F.lit(name))
        n_rejected_rows, _ = _write_counted(rejected, rej_tmp)
        return Written(int(values()["rows"]) - n_rejected_rows, frame.schema, rejected, n_rejected_rows,
                       frame=frame)

    def _write_documents(self, res, name: str, tmp: str, kept_tmp: str, rej_tmp: str) -> Written:
        """Kept documents and rejected rows written, counted while writing."""
        from pyspark.sql import functions as F

        kept_df, rej_df = self._split(res, tmp, name)
        check_columns(kept_df, name)
        n_kept, _ = _write_counted(kept_df, kept_tmp)
        if rej_df is None:
            return Written(n_kept, kept_df.schema)
        rej_df = rej_df.withColumn("stage", F.lit(name))
        n_rejected_rows, known = _write_counted(rej_df, rej_tmp, res.reasons or [])
        return Written(n_kept, kept_df.schema, rej_df, n_rejected_rows, known)

    def _split(self, res, tmp: str, name: str):
        """(kept, rejected) of a result; a ``combined`` one is written once and split, so costly work is not run
        twice."""
        from pyspark.sql import functions as F

        if res.combined is None:
            if res.kept is None:
                raise StageFailed(f"stage {name} returned neither kept nor combined output")
            return res.kept, res.rejected
        all_dir = f"{tmp}/all"
        write_parquet(res.combined, all_dir)
        both = read_parquet(self.spark, all_dir, res.combined.schema)
        kept = both.where(F.col("reason").isNull()).drop("reason")
        rejected = both.where(F.col("reason").isNotNull())
        return kept, rejected

    def stable_part_names(self, d: str) -> None:
        """Rename Spark's part files (random job ids in their names) to part-NNNNN.parquet, for reproducible runs."""
        parts = [n for n in self.fs.list_names(d) if n.startswith("part-") and n.endswith(".parquet")]
        for n in parts:
            idx = n.split("-")[1]
            target = f"part-{idx}.parquet"
            if n != target:
                self.fs.rename(f"{d}/{n}", f"{d}/{target}")
