"""Connected components of a document-pair graph on Spark, and the per-cluster keep policy.

Components use the alternating large-star / small-star algorithm (Kiveris et al., "Connected Components in
MapReduce and Beyond", 2014): every round is a few DataFrame shuffles over the edge list, the edge list shrinks
towards one star per component rooted at its smallest id, and it converges in O(log n) rounds. No step collects
the graph on one machine; each round's edges are checkpointed so the lineage stays short.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from curation.dedup.keep_policy import keep_items
from curation.schema import ANNOTATIONS

MAX_ROUNDS = 64


def _large_star(edges: DataFrame) -> DataFrame:
    """Link every neighbour v > u of each node u to the smallest node of u's closed neighbourhood."""
    both = edges.select(F.col("a").alias("u"), F.col("b").alias("v")).union(
        edges.select(F.col("b").alias("u"), F.col("a").alias("v")))
    smallest = F.least(F.min("v").over(Window.partitionBy("u")), F.col("u"))
    return (both.withColumn("m", smallest).where(F.col("v") > F.col("u"))
            .select(F.col("v").alias("a"), F.col("m").alias("b")).where(F.col("a") != F.col("b")))


def _small_star(edges: DataFrame) -> DataFrame:
    """Link each node u and its smaller neighbours to the smallest of them."""
    oriented = edges.select(F.greatest("a", "b").alias("u"), F.least("a", "b").alias("v"))
    with_min = oriented.withColumn("m", F.min("v").over(Window.partitionBy("u")))
    smaller = with_min.select(F.col("v").alias("a"), F.col("m").alias("b"))
    node = with_min.select(F.col("u").alias("a"), F.col("m").alias("b"))
    return smaller.union(node).where(F.col("a") != F.col("b"))


def _canonical(edges: DataFrame) -> DataFrame:
    """Undirected, de-duplicated edges stored as (larger id, smaller id)."""
    return edges.select(F.greatest("a", "b").alias("a"), F.least("a", "b").alias("b")).distinct()


def _same_edges(x: DataFrame, y: DataFrame) -> bool:
    """Whether two de-duplicated edge lists are equal (one job)."""
    marked = x.withColumn("in_x", F.lit(True)).join(y.withColumn("in_y", F.lit(True)), ["a", "b"], "full")
    return marked.where(F.col("in_x").isNull() | F.col("in_y").isNull()).isEmpty()


def connected_components(edges: DataFrame) -> DataFrame:
    """(id, component) for every node of the graph given by ``edges`` (columns a, b; string ids).

    ``component`` is the smallest id of the node's component, so the result does not depend on partitioning.
    """
    current = _canonical(edges).localCheckpoint()
    for _ in range(MAX_ROUNDS):
        nxt = _canonical(_small_star(_canonical(_large_star(current)))).localCheckpoint()
        if _same_edges(nxt, current):
            break
        current = nxt
    else:  # pragma: no cover - O(log n) rounds are enough for any graph that fits a cluster
        raise RuntimeError(f"connected components did not converge in {MAX_ROUNDS} rounds")
    # converged: a star per component, every edge (member, root)
    roots = current.select(F.col("b").alias("id")).distinct().select("id", F.col("id").alias("component"))
    return current.select(F.col("a").alias("id"), F.col("b").alias("component")).union(roots).distinct()


def join_small(big: DataFrame, small: DataFrame, on: str, how: str, broadcast_rows: int,
               rows: int | None = None) -> DataFrame:
    """Join a large table with a side table, broadcasting the side table when it has at most ``broadcast_rows``
    rows. ``rows``: a known upper bound of its size; without it the side table is counted first (so it should be
    checkpointed or cheap)."""
    if (small.count() if rows is None else rows) <= broadcast_rows:
        small = F.broadcast(small)
    return big.join(small, on, how)


def floating_columns(df: DataFrame) -> set[str]:
    """The float and double columns of ``df`` (for :func:`keep_order`)."""
    return {name for name, dtype in df.dtypes if dtype in ("float", "double")}


def keep_order(columns: list[str], keep: list[str], floating: set[str] | frozenset[str] = frozenset()) -> list[Column]:
    """Sort expressions for a keep policy such as ``["quality_score desc", "length desc", "id asc"]``.

    ``length`` is the text length in characters (a ``length`` column if the table has one). An annotation column that this table lacks (e.g.
    ``quality_score`` before any scoring stage) is skipped; any other unknown column is an error. Nulls sort last;
    NaN in a ``floating`` column counts as null (Spark would sort it above every number).
    """
    order: list[Column] = []
    items = keep_items(keep)
    for name, descending in items:
        if name == "length" and "length" not in columns:
            col = F.length("text")
        elif name in columns:
            col = F.nanvl(F.col(name), F.lit(None)) if name in floating else F.col(name)
        elif name in ANNOTATIONS:
            continue
        else:
            raise ValueError(f"keep order {name!r}: no column {name!r} (columns: {', '.join(columns)})")
        order.append(col.desc_nulls_last() if descending else col.asc_nulls_last())
    if "id" not in [name for name, _ in items]:
        order.append(F.col("id").asc())  # ties broken by id, so the choice never depends on partitioning
    return order


def choose_kept(members: DataFrame, group: str, order: list[Column]) -> DataFrame:
    """(id, group, kept, group_size): for every row of ``members``, the id its ``group`` keeps under ``order``."""
    by_group = Window.partitionBy(group)
    ranked = Window.partitionBy(group).orderBy(*order).rowsBetween(Window.unboundedPreceding, Window.currentRow)
    return members.select("id", group, F.first("id").over(ranked).alias("kept"),
                          F.count("*").over(by_group).alias("group_size"))
