"""Token shard directories from a few megabytes of raw text, in-process: for tests, benchmarks and quick experiments.

The pipeline writes shards with the Spark ``shards`` stage; this uses the same tokenizer and shard-directory
writer (``curation/tokenizer.py``, ``curation/shard_writer.py``) without Spark.
"""
from __future__ import annotations

from curation.readers.jsonl import jsonl_records
from curation.shards.writer import ShardDoc, write_shard_dir
from curation.shards.tokenizer import TokenizerInfo, encode_texts, load_tokenizer


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
