"""Token shard directories from a few megabytes of raw text, in-process: for tests, benchmarks and quick experiments.

The pipeline writes shards with the Spark ``shards`` stage; this uses the same tokenizer and shard-directory
writer (``curation/shards/tokenizer.py``, ``curation/shards/writer.py``) without Spark.
:func:`build_source_shards` makes a whole mixture-search pool from texts per source: a byte-level BPE trained on
them, ``<out>/<source>/`` training shards and ``<out>/eval/<source>/`` held-out shards.
"""
from __future__ import annotations

import os

from curation.readers.jsonl import jsonl_records
from curation.shards.writer import ShardDoc, write_shard_dir
from curation.shards.tokenizer import TokenizerInfo, encode_texts, load_tokenizer, train_byte_level_bpe


def read_texts(path: str, max_bytes: int, max_doc_bytes: int) -> list[str]:
    """Texts of a JSONL corpus (plain, .gz or .zst), each cut to ``max_doc_bytes``, until ``max_bytes`` in all."""
    texts, total = [], 0
    for record in jsonl_records(path, {}):
        if record["reason"] or not record["text"]:
            continue
        text = record["text"].encode()[:max_doc_bytes].decode(errors="ignore")
        texts.append(text)
        total += len(text.encode())
        if total >= max_bytes:
            break
    return texts


def write_text_shards(texts: list[str], tokenizer_path: str, info: TokenizerInfo, out_dir: str, source: str,
                      shard_tokens: int = 50_000_000) -> dict:
    """Tokenize ``texts`` (EOS after each) into ``out_dir`` as one source's shard directory; returns the manifest."""
    ids, offsets = encode_texts(load_tokenizer(tokenizer_path), texts, info.eos_id)
    docs = (ShardDoc(source, ids[start:end].astype(info.dtype), len(text.encode()))
            for text, start, end in zip(texts, offsets[:-1].tolist(), offsets[1:].tolist()))
    return write_shard_dir(out_dir, docs, info, shard_tokens, {"source": source})


def build_source_shards(texts: dict[str, list[str]], out_dir: str, vocab_size: int, eval_every: int = 8,
                        shard_tokens: int = 50_000_000) -> tuple[dict[str, str], dict[str, str]]:
    """Train a ``vocab_size`` byte-level BPE on all ``texts`` (source -> documents), hold out the first
    ``len // eval_every + 1`` documents of each source and write ``<out_dir>/<source>/`` (training) and
    ``<out_dir>/eval/<source>/`` (held-out) shard directories. Returns (sources, evals): name -> shard dir."""
    tokenizer = os.path.join(out_dir, "tokenizer.json")
    info = train_byte_level_bpe((t for ts in texts.values() for t in ts), vocab_size, tokenizer)
    sources, evals = {}, {}
    for source, source_texts in texts.items():
        held_out = len(source_texts) // eval_every + 1
        if len(source_texts) <= held_out:
            raise ValueError(f"source {source!r}: {len(source_texts)} documents, too few to hold out a set")
        sources[source] = os.path.join(out_dir, source)
        evals[source] = os.path.join(out_dir, "eval", source)
        write_text_shards(source_texts[held_out:], tokenizer, info, sources[source], source, shard_tokens)
        write_text_shards(source_texts[:held_out], tokenizer, info, evals[source], source)
    return sources, evals


DEFAULT_CORPORA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "data",
                               "corpora")


def synthetic_texts(sources: list[str], max_bytes: int, seed: int = 0) -> dict[str, list[str]]:
    """Deterministic word soup per source, each source its own Zipf-weighted vocabulary and word-pair habits: a
    stand-in corpus where no real text is available (throughput measurements, not learning quality)."""
    import numpy as np

    texts = {}
    for i, source in enumerate(sources):
        rng = np.random.default_rng([seed, i])
        letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
        words = ["".join(rng.choice(letters, rng.integers(2, 9))) for _ in range(3000)]
        probs = 1.0 / np.arange(1, len(words) + 1) ** 1.1
        probs /= probs.sum()
        docs, total = [], 0
        while total < max_bytes:
            ids = rng.choice(len(words), size=400, p=probs)
            ids[1::2] = (ids[::2][: len(ids[1::2])] * 7 + i) % len(words)  # a bigram habit per source
            doc = " ".join(words[j] for j in ids) + ".\n"
            docs.append(doc)
            total += len(doc)
        texts[source] = docs
    return texts


def corpus_texts(max_bytes: int, max_doc_bytes: int, sources: list[str] | None = None,
                 corpora_dir: str | None = None, scratch_dir: str | None = None) -> tuple[dict[str, list[str]], str]:
    """Texts per domain, up to ``max_bytes`` each, and where they came from: the shared domain corpora
    (``<corpora_dir>/<source>.jsonl.zst``, default ``../shared/data/corpora``) when present; else the built-in
    sample corpus's JSONL domains (written into ``scratch_dir``: code, books, wiki, forum); else synthetic text."""
    corpora_dir = corpora_dir or DEFAULT_CORPORA
    names = sources or ["web", "code", "books", "wiki", "papers", "forum", "docs"]
    found = {s: os.path.join(corpora_dir, f"{s}.jsonl.zst") for s in names}
    if all(os.path.isfile(p) for p in found.values()):
        return {s: read_texts(p, max_bytes, max_doc_bytes) for s, p in found.items()}, os.path.abspath(corpora_dir)
    if scratch_dir:
        try:
            from curation.sample.corpus import write_sample

            sample_dir = os.path.join(scratch_dir, "sample")
            if not os.path.isdir(os.path.join(sample_dir, "text")):
                write_sample(sample_dir)
            text_dir = os.path.join(sample_dir, "text")
            files = sorted(f for f in os.listdir(text_dir) if f.endswith(".jsonl.gz"))
            texts = {f[: -len(".jsonl.gz")]: read_texts(os.path.join(text_dir, f), max_bytes, max_doc_bytes)
                     for f in files}
            wanted = [s for s in names if s in texts]
            return {s: texts[s] for s in (wanted if len(wanted) >= 2 else texts)}, "built-in sample corpus"
        except Exception:  # noqa: BLE001 (no sample writer here: fall through to synthetic text)
            pass
    return synthetic_texts(names, max_bytes), "synthetic text"
