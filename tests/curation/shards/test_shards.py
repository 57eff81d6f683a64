"""Shard writing, verification, Megatron export, and the shards stage on Spark (round trip, determinism, eval)."""
import filecmp
import json
import os
import struct
from collections import Counter

import numpy as np
import pytest

from curation.shards.format import read_manifest
from curation.shards.megatron import export_megatron
from curation.shards.mixing import NOT_SAMPLED
from curation.shards.tokenizer import decode_tokens, encode_texts, load_tokenizer, tokenizer_info
from curation.shards.writer import ShardDoc, iter_documents, verify_shard_dir, write_shard_dir
from curation.stages.shards import ShardStage


@pytest.fixture(scope="module")
def encoded(rows, tokenizer_path):
    info = tokenizer_info(tokenizer_path)
    ids, offsets = encode_texts(load_tokenizer(tokenizer_path), [r["text"] for r in rows], info.eos_id)
    docs = [ShardDoc(r["source"], ids[a:b].astype(info.dtype), len(r["text"].encode()))
            for r, a, b in zip(rows, offsets[:-1], offsets[1:])]
    return info, docs


def test_shards_roll_over_at_the_size_and_verify(tmp_path, encoded):
    info, docs = encoded
    manifest = write_shard_dir(str(tmp_path), iter(docs), info, 100_000, {"split": "train", "seed": 0})
    sizes = [s["tokens"] for s in manifest["shards"]]
    assert len(sizes) > 3
    # a document goes into the shard of (its first token's position) // shard_tokens
    starts = np.cumsum([0] + [len(d.tokens) for d in docs])[:-1] // 100_000
    assert [s["documents"] for s in manifest["shards"]] == np.unique(starts, return_counts=True)[1].tolist()
    assert [d.tolist() for d in iter_documents(str(tmp_path))] == [d.tokens.tolist() for d in docs]
    assert manifest["tokens"] == sum(len(d.tokens) for d in docs) and manifest["dtype"] == "uint16"
    assert manifest["sources"]["web"]["bytes"] == sum(d.n_bytes for d in docs if d.source == "web")
    assert read_manifest(str(tmp_path)) == manifest
    assert verify_shard_dir(str(tmp_path)) == []
    with open(tmp_path / "shard-00001.bin", "r+b") as f:
        f.seek(10)
        f.write(b"\xff\xff")
    problems = verify_shard_dir(str(tmp_path))
    assert any("shard-00001.bin: sha256" in p for p in problems)
    assert any("outside the vocabulary" in p for p in problems)


