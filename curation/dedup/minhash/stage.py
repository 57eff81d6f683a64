"""MinHash-LSH near-duplicate detection as one stage: the Spark orchestration of the pure parts.

Signatures and band keys per Arrow batch (:mod:`~curation.dedup.minhash.lsh`), one shuffle by bucket group, the
candidate pairs per partition; then, for up to ``local_max_edges`` pairs, verification, components and keep policy
in one Spark task (:mod:`~curation.dedup.minhash.decide`), else distributed joins and large-star / small-star rounds
(:mod:`curation.dedup.components`). Each cluster keeps one document (``keep`` order); ``dup_cluster`` = id of the
kept document, ``dup_cluster_size`` = members, ``dup_of`` = kept id for every other member (null for the kept one).
Removal is a later ``select`` on ``dup_of IS NULL``.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
from pydantic import Field, model_validator
from pyspark.sql import functions as F

from curation.dedup.minhash.decide import DECISION_SCHEMA, SCORED_PAIR_SCHEMA, decide_in_one_task, score_pairs
from curation.dedup.minhash.kernels import MAX_NGRAM
from curation.dedup.minhash.lsh import (HANDLE_PAIR_SCHEMA, PACKED_SCHEMA, bucket_pairs, distinct_pairs, optimal_bands,
                                        packed_bucket_rows)
from curation.pipeline.stage import Stage, StageContext, StageParams, StageResult
from curation.pipeline.storage import AnnotationTable


class MinHashParams(StageParams):
    ngram: int = Field(5, ge=1, le=MAX_NGRAM, description="words per shingle")
    num_perm: int = Field(112, ge=2, le=1024, description="permutations (hash functions) per signature")
    threshold: float = Field(0.8, gt=0.0, le=1.0, description="Jaccard similarity that makes a duplicate")
    bands: int | None = Field(None, ge=1, description="LSH bands; derived from threshold when unset")
    rows: int | None = Field(None, ge=1, description="rows per band; derived from threshold when unset")
    false_positive_weight: float | None = Field(
        None, gt=0.0, lt=1.0,
        description="weight of false positives when deriving bands x rows (false negatives: 1 - this); "
                    "default 0.005 with verification (a false candidate only costs one Jaccard), else 0.5")
    verify: bool = Field(True, description="keep a candidate pair only if its exact Jaccard >= threshold (and an "
                                           "exact pair only if the normalised texts are equal)")
    exact: bool = Field(False, description="also find exact duplicates (equal normalised text) in the same pass and "
                                           "annotate exact_dup_of, as the exact_dedup stage would; use it instead "
                                           "of an exact_dedup stage before this one")
    nfkc: bool = Field(True, description="apply Unicode NFKC before lowercasing and folding punctuation")
    seed: int | None = Field(None, description="permutation seed; the spec's seed when unset")
    keep: list[str] = Field(["quality_score desc", "length desc", "id asc"],
                            description="order that picks each cluster's kept document")
    max_bucket_pairs: int = Field(
        200, ge=2, description="buckets with more members link each to the smallest id instead of all pairs")
    broadcast_rows: int = Field(2_000_000, ge=0, description="broadcast joined side tables up to this many rows")
    local_max_chars: int = Field(
        200_000_000, ge=0,
        description="with at most local_max_edges candidate pairs whose documents hold at most this many characters, "
                    "the pairs are named and verified in one Spark task instead of by two distributed joins")
    local_max_edges: int = Field(
        1_000_000, ge=0,
        description="candidate pairs up to this many are named and verified in one Spark task (see local_max_chars) "
                    "and duplicate graphs up to this many edges get their connected components in one task (scipy); "
                    "larger ones go through distributed joins and large-star/small-star rounds (0: always distributed)")

    @model_validator(mode="after")
    def _bands_and_rows_together(self):
        if (self.bands is None) != (self.rows is None):
            raise ValueError("set both bands and rows, or neither")
        if self.bands is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands x rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        return self

    def band_layout(self) -> tuple[int, int]:
        if self.bands is not None:
            return self.bands, self.rows
        fp = self.false_positive_weight or (0.005 if self.verify else 0.5)
        return optimal_bands(self.threshold, self.num_perm, fp, 1.0 - fp)


class MinHashStage(Stage):
    """Annotates ``dup_cluster``, ``dup_cluster_size`` and ``dup_of`` (near-duplicates by MinHash-LSH) and, with
    ``exact``, ``exact_dup_of`` (exact duplicates of the normalised text, found in the same pass).

    Exact duplicates get null near-duplicate annotations: they are marked for removal already. Without ``exact``,
    rows with a non-null ``exact_dup_of`` (from an ``exact_dedup`` stage before) are left out of the search the same
    way.
    """

    type_name = "minhash"
    Params = MinHashParams

    def apply(self, df, ctx: StageContext) -> StageResult:
        from curation.runtime.batches import checkpoint_observed

        p: MinHashParams = self.params
        bands, rows = p.band_layout()
        seed = ctx.seed if p.seed is None else p.seed
        if p.exact and "exact_dup_of" in df.columns:
            ctx.log(f"[{ctx.stage_name}] exact: true recomputes the input's exact_dup_of")
        base, searched_if = self._base(df)
        searched = base.where(searched_if) if searched_if else base
        decisions, n_pairs, decided = duplicate_decisions(searched, p, bands, rows, seed)
        decisions, seen = checkpoint_observed(decisions, exact=F.count("exact_of"), near=F.count("cluster_dup_of"))
        n_decisions = int(seen["rows"])
        out = annotate(base, decisions, n_decisions, p.broadcast_rows, searched_if, p.exact)
        # the annotations of the documents that have a duplicate (the others are clusters of one), which the runner
        # may store instead of a copy; annotated() puts the documents together from them
        sparse = decisions.coalesce(1).sortWithinPartitions("id").select(
            "id", *([F.col("exact_of").alias("exact_dup_of")] if p.exact else []),
            F.col("cluster").alias("dup_cluster"), F.col("cluster_size").alias("dup_cluster_size"),
            F.col("cluster_dup_of").alias("dup_of"))
        ctx.log(f"[{ctx.stage_name}] minhash {p.num_perm} perms, {bands} bands x {rows} rows, "
                f"{p.ngram}-gram shingles, threshold {p.threshold}, verify={p.verify}, exact={p.exact}")
        stats = {"bands": bands, "rows": rows, "num_perm": p.num_perm, "candidate_pairs": n_pairs,
                 "decided": decided, "near_duplicates": int(seen["near"])}
        if p.exact:
            stats["exact_duplicates"] = int(seen["exact"])
        return StageResult(kept=out, extra_stats=stats,
                           storage=AnnotationTable(sparse, sparse=True, max_rows=p.broadcast_rows))

    def _base(self, df):
        """(the input without the columns this stage writes, the SQL condition of the rows it searches or None)."""
        base = df.drop("dup_cluster", "dup_cluster_size", "dup_of", *(["exact_dup_of"] if self.params.exact else []))
        return base, ("exact_dup_of IS NULL" if "exact_dup_of" in base.columns else None)

    def annotated(self, df, annotations, ctx: StageContext):
        """The input with the stored annotations (rows of the documents that have a duplicate; a folder written
        before they were stored sparsely has a row for every document): the rows with a duplicate are joined (a
        broadcast of a few rows per hundred documents), the others' annotations follow from their ids."""
        p: MinHashParams = self.params
        base, searched_if = self._base(df)
        hit = F.col("dup_cluster_size") > 1
        if p.exact:
            hit = hit | F.col("exact_dup_of").isNotNull()
        decisions = annotations.where(hit).select(
            "id", (F.col("exact_dup_of") if p.exact else F.lit(None).cast("string")).alias("exact_of"),
            F.col("dup_cluster").alias("cluster"), F.col("dup_cluster_size").alias("cluster_size"),
            F.col("dup_of").alias("cluster_dup_of"))
        return annotate(base, decisions, 0, p.broadcast_rows, searched_if, p.exact)


