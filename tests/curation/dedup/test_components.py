"""Connected components on Spark (large-star / small-star) and the keep policy, on hand-built graphs."""
import random

import pytest

from curation.dedup.components import choose_kept, connected_components, keep_order
from curation.dedup.eval import components


def test_components_of_hand_built_graphs_match_union_find(spark):
    rng = random.Random(5)
    nodes = [f"r{i:03d}" for i in range(200)]
    random_edges = [(a, b) for a, b in ((rng.choice(nodes), rng.choice(nodes)) for _ in range(150)) if a != b]
    path = [f"p{i:03d}" for i in range(0, 64, 2)] + [f"p{i:03d}" for i in range(1, 64, 2)]  # ids not monotone
    edges = [("n5", "n4"), ("n4", "n3"), ("n3", "n2"), ("n2", "n1"),  # chain
             ("h", "s1"), ("h", "s2"), ("h", "s3"),  # star around a large hub id
             ("c1", "c2"), ("c2", "c3"), ("c3", "c1"),  # cycle
             ("x", "y"), ("y", "x"), ("x", "y"),  # duplicate and reversed edges
             *zip(path, path[1:]), *random_edges]
    got = {r["id"]: r["component"] for r in
           connected_components(spark.createDataFrame(edges, "a string, b string")).collect()}
    want = {x: min(c) for c in components(edges) for x in c}
    assert got == want
    assert got["n5"] == "n1" and got["s2"] == "h" and got["c3"] == "c1" and got["y"] == "x"
    assert {got[p] for p in path} == {"p000"}


def test_keep_policy_orders_by_quality_then_length_then_id(spark):
    rows = [("a", "g1", "short", 0.9), ("b", "g1", "much longer text", 0.9), ("c", "g1", "x", 0.95),
            ("d", "g2", "same", None), ("e", "g2", "same", None), ("f", "g2", "longest one", None),
            ("h", "g3", "tie", None), ("g", "g3", "tie", None)]
    df = spark.createDataFrame(rows, "id string, grp string, text string, quality_score double")
    kept = {r["id"]: (r["kept"], r["group_size"])
            for r in choose_kept(df, "grp", keep_order(df.columns, ["quality_score desc", "length desc"])).collect()}
    assert kept == {"a": ("c", 3), "b": ("c", 3), "c": ("c", 3), "d": ("f", 3), "e": ("f", 3), "f": ("f", 3),
                    "g": ("g", 2), "h": ("g", 2)}  # ties: smallest id
    no_quality = df.drop("quality_score")  # an annotation that is absent is skipped
    order = keep_order(no_quality.columns, ["quality_score desc", "length desc", "id asc"])
    by_length = {r["id"]: r["kept"] for r in choose_kept(no_quality, "grp", order).collect()}
    assert by_length["a"] == "b" and by_length["d"] == "f"
    with pytest.raises(ValueError):
        keep_order(df.columns, ["no_such_column desc"])
