"""Exact and MinHash dedup stages on Spark: accuracy against brute-force truth, determinism, eval metrics."""
import json
import random
import string

import pytest

from curation.dedup.eval import clusters_from_annotated, evaluate_annotated, score, true_pairs
from curation.dedup.exact import ExactDedupParams, ExactDedupStage
from curation.dedup.minhash.stage import MinHashParams, MinHashStage
from curation.dedup.planted import near_copy, plant
from curation.pipeline.stage import StageContext

ANNOTATED = ["id", "text", "text_hash", "exact_dup_of", "dup_cluster", "dup_cluster_size", "dup_of"]


def synthetic_docs(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    vocab = ["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 9))) for _ in range(3000)]
    return [{"id": f"doc{i:04d}", "text": " ".join(rng.choice(vocab) for _ in range(rng.randint(150, 250)))}
            for i in range(n)]


@pytest.fixture(scope="module")
def planted():
    docs, truth = plant(synthetic_docs(160), [0.5, 0.7, 0.85, 0.95, 1.0], fraction=0.4, seed=1)
    docs.append({**docs[3], "id": "zz-shouted", "text": docs[3]["text"].upper() + " !!!"})  # exact after folding
    return docs, truth


def run_dedup(spark, docs, partitions: int, **minhash_params):
    df = spark.createDataFrame([(d["id"], d["text"], None) for d in docs], "id string, text string, url string")
    df = df.repartition(partitions)
    ctx = StageContext(spark=spark, out="unused", stage_name="dedup", seed=0)
    exact = ExactDedupStage(ExactDedupParams()).apply(df, ctx).kept
    out = MinHashStage(MinHashParams(**minhash_params)).apply(exact, ctx).kept
    return out.select(*ANNOTATED).toArrow().sort_by("id")


def run_fused(spark, docs, partitions: int, with_stats: bool = False, **minhash_params):
    """Exact and near duplicates in one MinHash stage (``exact: true``)."""
    df = spark.createDataFrame([(d["id"], d["text"], None) for d in docs], "id string, text string, url string")
    ctx = StageContext(spark=spark, out="unused", stage_name="dedup", seed=0)
    result = MinHashStage(MinHashParams(exact=True, **minhash_params)).apply(df.repartition(partitions), ctx)
    table = result.kept.select(*[c for c in ANNOTATED if c != "text_hash"]).toArrow().sort_by("id")
    return (table, result.extra_stats) if with_stats else table


@pytest.fixture(scope="module")
def annotated(spark, planted):
    return run_dedup(spark, planted[0], partitions=1)


@pytest.fixture(scope="module")
def fused(spark, planted):
    return run_fused(spark, planted[0], partitions=2)


def test_planted_copies_hit_their_jaccard_levels(planted):
    _, truth = planted
    assert len(truth) == 64
    for t in truth:
        assert abs(t["jaccard"] - t["target"]) < 0.06, t
    text, j = near_copy("a b c d e f g h i j k l m n o p q r s t u v w x y z", 0.6, "donor words here",
                        random.Random(0))
    assert text != "" and abs(j - 0.6) < 0.1


def test_exact_duplicates_marked_with_kept_id(annotated):
    rows = {r["id"]: r for r in annotated.to_pylist()}
    shouted = rows["zz-shouted"]
    original = rows["doc0003"]
    assert shouted["text_hash"] == original["text_hash"]
    kept = max(("doc0003", "zz-shouted"), key=lambda i: (len(rows[i]["text"]), [-ord(c) for c in i]))
    assert rows[kept]["exact_dup_of"] is None
    assert rows[({"doc0003", "zz-shouted"} - {kept}).pop()]["exact_dup_of"] == kept
    assert shouted["dup_cluster"] is None or kept == "zz-shouted"  # exact duplicates skip the near-dup search


def test_near_duplicates_found_against_brute_force_truth(annotated):
    metrics = evaluate_annotated(annotated, threshold=0.8)
    assert metrics["pair"]["true"] > 20
    assert metrics["pair"]["f1"] >= 0.95, metrics
    assert metrics["removal"]["precision"] == 1.0 and metrics["removal"]["recall"] >= 0.95, metrics


def test_annotations_are_consistent(annotated):
    rows = annotated.to_pylist()
    by_id = {r["id"]: r for r in rows}
    for r in rows:
        if r["exact_dup_of"] is not None:
            continue
        kept = by_id[r["dup_cluster"]]
        assert kept["dup_of"] is None and kept["dup_cluster"] == kept["id"]
        assert r["dup_of"] == (None if r["id"] == kept["id"] else kept["id"])
        members = [x for x in rows if x["dup_cluster"] == r["dup_cluster"]]
        assert r["dup_cluster_size"] == len(members)


def test_results_identical_across_partition_counts_and_runs(spark, planted, annotated):
    previous = spark.conf.get("spark.sql.shuffle.partitions")
    spark.conf.set("spark.sql.shuffle.partitions", "3")
    try:
        again = run_dedup(spark, planted[0], partitions=5)
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", previous)
    assert again.equals(annotated)


def test_distributed_verification_and_components_give_the_same_clusters(spark, planted, annotated):
    distributed = run_dedup(spark, planted[0], partitions=3, local_max_edges=0)
    assert distributed.equals(annotated)
    assert annotated.column("dup_of").null_count < annotated.num_rows - 20  # the graph was not trivial


def test_unverified_candidates_are_a_superset_of_verified_clusters(spark, planted, annotated):
    bands, rows = MinHashParams().band_layout()  # the verified run's layout (unverified defaults to fewer bands)
    unverified = run_dedup(spark, planted[0], partitions=2, verify=False, bands=bands, rows=rows)
    metrics = evaluate_annotated(unverified, threshold=0.8)
    assert metrics["pair"]["recall"] >= 0.95, metrics
    loose = {r["id"]: r["dup_cluster"] for r in unverified.to_pylist()}
    for r in annotated.to_pylist():  # every verified cluster lies inside one unverified cluster
        if r["dup_cluster"] is not None and r["dup_cluster"] != r["id"]:
            assert loose[r["id"]] == loose[r["dup_cluster"]]


def test_eval_metrics_on_a_tiny_brute_force_set():
    texts = {"a": "one two three four five six seven", "b": "one two three four five six seven eight",
             "c": "one two three four five six seven", "d": "completely different words in this one",
             "e": "nine ten eleven twelve thirteen fourteen"}
    truth = true_pairs(list(texts), list(texts.values()), threshold=0.6)
    assert truth == {("a", "b"), ("a", "c"), ("b", "c")}
    perfect = score([["a", "b", "c"]], {"b", "c"}, truth)
    assert perfect["pair"]["f1"] == 1.0 and perfect["removal"]["recall"] == 1.0
    partial = score([["a", "c"], ["d", "e"]], {"c", "e"}, truth)
    assert partial["pair"] == {"precision": 0.5, "recall": round(1 / 3, 4), "f1": 0.4, "tp": 1, "predicted": 2,
                               "true": 3}
    assert partial["removal"]["precision"] == 0.5  # e has no true partner
    assert partial["removal"]["recall"] == 0.5  # component {a,b,c} keeps a and b: one of two removals missing


def test_clusters_from_annotations_attach_exact_duplicates():
    import pyarrow as pa

    table = pa.table({"id": ["a", "b", "c", "d"], "dup_cluster": ["a", "a", None, "d"],
                      "dup_of": [None, "a", None, None], "exact_dup_of": [None, None, "b", None]})
    clusters, removed = clusters_from_annotated(table)
    assert sorted(clusters) == [["a", "b", "c"]]
    assert sorted(removed) == ["b", "c"]
    # a sparse table (rows of documents with a duplicate only): "x" has no row, its exact duplicates still join it
    sparse = pa.table({"id": ["a", "b", "c", "e", "f"], "dup_cluster": ["a", "a", None, None, None],
                       "dup_of": [None, "a", None, None, None], "exact_dup_of": [None, None, "b", "x", "x"]})
    clusters, removed = clusters_from_annotated(sparse)
    assert sorted(clusters) == [["a", "b", "c"], ["e", "f", "x"]]
    assert sorted(removed) == ["b", "c", "e", "f"]


def test_exact_and_near_in_one_stage_equal_the_two_stages(annotated, fused):
    assert fused.equals(annotated.drop_columns(["text_hash"]))
    assert fused.column("exact_dup_of").null_count < fused.num_rows - 10  # planted copies at Jaccard 1.0 and more


def test_one_stage_results_identical_across_partitions_and_distributed_decisions(spark, planted, fused):
    previous = spark.conf.get("spark.sql.shuffle.partitions")
    spark.conf.set("spark.sql.shuffle.partitions", "3")
    try:
        assert run_fused(spark, planted[0], partitions=5).equals(fused)
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", previous)
    # where the pairs are verified and decided: one task (text bounded, or measured first), or distributed
    decided = {}
    # 106 candidates of 137k characters, at most 1,663 bytes each (176k bounds them); 293k bytes of text in all
    for limit in (10**9, 200_000, 150_000, 0):
        table, stats = run_fused(spark, planted[0], partitions=3, with_stats=True, local_max_chars=limit)
        decided[stats["decided"]] = table
    table, stats = run_fused(spark, planted[0], partitions=3, with_stats=True, local_max_edges=0)
    decided[stats["decided"]] = table
    assert set(decided) == {"one task (reads the input)", "one task", "one task (text measured)", "distributed"}
    assert all(t.equals(fused) for t in decided.values())


def test_one_stage_exact_groups_with_many_copies_and_empty_texts(spark):
    docs = synthetic_docs(30, seed=3)
    copies = [{"id": f"copy{i:03d}", "text": docs[0]["text"].upper()} for i in range(250)]  # beyond the bucket cap
    empties = [{"id": f"empty{i}", "text": t} for i, t in enumerate(["", None, " ... ", "!!"])]
    for decide_locally in (True, False):
        table = run_fused(spark, docs + copies + empties, partitions=3,
                          **({} if decide_locally else {"local_max_edges": 0}))
        rows = {r["id"]: r for r in table.to_pylist()}
        # the longest text of each exact group is kept: all copies are equally long, so the smallest id wins
        group = [*(c["id"] for c in copies), "doc0000"]
        assert [rows[i]["exact_dup_of"] for i in group] == [None] + ["copy000"] * 250
        assert rows["copy000"]["dup_cluster"] == "copy000" and rows["copy000"]["dup_cluster_size"] == 1
        assert all(rows[i]["dup_cluster"] is None for i in group[1:])  # exact duplicates are not searched further
        kept_empty = rows["empty2"]  # " ... " is the longest of the texts that fold to nothing
        assert kept_empty["exact_dup_of"] is None
        assert {rows[f"empty{i}"]["exact_dup_of"] for i in (0, 1, 3)} == {"empty2"}
        assert all(rows[d["id"]]["exact_dup_of"] is None for d in docs[1:])


def test_pipeline_stores_annotations_only_and_later_stages_see_the_same_documents(spark, planted, tmp_path):
    """dedup.yaml's shape on Parquet input: ingest is lazy (no copy), minhash stores id + its columns only, select
    reads the input joined with them. Forcing copies (materialize, broadcast_rows 0) gives identical results, and a
    rerun with a changed select re-plans the lazy stages instead of recomputing them."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from curation.pipeline.runner import Runner
    from curation.pipeline.spec import load_spec

    docs = planted[0]
    pq.write_table(pa.table({"id": [d["id"] for d in docs], "text": [d["text"] for d in docs]}),
                   tmp_path / "in.parquet", row_group_size=50)
    spec = (f"out: {{out}}\nmaterialize: {{every}}\ninputs:\n  - {{{{format: parquet, path: {tmp_path / 'in.parquet'}}}}}\n"
            "stages:\n  ingest: {{materialize: {copy}}}\n  minhash: {{exact: true, broadcast_rows: {rows}}}\n"
            "  select:\n    rules:\n      - {{keep_if: \"exact_dup_of IS NULL\", reason: exact_duplicate}}\n"
            "      - {{keep_if: \"{near}\", reason: near_duplicate}}\n")

    def run(name, copy, rows, near="dup_of IS NULL", every=False):
        path = tmp_path / f"{name}.yaml"
        path.write_text(spec.format(out=tmp_path / name, copy=str(copy).lower(), rows=rows, near=near,
                                    every=str(every).lower()))
        result = Runner(load_spec(path), spark, log=lambda m: None).run()
        read = lambda d: pq.read_table(sorted((tmp_path / name / d).glob("*.parquet"))).sort_by("id")  # noqa: E731
        return result, read

    lazy, read_lazy = run("lazy", False, 2_000_000)
    stats = {o.name: o.stats for o in lazy.outcomes}
    assert stats["ingest"].get("lazy") is True and stats["minhash"].get("lazy") == "annotations"
    assert [s["stored"] for s in lazy.ledger["stages"]] == ["counts", "annotations", "documents"]
    report = (tmp_path / "lazy" / "report.md").read_text().splitlines()
    assert any(line.startswith("| minhash |") and line.endswith("| annotations |") for line in report), report
    assert not list((tmp_path / "lazy" / "ingest").glob("*.parquet"))
    assert read_lazy("minhash").column_names == ["id", "exact_dup_of", "dup_cluster", "dup_cluster_size", "dup_of"]
    copied, read_copied = run("copied", True, 0)  # ingest: materialize; minhash: more documents than broadcast_rows
    assert not any(o.stats.get("lazy") for o in copied.outcomes)
    every, read_every = run("every", False, 2_000_000, every=True)  # the spec's materialize: every stage copied
    assert not any(o.stats.get("lazy") for o in every.outcomes)
    full = read_copied("minhash")
    # the annotation-only folder holds the rows of the documents that have a duplicate, sorted by id
    with_dup = pc.or_kleene(pc.greater(full["dup_cluster_size"], 1), pc.is_valid(full["exact_dup_of"]))
    assert 0 < read_lazy("minhash").num_rows < len(docs)
    assert read_lazy("minhash").equals(full.filter(with_dup).select(read_lazy("minhash").column_names))
    assert full.drop_columns(["source", "url", "format", "lang", "lang_score", "meta"]).equals(
        run_fused(spark, docs, partitions=2))  # the stage run on its own gives the same annotations
    for folder in ("select", "rejected/select"):  # the same rows and values (a lazy frame's literal columns are
        # written as non-nullable, read-back copies as nullable: values are compared, not that flag)
        assert read_lazy(folder).to_pylist() == read_copied(folder).to_pylist() == read_every(folder).to_pylist()
    assert lazy.ledger["documents_kept"] == copied.ledger["documents_kept"] < len(docs) - 20
    # `curate dedup eval` on the annotation-only folder gets the texts through the run's spec
    from typer.testing import CliRunner

    from curation.cli.dedup import app

    for name in ("lazy", "copied"):
        done = CliRunner().invoke(app, ["eval", str(tmp_path / name / "minhash"), "--out", str(tmp_path / f"{name}.json")])
        assert done.exit_code == 0, done.output
    assert (tmp_path / "lazy.json").read_text() == (tmp_path / "copied.json").read_text()
    assert json.loads((tmp_path / "lazy.json").read_text())["pair"]["f1"] >= 0.95
    # a looser near-duplicate rule: ingest and minhash are reused (re-planned), select recomputed
    again, read_again = run("lazy", False, 2_000_000, near="dup_of IS NULL OR dup_cluster_size >= 2")
    assert [o.resumed for o in again.outcomes] == [True, True, False]
    looser = read_again("select").to_pylist()
    assert len(looser) > lazy.ledger["documents_kept"]
    assert len(looser) == len(docs) - read_lazy("minhash").column("exact_dup_of").drop_null().length()
