"""The ingest stage: every input of the spec read into one document table; skipped and broken records rejected.

Each input's format names its reader in :data:`curation.readers.formats.READERS`.
"""
from __future__ import annotations

import os

from pydantic import Field
from pyspark.sql import functions as F

from curation.pipeline.stage import Stage, StageContext, StageParams, StageResult
from curation.pipeline.storage import Replan
from curation.readers.file_source import expand_inputs
from curation.readers.formats import reader_for
from curation.readers.parquet import parquet_footers
from curation.schema import DOC_SCHEMA

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