def test_megatron_export_follows_the_mmap_indexed_dataset_layout(tmp_path, encoded):
    info, docs = encoded
    write_shard_dir(str(tmp_path / "s"), iter(docs[:300]), info, 50_000, {"split": "train", "seed": 0})
    bin_path, idx_path = export_megatron(str(tmp_path / "s"), str(tmp_path / "mg" / "train"))
    raw = open(idx_path, "rb").read()
    assert raw[:9] == b"MMIDIDX\x00\x00"
    version, code, n_seq, n_doc_idx = struct.unpack("<QBQQ", raw[9:34])
    assert (version, code, n_seq, n_doc_idx) == (1, 8, 300, 301)
    sizes = np.frombuffer(raw, "<i4", n_seq, 34)
    pointers = np.frombuffer(raw, "<i8", n_seq, 34 + 4 * n_seq)
    doc_idx = np.frombuffer(raw, "<i8", n_doc_idx, 34 + 12 * n_seq)
    assert len(raw) == 34 + 12 * n_seq + 8 * n_doc_idx and doc_idx.tolist() == list(range(301))
    data = np.fromfile(bin_path, dtype="<u2")
    for doc, size, ptr in zip(docs[:300], sizes, pointers):
        assert data[ptr // 2:ptr // 2 + size].tolist() == doc.tokens.tolist()


@pytest.fixture(scope="module")
def tokenized(tokenize_run):
    return tokenize_run[0]


def test_shards_stage_round_trip_determinism_and_eval_split(spark, tmp_path, tokenized, tokenizer_path, run_stage):
    web_tokens = tokenized.where("source = 'web'").groupBy().sum("n_tokens").first()[0]
    # web is upsampled about 1.5x, the others sampled down
    (tmp_path / "mix.yaml").write_text(f"""
total_tokens: {int(web_tokens * 1.5 / 0.45)}
max_repetition: {{web: 2, forum: 3, wiki: 3, code: 1}}
weights: {{web: 0.45, forum: 0.25, wiki: 0.2, code: 0.1}}
""")
    params = ShardStage.Params(tokenizer=tokenizer_path, mix=str(tmp_path / "mix.yaml"), shard_tokens=60_000,
                               eval_fraction=0.05, megatron=True)
    outs = {}
    for n in (1, 4):
        outs[n] = run_stage(ShardStage(params), tokenized.repartition(n), spark, tmp_path / f"p{n}", seed=11)
    art1, art4 = str(tmp_path / "p1" / "_artifacts"), str(tmp_path / "p4" / "_artifacts")

    # byte-identical artifacts (shards, eval shards, manifests, Megatron files) whatever the partitioning
    names = sorted(os.path.relpath(os.path.join(d, f), art1) for d, _, fs in os.walk(art1) for f in fs)
    assert names == sorted(os.path.relpath(os.path.join(d, f), art4) for d, _, fs in os.walk(art4) for f in fs)
    assert "eval/wiki/manifest.json" in names and "megatron/shard-00000.idx" in names
    match, mismatch, errors = filecmp.cmpfiles(art1, art4, names, shallow=False)
    assert mismatch == [] and errors == []

    kept, rejected, stats = outs[1]
    assert kept.count() + rejected.count() == tokenized.count()
    reasons = Counter(r["reason"] for r in rejected.select("reason").collect())
    assert set(reasons) == {NOT_SAMPLED, "mix: source not in mix"}
    outside = "source NOT IN ('web','forum','wiki','code')"
    assert reasons["mix: source not in mix"] == (tokenized.where(outside).count()
                                                 - kept.where(f"split = 'eval' AND {outside}").count())

    # round trip: the decoded shards are exactly the kept training documents, each mix_copies times
    tok, eos = load_tokenizer(tokenizer_path), tokenizer_info(tokenizer_path).eos_id
    train = kept.where("split = 'train'").select("text", "mix_copies", "source").collect()
    expected = Counter()
    for r in train:
        expected[r["text"]] += r["mix_copies"]
    assert Counter(decode_tokens(tok, d, eos) for d in iter_documents(art1)) == expected
    assert max(r["mix_copies"] for r in train if r["source"] == "web") == 2
    assert max(r["mix_copies"] for r in train if r["source"] == "code") == 1

    # achieved shares within 1% of requested; the manifest says so too
    manifest = read_manifest(art1)
    assert stats["max_share_error"] < 0.01 and manifest["mix"]["report"] == stats["mix"]
    assert {s: v["tokens"] for s, v in manifest["sources"].items()} == {
        s: r["achieved_tokens"] for s, r in stats["mix"].items()}
    assert manifest["seed"] == 11 and manifest["mix"]["spec"]["weights"]["web"] == 0.45
    assert verify_shard_dir(art1) == []

    # eval: held-out documents of each source, never in the training shards
    held = kept.where("split = 'eval'").select("source", "text").collect()
    for source in {r["source"] for r in held}:
        texts = Counter(decode_tokens(tok, d, eos) for d in iter_documents(os.path.join(art1, "eval", source)))
        assert texts == Counter(r["text"] for r in held if r["source"] == source)
        assert not set(texts) & set(expected)
    assert {r["source"] for r in held} >= {"web", "forum"}

    # the decoded first document is a real document of the sample, in the seeded shuffle order
    first = next(iter_documents(art1))
    assert decode_tokens(tok, first, eos) in expected


def test_shards_stage_refuses_an_impossible_mix_naming_the_source(spark, tmp_path, tokenized, tokenizer_path):
    from curation.pipeline.stage import StageContext
    from curation.shards.mixing import MixError

    (tmp_path / "mix.yaml").write_text("total_tokens: 5000000\nweights: {papers: 1, web: 1}\n")
    stage = ShardStage(ShardStage.Params(tokenizer=tokenizer_path, mix=str(tmp_path / "mix.yaml")))
    with pytest.raises(MixError, match="source 'papers' needs 2,500,000 tokens"):
        stage.apply(tokenized, StageContext(spark=spark, out=str(tmp_path), stage_name="shards"))


SPEC = """
out: {out}
seed: 5
spark: {{driver_memory: 1g}}
inputs:
  - {{format: jsonl, path: "{inputs}/*.jsonl"}}  # each record names its source
stages:
  ingest: {{}}
  tokenize: {{tokenizer: "{tok}", train_vocab_size: 1024, train_max_bytes: 400000}}
  shards: {{tokenizer: "{tok}", mix: "{mix}", shard_tokens: 100000, eval_fraction: 0.1, per_source_dirs: true}}
"""


def test_pipeline_run_trains_a_tokenizer_and_writes_mixed_shards(spark, tmp_path, rows):
    from curation.pipeline.runner import Runner
    from curation.pipeline.spec import load_spec

    inputs = tmp_path / "in"
    inputs.mkdir()
    for source in ("web", "wiki", "docs"):
        (inputs / f"{source}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows if r["source"] == source))
    (tmp_path / "mix.yaml").write_text("weights: {web: 0.7, wiki: 0.3}\nmax_repetition: {web: 1, wiki: 3}\n")
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(SPEC.format(out=tmp_path / "run", inputs=inputs, tok=tmp_path / "tok.json",
                                     mix=tmp_path / "mix.yaml"))
    result = Runner(load_spec(spec_path), spark, log=lambda _: None).run()
    stats = {o.name: o.stats for o in result.outcomes}
    assert stats["tokenize"]["extra"]["tokenizer"]["vocab_size"] == 1024
    shards = str(tmp_path / "run" / "shards" / "_artifacts")
    manifest = read_manifest(shards)
    report = manifest["mix"]["report"]
    # no budget given: web (scarcer for its share) is used once, wiki repeated to keep the 70/30 split
    assert report["web"]["repetition"] == pytest.approx(1.0, abs=0.01) and report["wiki"]["repetition"] > 1
    assert stats["shards"]["extra"]["max_share_error"] < 0.01
    assert stats["shards"]["rejected"] == stats["shards"]["reasons"]["mix: source not in mix"] > 0  # the docs
    assert stats["shards"]["kept"] + stats["shards"]["rejected"] == stats["tokenize"]["kept"]
    assert verify_shard_dir(shards) == [] and "web" in os.listdir(os.path.join(shards, "eval"))
    assert manifest["tokens"] == sum(r["achieved_tokens"] for r in report.values())
    # a rerun skips every stage, although the first run created the tokenizer file
    assert all(o.resumed for o in Runner(load_spec(spec_path), spark, log=lambda _: None).run().outcomes)
    # per-source directories: each training document once, unmixed
    for source in ("web", "wiki"):
        unmixed = read_manifest(os.path.join(shards, "sources", source))
        assert (unmixed["split"], unmixed["tokens"]) == ("train", report[source]["available_tokens"])
