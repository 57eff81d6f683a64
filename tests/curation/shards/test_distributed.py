"""The distributed shard path on Spark: mix planning by aggregations equals the in-memory plan, the executors'
writer gives the bytes of the sequential writer, per-source directories hold each source's whole training pool, and
the manifest counts tokens per license."""
import filecmp
import os

import numpy as np
import pyarrow as pa
import pytest
import xxhash

from curation.shards import mix_search
from curation.shards.format import read_manifest
from curation.shards.mixing import Mix, doc_keys, plan_mix
from curation.shards.tokenizer import encode_texts, load_tokenizer, tokenizer_info
from curation.shards.writer import ShardDoc, iter_documents, verify_shard_dir, write_shard_dir
from curation.stages.shards import ShardStage


@pytest.fixture(scope="module")
def docs(rows, tokenizer_path):
    info = tokenizer_info(tokenizer_path)
    _, offsets = encode_texts(load_tokenizer(tokenizer_path), [r["text"] for r in rows], info.eos_id)
    return [r["source"] for r in rows], [r["id"] for r in rows], np.diff(offsets)


def candidates(spark, docs, seed):
    sources, ids, n_tokens = docs
    table = pa.table({"source": sources, "key": mix_search.signed_keys(doc_keys(sources, ids, seed)),
                      "n_tokens": np.asarray(n_tokens, np.int64)})
    return spark.createDataFrame(table.to_pandas()).repartition(3)


@pytest.mark.parametrize("local_keys", [20_000, 7])  # 7: forces the range search down several levels
def test_spark_mix_plan_equals_the_in_memory_plan(spark, docs, monkeypatch, local_keys):
    monkeypatch.setattr(mix_search, "LOCAL_KEYS", local_keys)
    monkeypatch.setattr(mix_search, "BITS", 3)  # and LOCAL_KEYS 7: every source searched on Spark
    sources, ids, n_tokens = docs
    total = int(np.sum(n_tokens))
    mix = Mix(weights={"web": 0.5, "forum": 0.3, "wiki": 0.2}, total_tokens=total // 2, max_repetition=3)
    expected = plan_mix(mix, sources, doc_keys(sources, ids, 3), n_tokens)
    got = mix_search.plan_mix_spark(mix, candidates(spark, docs, 3))
    assert got.report() == expected.report() and got.max_share_error() < 0.01
    keys = doc_keys(sources, ids, 3)
    assert np.array_equal(got.copies(sources, keys), expected.copies(sources, keys))
    assert any(0 < c < 1 for c in [r["document_copies"] / r["available_docs"] for r in got.report().values()])


def test_executor_writer_gives_the_sequential_writers_bytes(spark, tmp_path, tokenize_run, tokenizer_path):
    """The stage without a mix writes every training document once in key order: the same documents written in
    that order by the one-process writer give byte-identical shards (boundaries cut on the global position)."""
    tokenized = tokenize_run[0]
    from tests.curation.conftest import apply_stage

    params = ShardStage.Params(tokenizer=tokenizer_path, shard_tokens=40_000)
    apply_stage(ShardStage(params), tokenized.repartition(3), spark, tmp_path / "spark", seed=4)
    art = tmp_path / "spark" / "_artifacts"
    info = tokenizer_info(tokenizer_path)
    rows = tokenized.select("source", "id", "tokens", "text").collect()
    from curation.shards.mixing import copy_order_keys

    keys = copy_order_keys(doc_keys([r["source"] for r in rows], [r["id"] for r in rows], 4), np.zeros(len(rows)))
    def content(r):  # ties (the same source and id twice) go by a hash of the tokens, then the tokens
        data = np.asarray(r["tokens"], info.dtype).tobytes()
        return np.uint64(xxhash.xxh64_intdigest(data)).view(np.int64), data

    ordered = sorted(zip(keys.tolist(), rows), key=lambda kr: (kr[0], *content(kr[1])))
    seq = [ShardDoc(r["source"], np.asarray(r["tokens"], info.dtype), len(r["text"].encode())) for _, r in ordered]
    manifest = read_manifest(str(art))
    write_shard_dir(str(tmp_path / "seq"), seq, info, 40_000, {k: manifest[k] for k in ("split", "seed", "mix")})
    names = [f for f in os.listdir(tmp_path / "seq")]
    assert len(manifest["shards"]) > 3
    assert filecmp.cmpfiles(art, tmp_path / "seq", names, shallow=False)[1:] == ([], [])
    assert verify_shard_dir(str(art)) == []


def test_per_source_dirs_hold_the_whole_pool_and_licenses_add_up(spark, tmp_path, tokenize_run, tokenizer_path):
    from pyspark.sql import functions as F

    from tests.curation.conftest import apply_stage

    tokenized = tokenize_run[0]
    licensed = tokenized.withColumn("license", F.when(F.col("source") == "web", F.lit("cc-by"))
                                    .when(F.col("source") == "code", F.lit("mit")))  # others: null
    (tmp_path / "mix.yaml").write_text("total_tokens: 200000\nweights: {web: 0.6, forum: 0.4}\n")
    params = ShardStage.Params(tokenizer=tokenizer_path, mix=str(tmp_path / "mix.yaml"), shard_tokens=50_000,
                               eval_fraction=0.1, per_source_dirs=True)
    kept, rejected, stats = apply_stage(ShardStage(params), licensed, spark, tmp_path / "out", seed=2)
    art = str(tmp_path / "out" / "_artifacts")
    train = {r["source"]: (r["n"], r["t"]) for r in kept.unionByName(rejected, allowMissingColumns=True)
             .where("split = 'train'").groupBy("source").agg(F.count("*").alias("n"), F.sum("n_tokens").alias("t"))
             .collect()}
    # every source, in the mix or not, sampled or not: its whole training pool, each document once
    assert set(os.listdir(os.path.join(art, "sources"))) == set(train)
    for source, (n, t) in train.items():
        m = read_manifest(os.path.join(art, "sources", source))
        assert (m["split"], m["source"], m["documents"], m["tokens"]) == ("train", source, n, t)
        assert sum(1 for _ in iter_documents(os.path.join(art, "sources", source))) == n
    assert train["forum"][0] > stats["mix"]["forum"]["document_copies"]  # the mix sampled forum down
    manifest = read_manifest(art)
    licenses = manifest["licenses"]
    assert set(licenses) == {"cc-by", "unknown"} and sum(v["tokens"] for v in licenses.values()) == manifest["tokens"]
    assert licenses["cc-by"]["tokens"] == manifest["sources"]["web"]["tokens"]
    assert stats["tokens_by_license"] == {k: v["tokens"] for k, v in licenses.items()}
    code = read_manifest(os.path.join(art, "sources", "code"))["licenses"]
    assert list(code) == ["mit"]
