"""Mix planning on Spark: the plan of :func:`curation.shards.mixing.plan_mix` found by aggregations.

Input: the training candidates as (source, key, n_tokens), ``key`` being the document's uint64 seeded key stored
as int64 with the sign bit flipped (:func:`signed_keys`), so int64 order is key order. Per source: documents and
tokens by one aggregation; then the threshold of the longest key-ordered prefix fitting the remainder ``R`` by a
search over key ranges: token totals of ``2**BITS`` sub-ranges of the current range (one aggregation, one row per
sub-range), descending into the sub-range where the running total passes ``R``, until the range holds at most
``LOCAL_KEYS`` keys, which come to the driver sorted. Then the one document after the prefix closest to the gap
left (one aggregation). The driver never holds more than ``max(2**BITS, LOCAL_KEYS)`` rows per step, whatever the
corpus size.
"""
from __future__ import annotations

import numpy as np

from curation.shards.mixing import Mix, MixPlan, closest_to_gap, plan_targets, prefix_taken, source_plan

BITS = 12
LOCAL_KEYS = 20_000
_SIGN = np.uint64(1 << 63)


def signed_keys(keys: np.ndarray) -> np.ndarray:
    """uint64 keys -> int64 with the same order (sign bit flipped)."""
    return (np.asarray(keys, dtype=np.uint64) ^ _SIGN).view(np.int64)


def unsigned_key(key: int) -> int:
    return int(key) + (1 << 63)


def _threshold(per_key, remainder: int) -> tuple[int | None, int, int]:
    """(signed threshold or None, tokens, documents) of the longest key-ordered prefix of one source's keys
    (``per_key``: a DataFrame of key, n, docs) whose tokens fit in ``remainder``."""
    from pyspark.sql import functions as F

    lo, width, before, before_docs, count = -(1 << 63), 64, 0, 0, None
    threshold = None
    while True:
        rng = per_key if width == 64 else per_key.where(F.col("key") >= F.lit(lo))
        if width < 64 and lo + (1 << width) < (1 << 63):
            rng = rng.where(F.col("key") < F.lit(lo + (1 << width)))
        if width <= BITS or (count is not None and count <= LOCAL_KEYS):
            rows = sorted((r["key"], r["n"], r["docs"]) for r in rng.collect())
            n = np.array([r[1] for r in rows], np.int64)
            taken = prefix_taken(n, remainder, before)
            if taken:
                threshold = rows[taken - 1][0]
            return threshold, before + int(n[:taken].sum()), before_docs + sum(r[2] for r in rows[:taken])
        shift = width - BITS
        bucket = (F.shiftright("key", shift) + F.lit(1 << (BITS - 1)) if width == 64
                  else F.shiftright(F.col("key") - F.lit(lo), shift))
        buckets = sorted((r["b"], r["n"], r["docs"], r["keys"]) for r in rng.groupBy(bucket.alias("b")).agg(
            F.sum("n").alias("n"), F.sum("docs").alias("docs"), F.count("*").alias("keys")).collect())
        for b, n, docs, keys in buckets:
            if before + n > remainder:  # the prefix ends inside this sub-range
                lo, width, count = lo + (b << shift), shift, keys
                break
            before, before_docs = before + n, before_docs + docs
            threshold = lo + ((b + 1) << shift) - 1  # every key of this sub-range is taken
        else:
            return threshold, before, before_docs


def plan_mix_spark(mix: Mix | None, candidates) -> MixPlan:
    """The mix plan of the training candidates (a DataFrame of source, key, n_tokens; see the module doc)."""
    from pyspark.sql import functions as F

    per_key = (candidates.groupBy("source", "key")
               .agg(F.sum("n_tokens").alias("n"), F.count("*").alias("docs")).persist())
    try:
        counts = {r["source"]: (int(r["docs"]), int(r["n"]), int(r["keys"])) for r in per_key.groupBy("source").agg(
            F.sum("docs").alias("docs"), F.sum("n").alias("n"), F.count("*").alias("keys")).collect()}
        shares, _, targets = plan_targets(mix, {s: t for s, (_, t, _) in counts.items()})
        remainders = {s: t - (t // counts[s][1]) * counts[s][1] for s, t in targets.items() if counts.get(s, (0, 0))[1]}
        # sources of few keys: their keys come to the driver in one job, decided like plan_mix does
        small = sorted(s for s, r in remainders.items() if r > 0 and counts[s][2] <= LOCAL_KEYS)
        local: dict[str, list] = {s: [] for s in small}
        if small:
            for r in per_key.where(F.col("source").isin(small)).collect():
                local[r["source"]].append((r["key"], r["n"], r["docs"]))
        plan = MixPlan()
        for s, target in targets.items():
            n_docs, have, _ = counts.get(s, (0, 0, 0))
            base = target // have if have else 0
            remainder = target - base * have
            decided = (None, 0, 0, None)
            if s in local:
                decided = _decide_local(sorted(local[s]), remainder)
            elif remainder > 0:
                decided = _decide_spark(per_key.where(F.col("source") == s), remainder)
            threshold, tokens, docs, best = decided
            plan.sources[s] = source_plan(s, shares[s], n_docs, have, target, base,
                                          None if threshold is None else unsigned_key(threshold), tokens, docs,
                                          None if best is None else unsigned_key(best))
        return plan
    finally:
        per_key.unpersist()


def _decide_local(rows: list[tuple[int, int, int]], remainder: int):
    """(signed threshold, tokens, documents, signed extra key) from one source's (key, n, docs), sorted."""
    n = np.array([r[1] for r in rows], np.int64)
    taken = prefix_taken(n, remainder)
    tokens, docs = int(n[:taken].sum()), sum(r[2] for r in rows[:taken])
    best = closest_to_gap(n[taken:], remainder - tokens)
    if best is None:
        return (rows[taken - 1][0] if taken else None), tokens, docs, None
    r = rows[taken + best]
    return (rows[taken - 1][0] if taken else None), tokens + r[1], docs + r[2], r[0]


def _decide_spark(mine, remainder: int):
    from pyspark.sql import functions as F

    threshold, tokens, docs = _threshold(mine, remainder)
    gap = remainder - tokens
    if gap <= 0:
        return threshold, tokens, docs, None
    rest = mine if threshold is None else mine.where(F.col("key") > F.lit(threshold))
    row = rest.select(F.min(F.struct(F.abs(F.col("n") - F.lit(gap)).alias("d"), "key", "n", "docs"))
                      .alias("m")).first()["m"]
    if row is None or closest_to_gap(np.array([row["n"]]), gap) is None:
        return threshold, tokens, docs, None
    return threshold, tokens + int(row["n"]), docs + int(row["docs"]), row["key"]
