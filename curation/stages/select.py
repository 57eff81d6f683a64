"""Explicit selection: turn annotations into kept / rejected, so thresholds can be re-tuned without recomputing."""
from __future__ import annotations

from functools import partial

from pydantic import BaseModel, ConfigDict, Field

from curation.pipeline.stage import Stage, StageContext, StageParams, StageResult


class SelectRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keep_if: str = Field(description="a Spark SQL boolean expression over the document columns; null counts as false")
    reason: str = Field(description="recorded on every document this rule rejects")


class SelectParams(StageParams):
    rules: list[SelectRule] = Field(min_length=1, description="rules every kept document passes; a rejected document "
                                                              "carries the reason of the first rule it fails")


class SelectStage(Stage):
    """Keeps documents passing every rule; a rejected document carries the reason of the first rule it fails."""

    type_name = "select"
    Params = SelectParams

    def apply(self, df, ctx: StageContext) -> StageResult:
        from pyspark.sql import functions as F

        reason = F.lit(None).cast("string")
        for rule in reversed(self.params.rules):
            passed = F.coalesce(F.expr(rule.keep_if).cast("boolean"), F.lit(False))
            reason = F.when(~passed, F.lit(rule.reason)).otherwise(reason)
        marked = df.withColumn("reason", reason)
        kept = marked.where(F.col("reason").isNull()).drop("reason")
        rejected = marked.where(F.col("reason").isNotNull())
        about_rules = [r.reason for r in self.params.rules if "heuristic_fails" in r.keep_if]
        after = partial(_heuristic_rules_of_rejected, about_rules) if about_rules else None
        return StageResult(kept=kept, rejected=rejected, reasons=[rule.reason for rule in self.params.rules],
                           after_write=after)


def _heuristic_rules_of_rejected(reasons: list[str], kept, rejected, artifacts_dir: str) -> dict:
    """``{"heuristic_fails": {reason: {rule: documents}}}``: which heuristic rules the documents rejected by a rule
    over ``heuristic_fails`` failed, so that a reason such as ``heuristics`` reads rule by rule (one small
    aggregation)."""
    from pyspark.sql import functions as F

    if rejected is None:
        return {}
    rows = (rejected.where(F.col("reason").isin(reasons))
            .select("reason", F.explode("heuristic_fails").alias("rule"))
            .groupBy("reason", "rule").count().collect())  # reasons x rules: a few hundred rows at most
    by_reason: dict[str, dict[str, int]] = {}
    for r in sorted(rows, key=lambda r: (r["reason"], -r["count"], r["rule"])):
        by_reason.setdefault(r["reason"], {})[r["rule"]] = int(r["count"])
    return {"heuristic_fails": by_reason} if by_reason else {}


class SampleParams(StageParams):
    fraction: float = Field(gt=0, le=1, description="share of documents kept, drawn by a seeded hash of the id")


class SampleStage(Stage):
    """Deterministic Bernoulli sample by a seeded hash of the document id (independent of partitioning)."""

    type_name = "sample"
    Params = SampleParams

    def apply(self, df, ctx: StageContext) -> StageResult:
        from pyspark.sql import functions as F

        bucket = F.pmod(F.xxhash64(F.lit(ctx.seed), F.col("id")), F.lit(1_000_000))
        keep = bucket < F.lit(int(round(self.params.fraction * 1_000_000)))
        marked = df.withColumn("reason", F.when(keep, F.lit(None)).otherwise(F.lit("sample: not drawn")))
        return StageResult(kept=marked.where(keep).drop("reason"), rejected=marked.where(~keep),
                           reasons=["sample: not drawn"])
