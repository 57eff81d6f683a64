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

import pyarrow as pa
from pydantic import Field

from curation.pipeline.stage import Stage, StageContext, StageParams, StageResult
from curation.rules.sets import FAILS_COLUMN, RuleSets, all_rule_sets, annotate_batch
from curation.schema import ANNOTATIONS


class HeuristicParams(StageParams):
    rules: RuleSets = Field(default_factory=all_rule_sets,
                            description="the rule sets to run, each with its thresholds (a set left out does not run, "
                                        "a null threshold turns its rule off); default: all four with their defaults")


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
