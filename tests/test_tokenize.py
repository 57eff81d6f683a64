"""Tokenizer loading/training and the tokenize stage, on real documents of the shared corpora."""
import json

import numpy as np
import pyarrow as pa
import pytest
import zstandard
from typer.testing import CliRunner

from conftest import shared_path
from curation.schema import DOC_SCHEMA, rows_to_batch
from curation.shards.format import sha256_file
from curation.pipeline.stage import StageContext
from curation.stages.tokenize import NO_TEXT, TokenizeStage, tokenize_batch, tokenized_schema
from curation.shards.tokenizer import (decode_tokens, encode_texts, load_tokenizer, resolve_eos, tokenizer_info,
                                train_byte_level_bpe)
from curation.cli.tokenizer import app as tokenizer_app

# (corpus, documents taken from its start): ~1.5 MB of text, every domain but the 1 MB-per-document books
SAMPLE = {"web": 120, "code": 60, "forum": 200, "wiki": 8, "papers": 6, "docs": 25}


def corpus_rows(sample: dict[str, int] = SAMPLE) -> list[dict]:
    """Leading documents of shared corpora as document rows (id, text, source)."""
    rows = []
    for corpus, n in sample.items():
        raw = zstandard.ZstdDecompressor().decompressobj().decompress(
            shared_path("corpora", f"{corpus}.jsonl.zst").read_bytes())
        for line in raw.decode("utf-8").split("\n")[:n]:
            obj = json.loads(line)
            rows.append({"id": obj["id"], "text": obj["text"], "source": corpus})
    return rows


def run_stage(stage, df, spark, out, seed=0):
    """Apply a stage the way the runner does: write ``combined`` once, split on ``reason``, call after_write."""
    from pyspark.sql import functions as F

    res = stage.apply(df, StageContext(spark=spark, out=str(out), stage_name="stage", seed=seed, log=lambda _: None))
    res.combined.write.mode("overwrite").parquet(f"{out}/all")
    both = spark.read.parquet(f"{out}/all")
    both.where(F.col("reason").isNull()).drop("reason").write.mode("overwrite").parquet(f"{out}/kept")
    kept, rejected = spark.read.parquet(f"{out}/kept"), both.where(F.col("reason").isNotNull())
    stats = res.after_write(kept, rejected, f"{out}/_artifacts") if res.after_write else {}
    return kept, rejected, stats


@pytest.fixture(scope="session")
def rows():
    return corpus_rows()


