"""Connected components on Spark (large-star / small-star) and the keep policy, on hand-built graphs."""
import random

import pytest

from curation.connected_components import choose_kept, connected_components, keep_order


def components_of(spark, edges):
    df = spark.createDataFrame(edges, "a string, b string")
    return {r["id"]: r["component"] for r in connected_components(df).collect()}


def reference_components(edges):
    parent = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {x: find(x) for x in parent}


def test_chain_star_cycle_and_separate_components(spark):
    edges = [("n5", "n4"), ("n4", "n3"), ("n3", "n2"), ("n2", "n1"),  # chain, longest path 4
             ("h", "s1"), ("h", "s2"), ("h", "s3"),  # star with a large hub id
             ("c1", "c2"), ("c2", "c3"), ("c3", "c1"),  # cycle
             ("x", "y"), ("y", "x"), ("x", "y")]  # duplicate and reversed edges
    got = components_of(spark, edges)
    assert got == {"n1": "n1", "n2": "n1", "n3": "n1", "n4": "n1", "n5": "n1",
                   "h": "h", "s1": "h", "s2": "h", "s3": "h",
                   "c1": "c1", "c2": "c1", "c3": "c1", "x": "x", "y": "x"}


def test_random_graph_matches_union_find(spark):
    rng = random.Random(5)
    nodes = [f"d{i:03d}" for i in range(300)]
    edges = [(rng.choice(nodes), rng.choice(nodes)) for _ in range(250)]
    edges = [(a, b) for a, b in edges if a != b]
    assert components_of(spark, edges) == reference_components(edges)


def test_long_path_converges(spark):
    nodes = [f"p{i:03d}" for i in range(64)]
    order = nodes[::2] + nodes[1::2]  # ids not monotone along the path
    edges = list(zip(order, order[1:]))
    assert set(components_of(spark, edges).values()) == {"p000"}


def test_keep_policy_orders_by_quality_then_length_then_id(spark):
    rows = [("a", "g1", "short", 0.9), ("b", "g1", "much longer text", 0.9), ("c", "g1", "x", 0.95),
            ("d", "g2", "same", None), ("e", "g2", "same", None), ("f", "g2", "longest one", None)]
    df = spark.createDataFrame(rows, "id string, grp string, text string, quality_score double")
    kept = {r["id"]: (r["kept"], r["group_size"])
            for r in choose_kept(df, "grp", keep_order(df.columns, ["quality_score desc", "length desc"])).collect()}
    assert kept == {"a": ("c", 3), "b": ("c", 3), "c": ("c", 3), "d": ("f", 3), "e": ("f", 3), "f": ("f", 3)}
    no_quality = df.drop("quality_score")
    by_length = {r["id"]: r["kept"] for r in
                 choose_kept(no_quality, "grp", keep_order(no_quality.columns, ["quality_score desc", "length desc",
                                                                                 "id asc"])).collect()}
    assert by_length["a"] == "b" and by_length["d"] == "f"
    with pytest.raises(ValueError):
        keep_order(df.columns, ["no_such_column desc"])
