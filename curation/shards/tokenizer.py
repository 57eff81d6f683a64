"""Tokenizers: load any Hugging Face ``tokenizers`` ``tokenizer.json``, train a byte-level BPE offline, and encode
Arrow batches of documents into token ids with EOS appended.

Encoding is lossless for byte-level BPE tokenizers (ours, GPT-2 style): decoding a document's ids (EOS removed)
gives back its text exactly. Special-token strings that occur inside a document (``<|endoftext|>`` typed in a
web page) are encoded as ordinary text, so a document never contains a stray EOS.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pyarrow as pa

from curation.shards.format import dtype_for_vocab, sha256_file

DEFAULT_EOS = "<|endoftext|>"
# Tried in order when the caller names no EOS token.
EOS_CANDIDATES = (DEFAULT_EOS, "</s>", "<|end_of_text|>", "<eos>", "<|eot_id|>", "[SEP]")


@dataclass(frozen=True)
class TokenizerInfo:
    """What a shard manifest records about the tokenizer."""

    sha256: str
    vocab_size: int
    eos_id: int
    eos_token: str

    @property
    def dtype(self) -> np.dtype:
        return dtype_for_vocab(self.vocab_size)

    def as_dict(self) -> dict:
        return {"sha256": self.sha256, "vocab_size": self.vocab_size, "eos_id": self.eos_id,
                "eos_token": self.eos_token}


def load_tokenizer(path: str):
    """Load a ``tokenizer.json`` (any model the ``tokenizers`` library reads)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"tokenizer file not found: {path} (train one with `curate tokenizer train`)")
    with open(path, "rb") as f:
        return tokenizer_from_json(f.read().decode("utf-8"))


def tokenizer_from_json(text: str):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(text)
    tok.encode_special_tokens = True  # special-token strings inside documents are text, not control tokens
    return tok


def resolve_eos(tok, eos_token: str | None = None) -> tuple[str, int]:
    """The EOS token and its id: ``eos_token`` if given (must exist), else the first known EOS name present."""
    names = (eos_token,) if eos_token else EOS_CANDIDATES
    for name in names:
        tid = tok.token_to_id(name)
        if tid is not None:
            return name, tid
    if eos_token:
        raise ValueError(f"EOS token {eos_token!r} is not in the tokenizer's vocabulary")
    raise ValueError(f"tokenizer has none of the usual EOS tokens {list(EOS_CANDIDATES)}; set eos_token")


def tokenizer_info(path: str, eos_token: str | None = None) -> TokenizerInfo:
    tok = load_tokenizer(path)
    name, tid = resolve_eos(tok, eos_token)
    return TokenizerInfo(sha256=sha256_file(path), vocab_size=tok.get_vocab_size(with_added_tokens=True),
                         eos_id=tid, eos_token=name)


def encode_texts(tok, texts: list[str], eos_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Encode documents, EOS appended to each. Returns (flat int32 ids, int64 offsets of length ``len(texts)+1``)."""
    encodings = tok.encode_batch_fast(texts, add_special_tokens=False)
    lengths = np.fromiter((len(e.ids) + 1 for e in encodings), dtype=np.int64, count=len(encodings))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    ids = np.empty(int(offsets[-1]), dtype=np.int32)
    for enc, start, end in zip(encodings, offsets[:-1], offsets[1:]):
        ids[start:end - 1] = enc.ids
        ids[end - 1] = eos_id
    return ids, offsets


def token_list_array(ids: np.ndarray, offsets: np.ndarray, null_mask: np.ndarray | None = None) -> pa.Array:
    """Arrow ``list<int32>`` of the documents' token ids (rows where ``null_mask`` is true are null)."""
    mask = None if null_mask is None else pa.array(null_mask)
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(ids, pa.int32()), mask=mask)


def decode_tokens(tok, ids: Iterable[int], eos_id: int) -> str:
    """Text of one document's ids (a trailing EOS is dropped)."""
    ids = [int(i) for i in ids]
    if ids and ids[-1] == eos_id:
        ids = ids[:-1]
    return tok.decode(ids, skip_special_tokens=False)


def train_byte_level_bpe(texts: Iterable[str], vocab_size: int, out_path: str, min_frequency: int = 2,
                         eos_token: str = DEFAULT_EOS, show_progress: bool = False) -> TokenizerInfo:
    """Train a GPT-2-style byte-level BPE (no normalizer, so encoding is lossless) and save it as ``out_path``.
    ``show_progress``: the trainer's own bars (word counting, merges), for a terminal."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    if vocab_size < 256 + 1:
        raise ValueError(f"vocab_size must exceed the 256 byte symbols plus EOS, got {vocab_size}")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=[eos_token],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=show_progress)
    tok.train_from_iterator(texts, trainer=trainer)
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    tok.save(out_path)
    return tokenizer_info(out_path, eos_token)


def text_sample(texts: Iterable[str], max_bytes: int) -> Iterable[str]:
    """The leading texts of a stream up to ``max_bytes`` UTF-8 bytes in all (the text that crosses it included)."""
    seen = 0
    for text in texts:
        if seen >= max_bytes:
            return
        seen += len(text.encode("utf-8"))
        yield text