def annotate(base, decisions, n_decisions: int, broadcast_rows: int, searched_if: str | None, exact: bool):
    """``base`` plus the annotation columns from ``decisions`` (``DECISION_SCHEMA``, one row per document with a
    duplicate): a document without a decision is its own cluster of one."""
    from curation.dedup.components import join_small

    side = decisions.select("id", *[F.col(c).alias(f"_{c}") for c in DECISION_SCHEMA.names[1:]],
                            F.lit(True).alias("_hit"))
    out = join_small(base, side, "id", "left", broadcast_rows, n_decisions)
    hit = F.col("_hit").isNotNull()
    cluster = F.when(hit, F.col("_cluster")).otherwise(F.col("id"))
    size = F.when(hit, F.col("_cluster_size")).otherwise(F.lit(1).cast("long"))
    dup_of = F.col("_cluster_dup_of")
    if searched_if is not None:
        searched = F.expr(searched_if)
        cluster, size, dup_of = (F.when(searched, c) for c in (cluster, size, dup_of))
    extra = [F.col("_exact_of").cast("string").alias("exact_dup_of")] if exact else []
    return out.select(*base.columns, *extra, cluster.cast("string").alias("dup_cluster"),
                      size.cast("long").alias("dup_cluster_size"), dup_of.cast("string").alias("dup_of"))


