"""The ingest stage: every input of the spec read into one document table; skipped and broken records rejected.

Each input's format names its reader in :data:`curation.readers.formats.READERS`. Ids are unique in the stage's
output: a document whose id an earlier one has is an error row naming the first (:mod:`curation.stages.ingest_ids`).
"""
from __future__ import annotations

import os
import uuid

from pydantic import Field
from pyspark.sql import functions as F

from curation.pipeline.stage import Stage, StageContext, StageParams, StageResult
from curation.pipeline.storage import Replan
from curation.readers.file_source import expand_inputs, input_names
from curation.readers.formats import reader_for
from curation.schema import DISTINCT_VALUED, DOC_SCHEMA
from curation.stages.ingest_ids import INPUT_COL, file_names, mark_duplicates, repeated_ids, tag_input

# Readers whose frame is cheap to recompute (no Python pass, no parsing): ingest does not copy their documents
# (see IngestStage).
RECOMPUTABLE = {"parquet"}


class IngestParams(StageParams):
    materialize: bool = Field(False, description="write the documents of Parquet inputs into the stage folder even "
                                                 "when later stages can read them in place (other formats are "
                                                 "always written)")


class IngestStage(Stage):
    """Reads ``spec.inputs``. Kept: documents. Rejected: records skipped or broken, with reason.

    Ids are unique in its output: a document whose id a document earlier in (file path, offset, input) order
    already has is rejected naming that first one (:mod:`curation.stages.ingest_ids`).

    When every input is cheap to read again (Parquet), the stage is lazy unless it is the last one or
    ``materialize`` is set: its folder records the counts (and the rejected rows go to ``rejected/ingest`` as
    usual), and the next stage reads the input files through the same plan instead of a copy of them. The id check
    costs it one job over the ids, file paths and row indexes (the text is not read), which also counts the rows;
    each plan of the documents again (a resumed run) repeats that job. Inputs that must be parsed or extracted
    (JSONL, text, WARC, PDF) are parsed once, into a scratch copy under ``<out>/_tmp`` that the id check and the
    kept and rejected outputs read.
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
        frames, names = [], []
        for i, inp in enumerate(ctx.spec.inputs):
            frames.append(tag_input(reader_for(inp.format)(ctx.spark, inp), i))
            names.append(input_names(inp, expand_inputs(inp.path)))
        raw = frames[0]
        for f in frames[1:]:
            raw = raw.unionByName(f)
        raw = raw.select(*[f.name for f in DOC_SCHEMA], "reason", INPUT_COL)
        names_df = file_names(ctx.spark, names)
        if all(inp.format in RECOMPUTABLE for inp in ctx.spec.inputs):
            # the id check reads only the ids, paths and row indexes of the files: the documents stay in place
            # (reading those columns also counts the rows, and the rows the reader rejects: null text, a record's
            # source that cannot name a folder)
            repeated, n_repeated, rows, rejected = repeated_ids(raw, names_df)
            raw = mark_duplicates(raw, repeated, n_repeated)
            if ctx.materialize or self.params.materialize:  # kept and rejected: two filters of the cheap frame
                return StageResult(kept=raw.where(F.col("reason").isNull()).drop("reason"),
                                   rejected=raw.where(F.col("reason").isNotNull()))
            known = rows if repeated is None and not rejected else None
            return StageResult(combined=raw, storage=Replan(known_rows=known))
        # Parsed once: the rows go to a scratch copy under _tmp, the id check reads its id column, and the kept and
        # rejected outputs are filters of it (the runner would otherwise write the parsed rows once to split them).
        scratch = f"{ctx.out.rstrip('/')}/_tmp/{ctx.stage_name}-read-{uuid.uuid4().hex[:8]}"
        writer = raw.write.mode("overwrite")
        for name in DISTINCT_VALUED:
            if name in raw.columns:
                writer = writer.option(f"parquet.enable.dictionary#{name}", "false")
        writer.parquet(scratch)
        read = ctx.spark.read.schema(raw.schema).parquet(scratch)
        repeated, n_repeated, _, _ = repeated_ids(read, names_df)
        marked = mark_duplicates(read, repeated, n_repeated)
        return StageResult(kept=marked.where(F.col("reason").isNull()).drop("reason"),
                           rejected=marked.where(F.col("reason").isNotNull()))
