"""Benchmark decontamination: word n-grams of evaluation sets, looked up in every document.

Text is normalised (NFKC, lowercase, words = runs of letters and digits), each word hashed (xxh3-64), and each
n-gram hashed from its words' hashes (a polynomial over 64-bit integers, vectorised in numpy). An evaluation set is a
sorted, de-duplicated ``uint64`` array of its n-gram hashes; a document matches a benchmark when it shares at least
``min_matches`` n-grams with it. An evaluation text shorter than ``n`` words (but at least ``min_words``) adds the
hash of all its words as one shorter n-gram, found in documents that contain those words in a row; shorter texts
are ignored (and counted). Paragraph removal drops every paragraph (text
between blank lines) that holds a matching n-gram.
"""
from __future__ import annotations

import json
import re
import unicodedata
from typing import Iterable, Iterator

import numpy as np
import pyarrow as pa
import xxhash

_WORD = re.compile(r"[^\W_]+")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n")
_MUL = np.uint64(0x9E3779B97F4A7C15)
MATCHES_TYPE = pa.map_(pa.string(), pa.int32())


def words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower())


def _word_hashes(ws: list[str]) -> np.ndarray:
    return np.fromiter((xxhash.xxh3_64_intdigest(w.encode()) for w in ws), dtype=np.uint64, count=len(ws))


def ngram_hashes(ws: list[str], n: int) -> np.ndarray:
    """Hashes of the word n-grams of ``ws`` in order (empty when there are fewer than ``n`` words)."""
    if len(ws) < n:
        return np.empty(0, dtype=np.uint64)
    h = _word_hashes(ws)
    count = len(ws) - n + 1
    out = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            out = out * _MUL + h[k:k + count]
    return out


def text_ngrams(text: str, n: int, min_words: int) -> np.ndarray:
    """Unique n-gram hashes of an evaluation text; a text of ``min_words`` to ``n - 1`` words gives the hash of all
    its words, a shorter one nothing."""
    ws = words(text)
    if len(ws) < min(n, min_words):
        return np.empty(0, dtype=np.uint64)
    return np.unique(ngram_hashes(ws, min(n, len(ws))))


def read_texts(path: str, text_field: str) -> Iterator[str]:
    """The ``text_field`` of every record of a JSONL (plain or compressed) or Parquet file."""
    from curation.readers.file_source import open_binary, open_text_stream

    if path.lower().endswith(".parquet"):
        import pyarrow.parquet as pq

        with open_binary(path, random_access=True) as fh:
            table = pq.read_table(fh, columns=[text_field])
        yield from (t for t in table.column(text_field).to_pylist() if isinstance(t, str))
        return
    with open_text_stream(path) as stream:
        for line_no, raw in enumerate(stream, start=1):
            if not raw.strip():
                continue
            try:
                value = json.loads(raw).get(text_field)
            except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as exc:
                raise ValueError(f"{path}:{line_no}: not a JSON object ({exc})") from None
            if isinstance(value, str):
                yield value


def build_index(texts: Iterable[str], n: int, min_words: int) -> tuple[np.ndarray, list[int], dict]:
    """(sorted unique n-gram hashes of the texts, the shorter n-gram lengths short texts added, {texts, short_texts,
    ignored_texts, ngrams})."""
    parts, texts_read, ignored, short, short_lengths = [], 0, 0, 0, set()
    for text in texts:
        texts_read += 1
        grams = text_ngrams(text, n, min_words)
        length = len(words(text))
        if not len(grams):
            ignored += 1
        elif length < n:
            short += 1
            short_lengths.add(length)
        parts.append(grams)
    index = np.unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.uint64)
    return index, sorted(short_lengths), {"texts": texts_read, "short_texts": short,
                                          "ignored_texts": ignored, "ngrams": int(len(index))}


def _lengths_present(index: np.ndarray, hashes: np.ndarray) -> np.ndarray:
    if len(index) == 0 or len(hashes) == 0:
        return np.zeros(len(hashes), dtype=bool)
    pos = np.searchsorted(index, hashes)
    pos[pos == len(index)] = 0
    return index[pos] == hashes


def match_text(text: str, indexes: dict[str, np.ndarray], n: int, short_lengths: Iterable[int] = ()
               ) -> tuple[dict[str, int], np.ndarray]:
    """(benchmark -> matching n-gram count for those that match, boolean per word: covered by a matching n-gram)."""
    ws = words(text)
    covered = np.zeros(len(ws), dtype=bool)
    matches: dict[str, int] = {}
    for length in sorted({n, *short_lengths}):
        grams = ngram_hashes(ws, length)
        if not len(grams):
            continue
        for name, index in indexes.items():
            hit = _lengths_present(index, grams)
            count = int(hit.sum())
            if count:
                matches[name] = matches.get(name, 0) + count
                for start in np.flatnonzero(hit):
                    covered[start:start + length] = True
    return matches, covered


def drop_paragraphs(text: str, indexes: dict[str, np.ndarray], n: int, short_lengths: Iterable[int] = ()) -> str:
    """``text`` without the paragraphs that hold a matching n-gram (an n-gram spanning two paragraphs drops both)."""
    pieces = _PARAGRAPH_BREAK.split(text)
    seps = _PARAGRAPH_BREAK.findall(text)
    _, covered = match_text(text, indexes, n, short_lengths)
    out, word_pos = [], 0
    for i, piece in enumerate(pieces):
        count = len(words(piece))
        if not covered[word_pos:word_pos + count].any():
            out.append((seps[i - 1] if out and i > 0 else "") + piece)
        word_pos += count
    return "".join(out)


def decontam_batch(batch: pa.RecordBatch, indexes: dict[str, np.ndarray], n: int, min_matches: int,
                   short_lengths: tuple[int, ...], remove_paragraphs: bool) -> pa.RecordBatch:
    """The batch with ``contam_matches`` (benchmark -> n-grams shared, matching benchmarks only) and
    ``contaminated`` (any benchmark with at least ``min_matches``) appended; with ``remove_paragraphs`` the matching
    paragraphs are also cut from ``text``."""
    texts, all_matches, flags = [], [], []
    for text in batch.column("text").to_pylist():
        matches, _ = match_text(text or "", indexes, n, short_lengths)
        matches = {k: v for k, v in matches.items() if v >= min_matches}
        if matches and remove_paragraphs:
            text = drop_paragraphs(text, indexes, n, short_lengths)
        texts.append(text)
        all_matches.append(list(sorted(matches.items())))
        flags.append(bool(matches))
    names = [c for c in batch.schema.names if c not in ("contam_matches", "contaminated")]
    arrays = [pa.array(texts, pa.string()) if c == "text" else batch.column(c) for c in names]
    fields = [batch.schema.field(c) for c in names]
    return pa.RecordBatch.from_arrays(
        [*arrays, pa.array(all_matches, MATCHES_TYPE), pa.array(flags, pa.bool_())],
        schema=pa.schema([*fields, pa.field("contam_matches", MATCHES_TYPE), pa.field("contaminated", pa.bool_())]))