def candidate_pairs(docs, p: MinHashParams, bands: int, rows: int, seed: int):
    """(DataFrame (ha, hb, exact) of the handle pairs that share an LSH bucket, ``exact`` when they share the exact
    key, distinct within each bucket partition (a pair of documents sharing buckets in several partitions repeats),
    checkpointed; its number of rows; the length in bytes of the longest text; the bytes of all texts)."""
    from curation.runtime.batches import checkpoint_counted, map_batches, map_partitions, observed

    ngram, num_perm, nfkc, cap, exact = p.ngram, p.num_perm, p.nfkc, p.max_bucket_pairs, p.exact
    partitions = int(docs.sparkSession.conf.get("spark.sql.shuffle.partitions"))
    groups = 8 * partitions
    texts, lengths = observed(docs.select(F.xxhash64("id").alias("h"), "text"), longest=F.max(F.octet_length("text")),
                              total=F.sum(F.octet_length("text")))
    buckets = map_batches(texts,
                          lambda b: packed_bucket_rows(b, ngram, num_perm, bands, rows, seed, nfkc, groups, exact),
                          PACKED_SCHEMA)
    # one shuffle by bucket group, then each partition finds its buckets with one sort
    by_key = buckets.repartition(partitions, "g")
    pairs, n = checkpoint_counted(map_partitions(by_key, lambda batches: bucket_pairs(batches, cap),
                                                 HANDLE_PAIR_SCHEMA))
    seen = lengths()
    return pairs, n, int(seen["longest"] or 0), int(seen["total"] or 0)


def duplicate_decisions(docs, p: MinHashParams, bands: int, rows: int, seed: int):
    """(DataFrame of ``DECISION_SCHEMA`` rows for ``docs``, number of distinct candidate pairs, where the pairs were
    verified and decided: in one task, or distributed)."""
    from curation.dedup.components import keep_order
    from curation.dedup.keep_policy import keep_items
    from curation.runtime.batches import checkpoint_counted, checkpoint_observed, spark_schema

    spark = docs.sparkSession
    keep_order(docs.columns, p.keep)  # an unknown keep column fails here, before any work
    handle_pairs, n_found, longest, total = candidate_pairs(docs, p, bands, rows, seed)
    if n_found == 0:
        return spark.createDataFrame([], spark_schema(DECISION_SCHEMA)), 0, "no candidates"
    local = n_found <= p.local_max_edges
    if local:  # few: made distinct on the driver, the candidates' handles broadcast from there
        ha, hb, ex = distinct_pairs(handle_pairs.toArrow())
        n_pairs = len(ha)
        member_handles = np.unique(np.concatenate([ha, hb]))
        members = F.broadcast(spark.createDataFrame(pa.table({"h": member_handles})))
    else:
        handle_pairs, n_pairs = checkpoint_counted(handle_pairs.groupBy("ha", "hb").agg(F.max("exact").alias("exact")))
        members = handle_pairs.select(F.col("ha").alias("h")).union(handle_pairs.select(F.col("hb").alias("h")))
        members = members.distinct()
        if 2 * n_pairs <= p.broadcast_rows:
            members = F.broadcast(members)
    # the candidates, read once: handle, id, what the keep order needs and, to verify, the text
    keep_columns = [c for c in dict.fromkeys(name for name, _ in keep_items(p.keep))
                    if c in docs.columns and c not in ("id", "text")]
    # (lengths after the semi-join: counting the characters of every text costs as much as reading it)
    found = (docs.select(F.xxhash64("id").alias("h"), "id", "text", *keep_columns).join(members, "h", "left_semi")
             .select("h", "id", F.length("text").alias("length"), *keep_columns, *(["text"] if p.verify else [])))

    def in_one_task(candidates):  # verify every pair and decide in one task (no joins, no shuffle of texts)
        verify, ngram, nfkc, threshold, keep = p.verify, p.ngram, p.nfkc, p.threshold, list(p.keep)
        return candidates.mapInArrow(
            lambda batches: decide_in_one_task(batches, ha, hb, ex, verify, ngram, nfkc, threshold, keep),
            spark_schema(DECISION_SCHEMA))

    if local and (not p.verify or len(member_handles) * longest <= p.local_max_chars):
        # the candidates' text is bounded (members x longest text) without measuring it. When all the input's text
        # is within that budget too, the task reads the input itself instead of receiving the candidates through a
        # shuffle (less CPU, no slower); a larger input is read in parallel.
        if total <= p.local_max_chars:
            return in_one_task(found.coalesce(1)), n_pairs, "one task (reads the input)"
        return in_one_task(found.repartition(1)), n_pairs, "one task"
    found, seen = checkpoint_observed(found, chars=F.sum(F.length("text")) if p.verify else F.lit(0))
    if local and (seen["chars"] or 0) <= p.local_max_chars:
        return in_one_task(found.coalesce(1)), n_pairs, "one task (text measured)"
    if local:
        handle_pairs = spark.createDataFrame(pa.table({"ha": ha, "hb": hb, "exact": ex}))
    return distributed_decisions(found, handle_pairs, p), n_pairs, "distributed"


