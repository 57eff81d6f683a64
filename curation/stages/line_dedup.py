"""The line_dedup stage: remove lines (or paragraphs) repeated across more than ``max_docs`` documents.

Cookie banners, navigation, share buttons and legal footers recur verbatim across the pages of a site and of a
crawl. Each document's distinct units are hashed (:mod:`curation.clean.lines`); a Spark aggregation counts the
documents per hash (nothing per line reaches the driver); the units of hashes above the threshold are sent back to
their documents by a join on ``id`` and cut from ``text``. With ``keep_first``, the document with the smallest ``id``
keeps its copy. Annotates ``lines_removed``; a document left empty stays (a select decides, e.g. ``keep_if:
"length(trim(text)) > 0"``). ``stats.json`` (``extra.line_dedup``) lists the ``top`` most removed units with the
number of documents they were removed from. Spec::

    line_dedup:
      unit: line          # or paragraph
      max_docs: 5         # a unit in more than 5 documents goes
      min_chars: 10       # shorter units (blank lines, "1.", "|") are never counted or removed
      keep_first: false
"""
from __future__ import annotations

from functools import partial
from typing import Literal

import pyarrow as pa
from pydantic import Field

from curation.clean.lines import UNITS_SCHEMA, remove_batch, units_batch
from curation.pipeline.stage import Stage, StageContext, StageParams, StageResult
from curation.schema import ANNOTATIONS


class LineDedupParams(StageParams):
    unit: Literal["line", "paragraph"] = Field("line", description="line: text between newlines; paragraph: text "
                                                                   "between blank lines")
    max_docs: int = Field(5, ge=1, description="a unit found in more than this many documents is removed")
    min_chars: int = Field(10, ge=1, description="units shorter than this (whitespace folded) are never removed")
    keep_first: bool = Field(False, description="the document with the smallest id keeps its copy of each removed unit")
    top: int = Field(20, ge=0, description="most removed units listed in stats.json")


class LineDedupStage(Stage):
    """Cuts units repeated across documents from ``text``; annotates ``lines_removed``."""

    type_name = "line_dedup"
    Params = LineDedupParams

    def apply(self, df, ctx: StageContext) -> StageResult:
        from pyspark.sql import functions as F
        from pyspark.sql.pandas.types import to_arrow_schema

        from curation.runtime.batches import checkpoint_counted, map_batches

        p: LineDedupParams = self.params
        base = df.drop("lines_removed")
        units = map_batches(base.select("id", "text"), partial(units_batch, unit=p.unit, min_chars=p.min_chars,
                                                               shown_chars=200), UNITS_SCHEMA)
        units, _ = checkpoint_counted(units)
        frequent = (units.groupBy("hash")
                    .agg(F.count(F.lit(1)).alias("docs"), F.min("id").alias("first_id"), F.min("line").alias("line"))
                    .where(F.col("docs") > p.max_docs))
        to_remove = units.select("id", "hash").join(frequent.select("hash", "first_id"), "hash")
        if p.keep_first:
            to_remove = to_remove.where(F.col("id") != F.col("first_id"))
        per_doc = to_remove.groupBy("id").agg(F.array_sort(F.collect_list("hash")).alias("remove"))
        joined = base.join(per_doc, "id", "left").select(*base.columns, "remove")
        schema = to_arrow_schema(base.schema).append(pa.field("lines_removed", ANNOTATIONS["lines_removed"]))
        cleaned = map_batches(joined, partial(remove_batch, unit=p.unit, min_chars=p.min_chars), schema)

        def stats(kept, _rejected, _artifacts):
            removed = F.col("docs") - F.lit(1 if p.keep_first else 0)
            top = (frequent.select("line", "docs", removed.alias("removed_from"))
                   .orderBy(F.desc("removed_from"), F.asc("line")).limit(p.top).collect())
            totals = kept.agg(F.sum("lines_removed").alias("units"),
                              F.sum((F.col("lines_removed") > 0).cast("long")).alias("documents"),
                              F.sum((F.length(F.trim("text")) == 0).cast("long")).alias("emptied")).first()
            return {"line_dedup": {
                "units_removed": int(totals["units"] or 0), "documents_changed": int(totals["documents"] or 0),
                "documents_emptied": int(totals["emptied"] or 0), "distinct_units_removed": frequent.count(),
                "top_removed": [{"line": r["line"], "documents": r["docs"], "removed_from": r["removed_from"]}
                                for r in top]}}

        return StageResult(kept=cleaned, after_write=stats)
