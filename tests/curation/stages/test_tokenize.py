"""Tokenizer loading/training and the tokenize stage, on real documents of the shared corpora."""

import numpy as np
import pytest

from curation.schema import DOC_SCHEMA, rows_to_batch
from curation.shards.format import sha256_file
from curation.shards.tokenizer import (decode_tokens, encode_texts, load_tokenizer, resolve_eos, tokenizer_info,
                                       train_byte_level_bpe)
from curation.stages.tokenize import NO_TEXT, tokenize_batch, tokenized_schema


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