def distributed_decisions(found, handle_pairs, p: MinHashParams):
    """:func:`decide_in_one_task` with Spark joins, distributed verification and large-star/small-star
    components, for candidate sets too large for one task."""
    from curation.dedup.components import choose_kept, connected_components, floating_columns, keep_order
    from curation.runtime.batches import map_batches

    text = ["text"] if p.verify else []
    side = {x: found.select(F.col("h").alias(f"h{x}"), *[F.col(c).alias(f"{c}_{x}") for c in ["id", *text]])
            for x in "ab"}
    named = (handle_pairs.join(side["a"], "ha").join(side["b"], "hb")
             .where(F.col("id_a") != F.col("id_b"))
             .select(F.least("id_a", "id_b").alias("a"), F.greatest("id_a", "id_b").alias("b"), "exact",
                     *[F.col(f"text_{x}") for x in "ab" if p.verify]))
    if p.verify:
        ngram, nfkc = p.ngram, p.nfkc
        scored = map_batches(named, lambda b: score_pairs(b, ngram, nfkc), SCORED_PAIR_SCHEMA).localCheckpoint()
        is_exact = F.col("exact") & F.col("same")
        exact_edges = scored.where(is_exact)
        near_edges = scored.where(~is_exact & (F.col("jaccard") >= p.threshold))
    else:
        named = named.localCheckpoint()
        exact_edges, near_edges = named.where(F.col("exact")), named.where(~F.col("exact"))
    exact_edges = exact_edges.select("a", "b").distinct()
    near_edges = near_edges.select("a", "b").distinct()
    ranked = found.drop("h", "text")
    order = keep_order(ranked.columns, p.keep, floating_columns(ranked))
    # exact groups: every member but the kept one is an exact duplicate of it
    exact_kept = choose_kept(ranked.join(connected_components(exact_edges), "id"), "component", order)
    exact_kept = exact_kept.select("id", "kept").localCheckpoint()
    exact_dups = exact_kept.where(F.col("kept") != F.col("id")).select(
        "id", F.col("kept").alias("exact_of"), *[F.lit(None).cast(t).alias(c) for c, t in
                                                  (("cluster", "string"), ("cluster_size", "long"),
                                                   ("cluster_dup_of", "string"))])
    # near-duplicate clusters over the exact groups' kept documents
    for x in "ab":
        mapped = exact_kept.select(F.col("id").alias(x), F.col("kept").alias(f"k{x}"))
        near_edges = near_edges.join(mapped, x, "left").withColumn(x, F.coalesce(f"k{x}", x)).drop(f"k{x}")
    near_edges = near_edges.where(F.col("a") != F.col("b")).select(F.least("a", "b").alias("a"),
                                                                   F.greatest("a", "b").alias("b")).distinct()
    near_kept = choose_kept(ranked.join(connected_components(near_edges), "id"), "component", order)
    clusters = near_kept.select("id", F.lit(None).cast("string").alias("exact_of"), F.col("kept").alias("cluster"),
                                F.col("group_size").cast("long").alias("cluster_size"),
                                F.when(F.col("kept") != F.col("id"), F.col("kept")).alias("cluster_dup_of"))
    return exact_dups.unionByName(clusters)
