"""Write small token shard directories from raw texts, in-process: for tests, benchmarks and quick experiments.

The pipeline's shards come from the Spark tokenize stage and shard writer; this writes the same format
(``curation/shard_format.py``) for a few megabytes of text without Spark.
"""
from __future__ import annotations

import hashlib
import json
import os

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from curation.jsonl_reader import jsonl_records
from curation.shard_format import (FORMAT_NAME, FORMAT_VERSION, MANIFEST, dtype_for_vocab, sha256_file,
                                   shard_names, write_shard)

EOS = "<|endoftext|>"


def read_texts(path: str, max_bytes: int, max_doc_bytes: int) -> list[str]:
    """Texts of a JSONL corpus (plain, .gz or .zst), each cut to ``max_doc_bytes``, until ``max_bytes`` in all."""
    texts, total = [], 0
    for record in jsonl_records(path, {}):
        if record.get("reason") or not record.get("text"):
            continue
        text = record["text"].encode()[:max_doc_bytes].decode(errors="ignore")
        texts.append(text)
        total += len(text.encode())
        if total >= max_bytes:
            break
    return texts


def train_byte_bpe(texts: list[str], vocab_size: int) -> Tokenizer:
    """A byte-level BPE tokenizer with ``<|endoftext|>`` as its only special token."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(texts, trainer)
    return tokenizer


def write_text_shards(texts: list[str], tokenizer: Tokenizer, out_dir: str, source: str,
                      docs_per_shard: int = 1 << 30) -> dict:
    """Tokenize ``texts`` (EOS after each) into ``out_dir`` as one source's shards; returns the manifest."""
    os.makedirs(out_dir, exist_ok=True)
    eos_id = tokenizer.token_to_id(EOS)
    vocab_size = tokenizer.get_vocab_size()
    dtype = dtype_for_vocab(vocab_size)
    shards = []
    for i, start in enumerate(range(0, len(texts), docs_per_shard)):
        chunk = texts[start:start + docs_per_shard]
        bin_name, idx_name = shard_names(i)
        bin_path, idx_path = os.path.join(out_dir, bin_name), os.path.join(out_dir, idx_name)
        docs = [enc.ids + [eos_id] for enc in tokenizer.encode_batch(chunk)]
        documents, tokens = write_shard(bin_path, idx_path, docs, dtype)
        shards.append({"bin": bin_name, "idx": idx_name, "documents": documents, "tokens": tokens,
                       "bytes": sum(len(t.encode()) for t in chunk),
                       "sha256": {"bin": sha256_file(bin_path), "idx": sha256_file(idx_path)}})
    manifest = {
        "format": FORMAT_NAME, "version": FORMAT_VERSION, "dtype": dtype.name,
        "tokenizer": {"sha256": hashlib.sha256(tokenizer.to_str().encode()).hexdigest(),
                      "vocab_size": vocab_size, "eos_id": eos_id},
        "seed": None, "mix": {source: 1.0},
        "sources": {source: {key: sum(s[key] for s in shards) for key in ("documents", "tokens", "bytes")}},
        "shards": shards,
    }
    with open(os.path.join(out_dir, MANIFEST), "w") as f:
        json.dump(manifest, f, indent=2)
    return manifest
