"""The heuristic filter stage: annotate each document with the names of the rules it fails (``heuristic_fails``).

It rejects nothing itself: a ``select`` stage after it decides, e.g. ``keep_if: "size(heuristic_fails) = 0"``
(all rules) or ``keep_if: "NOT array_contains(heuristic_fails, 'c4.curly_bracket')"`` (one rule), so thresholds
can be re-chosen without recomputing. Spec::

    heuristics:
      rules:                      # omitted: all four sets with their defaults
        gopher_quality: {min_words: 50}   # {} = defaults; a set left out (or null) does not run
        gopher_repetition: {}
        c4: {line_end_punct: false}
        fineweb: {max_dup_line_char_ratio: 0.1}

Rule names are ``<set>.<parameter>``; a null parameter turns that rule off. Per-rule statistics (documents that
fail it, pass it, and fail only it) go to the stage's ``stats.json`` under ``extra.heuristics``.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
from pydantic import Field

from curation.rules.c4 import C4Rules
from curation.rules.fineweb import FineWebRules
from curation.rules.gopher import GopherQualityRules, GopherRepetitionRules
from curation.schema import ANNOTATIONS
from curation.pipeline.stage import Stage, StageContext, StageParams, StageResult

FAILS_COLUMN = "heuristic_fails"


class RuleSets(StageParams):
    gopher_quality: GopherQualityRules | None = None
    gopher_repetition: GopherRepetitionRules | None = None
    c4: C4Rules | None = None
    fineweb: FineWebRules | None = None

    def enabled(self) -> list:
        return [getattr(self, name) for name in type(self).model_fields if getattr(self, name) is not None]

    def rule_names(self) -> list[str]:
        return [name for rule_set in self.enabled() for name in rule_set.failures([])]


def all_rule_sets() -> RuleSets:
    return RuleSets(gopher_quality=GopherQualityRules(), gopher_repetition=GopherRepetitionRules(), c4=C4Rules(),
                    fineweb=FineWebRules())


class HeuristicParams(StageParams):
    rules: RuleSets = Field(default_factory=all_rule_sets)


def failed_rules(texts: list[str], rule_sets: RuleSets) -> pa.ListArray:
    """For each text, the names of the rules it fails, in rule order."""
    names: list[str] = []
    masks: list[np.ndarray] = []
    for rule_set in rule_sets.enabled():
        for name, mask in rule_set.failures(texts).items():
            names.append(name)
            masks.append(mask)
    failed = np.stack(masks, axis=1) if masks else np.zeros((len(texts), 0), dtype=bool)
    rows, cols = np.nonzero(failed)  # row-major: grouped by document, rules in order
    offsets = np.concatenate([[0], np.cumsum(failed.sum(axis=1))]).astype(np.int32)
    values = pa.array(np.asarray(names, dtype=object)[cols] if len(cols) else [], type=pa.string())
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def annotate_batch(batch: pa.RecordBatch, rule_sets: RuleSets) -> pa.RecordBatch:
    """``batch`` with a ``heuristic_fails`` column appended (a missing text counts as empty)."""
    texts = ["" if t is None else t for t in batch.column("text").to_pylist()]
    return batch.append_column(pa.field(FAILS_COLUMN, ANNOTATIONS[FAILS_COLUMN]), failed_rules(texts, rule_sets))


def rule_statistics(annotated_df, rule_names: list[str]) -> dict:
    """Per rule: documents that fail it, pass it, and fail it alone (those a select on all rules loses to it only)."""
    from pyspark.sql import functions as F

    fails = F.col(FAILS_COLUMN)
    per_rule = {r["rule"]: r["count"] for r in
                annotated_df.select(F.explode(fails).alias("rule")).groupBy("rule").count().collect()}
    only = {r["rule"]: r["count"] for r in
            annotated_df.where(F.size(fails) == 1).select(fails[0].alias("rule")).groupBy("rule").count().collect()}
    totals = annotated_df.agg(F.count(F.lit(1)).alias("documents"),
                              F.sum((F.size(fails) > 0).cast("long")).alias("failing_any")).first()
    documents = totals["documents"]
    return {
        "documents": documents,
        "failing_any": totals["failing_any"] or 0,
        "rules": {name: {"failed": per_rule.get(name, 0), "passed": documents - per_rule.get(name, 0),
                         "only_failure": only.get(name, 0)} for name in rule_names},
    }


class HeuristicStage(Stage):
    """Annotates ``heuristic_fails``; select on it afterwards."""

    type_name = "heuristics"
    Params = HeuristicParams

    def apply(self, df, ctx: StageContext) -> StageResult:
        from functools import partial

        from pyspark.sql.pandas.types import to_arrow_schema

        from curation.runtime.batches import map_batches

        if FAILS_COLUMN in df.columns:
            df = df.drop(FAILS_COLUMN)
        schema = to_arrow_schema(df.schema).append(pa.field(FAILS_COLUMN, ANNOTATIONS[FAILS_COLUMN]))
        rule_sets = self.params.rules
        annotated = map_batches(df, partial(annotate_batch, rule_sets=rule_sets), schema)
        names = rule_sets.rule_names()
        return StageResult(kept=annotated,
                           after_write=lambda kept, _rejected, _artifacts: {"heuristics": rule_statistics(kept, names)})