@pytest.fixture(scope="session")
def tokenizer_path(tmp_path_factory, rows):
    """A 2k byte-level BPE trained through the CLI on two shared corpora."""
    out = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    result = CliRunner().invoke(tokenizer_app, [
        "train", str(shared_path("corpora", "web.jsonl.zst")), str(shared_path("corpora", "code.jsonl.zst")),
        "--vocab-size", "2048", "--max-bytes", "1500000", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return str(out)


def test_trained_tokenizer_is_lossless_on_real_documents(tokenizer_path, rows):
    info = tokenizer_info(tokenizer_path)
    assert (info.vocab_size, info.eos_token, info.dtype) == (2048, "<|endoftext|>", np.dtype("<u2"))
    tok = load_tokenizer(tokenizer_path)
    texts = [r["text"] for r in rows]
    ids, offsets = encode_texts(tok, texts, info.eos_id)
    assert len(offsets) == len(texts) + 1
    assert np.all(ids[offsets[1:] - 1] == info.eos_id)  # EOS closes every document ...
    assert np.count_nonzero(ids == info.eos_id) == len(texts)  # ... and occurs nowhere else
    for i, text in enumerate(texts):
        assert decode_tokens(tok, ids[offsets[i]:offsets[i + 1]], info.eos_id) == text


def test_training_is_deterministic_and_special_strings_stay_text(tmp_path, rows):
    texts = [r["text"] for r in rows[:300]]
    a = train_byte_level_bpe(texts, 600, str(tmp_path / "a.json"))
    b = train_byte_level_bpe(texts, 600, str(tmp_path / "b.json"))
    assert a.sha256 == b.sha256
    tok = load_tokenizer(str(tmp_path / "a.json"))
    text = "a web page that talks about <|endoftext|> tokens"
    ids, _ = encode_texts(tok, [text], a.eos_id)
    assert list(ids).count(a.eos_id) == 1 and decode_tokens(tok, ids, a.eos_id) == text


def test_any_tokenizer_json_loads_with_its_eos_and_a_large_vocab_needs_uint32(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"<unk>": 0, "</s>": 1, **{f"w{i}": i + 2 for i in range(70_000)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    path = str(tmp_path / "wordlevel.json")
    tok.save(path)
    info = tokenizer_info(path)
    assert (info.eos_token, info.eos_id, info.dtype) == ("</s>", 1, np.dtype("<u4"))
    ids, _ = encode_texts(load_tokenizer(path), ["w69999 w5 nope"], info.eos_id)
    assert ids.tolist() == [70_001, 7, 0, 1]
    with pytest.raises(ValueError, match="not in the tokenizer"):
        resolve_eos(load_tokenizer(path), "<|endoftext|>")


def test_tokenize_batch_counts_tokens_and_rejects_missing_text(tokenizer_path, rows):
    info = tokenizer_info(tokenizer_path)
    batch = rows_to_batch(rows[:50] + [{"id": "empty", "text": None, "source": "web"}], DOC_SCHEMA)
    out = tokenize_batch(batch, load_tokenizer(tokenizer_path), info.eos_id, tokenized_schema(batch.schema.names))
    assert out.column("id").to_pylist() == batch.column("id").to_pylist()
    n_tokens = out.column("n_tokens").to_pylist()
    assert n_tokens[:50] == [len(t) for t in out.column("tokens").to_pylist()[:50]]
    assert out.column("reason").to_pylist() == [None] * 50 + [NO_TEXT]
    assert n_tokens[50] is None and out.column("tokens")[50].as_py() is None


@pytest.fixture(scope="session")
def tokenize_run(spark, tmp_path_factory, rows, tokenizer_path):
    """The sample through the Spark tokenize stage, plus a document without text and a second document under an
    id already used: (kept, rejected, stats)."""
    extra = [{"id": "no-text", "source": "web"},
             {"id": rows[0]["id"], "text": rows[0]["text"] + " (second copy of the id)", "source": "web"}]
    table = pa.Table.from_batches([rows_to_batch(rows + extra, DOC_SCHEMA)])
    stage = TokenizeStage(TokenizeStage.Params(tokenizer=tokenizer_path))
    return run_stage(stage, spark.createDataFrame(table).repartition(3), spark, tmp_path_factory.mktemp("tokenized"))


def test_tokenize_stage_on_spark_reports_tokens_per_source(tokenize_run, tokenizer_path, rows):
    kept, rejected, stats = tokenize_run
    assert [r["id"] for r in rejected.collect()] == ["no-text"]
    info = tokenizer_info(tokenizer_path)
    texts = [r["text"] for r in rows] + [rows[0]["text"] + " (second copy of the id)"]
    ids, offsets = encode_texts(load_tokenizer(tokenizer_path), texts, info.eos_id)
    expected = {}
    for source, text, n in zip([r["source"] for r in rows] + ["web"], texts, np.diff(offsets)):
        e = expected.setdefault(source, {"docs": 0, "tokens": 0, "bytes": 0})
        e["docs"] += 1
        e["tokens"] += int(n)
        e["bytes"] += len(text.encode())
    assert stats["by_source"] == dict(sorted(expected.items()))
    assert stats["tokens"] == len(ids) and stats["tokenizer"]["sha256"] == sha256_file(tokenizer_path)
    first = kept.where(kept.text == rows[0]["text"]).collect()
    assert [r["tokens"] for r in first] == [ids[:offsets[1]].tolist()] and first[0]["n_tokens"] == offsets[1]
