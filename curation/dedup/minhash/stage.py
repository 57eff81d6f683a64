"""MinHash-LSH near-duplicate detection as one stage: signatures, band buckets, exact-Jaccard verification,
connected components on Spark and a deterministic keep policy per cluster.

Per document (pure functions over Arrow batches, compiled with numba):
  normalize   Unicode NFKC (optional), lowercase, every run of non-word characters (``[\\W_]``: anything but
              letters and digits) becomes one space;
  shingles    word n-grams (default 5; a document of 1..n-1 words is one shingle, an empty one has none),
              each hashed to 64 bits (FNV-1a per word, murmur3 finaliser chained over the n words);
  signature   ``num_perm`` seeded permutations ``a*h + b mod 2**64`` (``a`` odd, so each is a bijection), the
              minimum per permutation;
  bands       ``bands`` groups of ``rows`` minima, each hashed to one 64-bit bucket key.
On Spark: documents sharing a bucket in any band are candidate pairs; with ``verify`` each candidate pair is kept
only if the exact Jaccard of its two shingle sets reaches ``threshold``; the pairs' connected components are the
duplicate clusters (:mod:`curation.dedup.components`: in one task when the graph has at most
``local_max_edges`` edges, else in distributed rounds). Each cluster keeps one document (``keep`` order);
``dup_cluster`` = id of the kept document, ``dup_cluster_size`` = members, ``dup_of`` = kept id for every other
member (null for the kept one). Removal is a later ``select`` on ``dup_of IS NULL``.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit
from pydantic import Field, model_validator
from pyspark.sql import functions as F

from curation.pipeline.stage import Stage, StageContext, StageParams, StageResult

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
MAX_NGRAM = 32
# odd multipliers weighting the words of a shingle by position: a seeded draw, fixed (shingle hashes depend on it)
_POSITION = np.random.default_rng(0x5EED).integers(0, 2**64, MAX_NGRAM, dtype=np.uint64, endpoint=False) | np.uint64(1)


def _all_code_points() -> tuple[np.ndarray, str]:
    """Every Unicode scalar value (surrogates excluded) as an array and as one string, in the same order."""
    cps = np.arange(0x110000, dtype=np.uint32)
    cps = cps[(cps < 0xD800) | (cps > 0xDFFF)]
    return cps, cps.astype("<u4").tobytes().decode("utf-32-le")


def _cached_table(name: str, build) -> np.ndarray:
    """A code-point table, kept as .npy beside numba's cache (keyed by Python's and pyarrow's versions, whose Unicode
    data it derives from): loading it takes milliseconds, building it ~0.3 CPU-s in every fresh process."""
    import os
    import sys
    from pathlib import Path

    path = Path(__file__).with_name("__pycache__") / f"{name}-py{sys.version_info[0]}{sys.version_info[1]}-pa{pa.__version__}.npy"
    try:
        return np.load(path)
    except (OSError, ValueError):
        pass
    table = build()
    try:
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, table)
        os.replace(tmp, path)
    except OSError:  # a read-only install: build it each time
        pass
    return table


@lru_cache(maxsize=1)
def word_char_table() -> np.ndarray:
    """For every Unicode code point: 1 if it is a word character (letter or digit: ``str.isalnum``), else 0.

    The complement is exactly the ``[\\W_]`` class of Python's ``re``; runs of it separate words. Built with one
    regular-expression pass over all code points (0.08 CPU-s; a loop over ``str.isalnum`` takes 0.6).
    """
    def build():
        import re

        cps, chars = _all_code_points()
        table = np.zeros(0x110000, dtype=np.uint8)
        table[cps[np.fromiter((m.start() for m in re.finditer(r"[^\W_]", chars)), dtype=np.int64)]] = 1
        return table

    return _cached_table("word-chars", build)


@lru_cache(maxsize=1)
def folding_table() -> np.ndarray:
    """For every code point: its lowercase code point (Arrow's ``utf8_lower``, one code point to one) when that is a
    word character (:func:`word_char_table`), else -1 (a separator). Int32, indexed by code point."""
    def build():
        cps, chars = _all_code_points()
        lowered = np.frombuffer(pc.utf8_lower(pa.array([chars]))[0].as_py().encode("utf-32-le"), dtype="<u4")
        if len(lowered) != len(cps):  # pragma: no cover - utf8proc maps one code point to one
            raise RuntimeError("lowercasing changed the number of code points")
        table = np.full(0x110000, -1, dtype=np.int32)
        word = word_char_table()[lowered] == 1
        table[cps[word]] = lowered[word].astype(np.int32)
        return table

    return _cached_table("folding", build)


def normalize_texts(texts: pa.Array, nfkc: bool = True) -> pa.Array:
    """Unicode NFKC (optional) of a string array; nulls become empty strings.

    Lowercasing and word splitting (every run of non-word characters is a separator) happen in the compiled
    kernels, through :func:`folding_table`: the same result as Arrow's ``utf8_lower`` first, without its pass.
    """
    texts = pc.fill_null(texts.cast(pa.large_string()), "")
    return pc.utf8_normalize(texts, "NFKC") if nfkc else texts


def _utf8_buffers(normalized: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(bytes, offsets) of a large_string array without copying: document i is bytes[offsets[i]:offsets[i+1]]."""
    arr = normalized.combine_chunks() if isinstance(normalized, pa.ChunkedArray) else normalized
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    return data, offsets


@njit(cache=True, inline="always")
def _next_char(data, i, end, folding):
    """(byte width, folded code point: lowercase, or -1 for a separator) of the UTF-8 character at ``data[i]``."""
    lead = data[i]
    if lead < 0x80:
        return 1, folding[lead]
    width = 2 if lead < 0xE0 else (3 if lead < 0xF0 else 4)
    width = min(width, end - i)
    cp = np.int64(lead & (0x7F >> width))
    for k in range(1, width):
        cp = (cp << 6) | np.int64(data[i + k] & 0x3F)
    return width, folding[cp] if cp < folding.shape[0] else -1


@njit(cache=True, inline="always")
def _put_utf8(out, o, cp):
    """Write code point ``cp`` as UTF-8 at ``out[o]``; returns the position after it."""
    if cp < 0x80:
        out[o] = cp
        return o + 1
    if cp < 0x800:
        out[o] = 0xC0 | (cp >> 6)
        out[o + 1] = 0x80 | (cp & 0x3F)
        return o + 2
    if cp < 0x10000:
        out[o] = 0xE0 | (cp >> 12)
        out[o + 1] = 0x80 | ((cp >> 6) & 0x3F)
        out[o + 2] = 0x80 | (cp & 0x3F)
        return o + 3
    out[o] = 0xF0 | (cp >> 18)
    out[o + 1] = 0x80 | ((cp >> 12) & 0x3F)
    out[o + 2] = 0x80 | ((cp >> 6) & 0x3F)
    out[o + 3] = 0x80 | (cp & 0x3F)
    return o + 4


@njit(cache=True)
def _fold_words(data, offsets, folding, out):
    """Copy each document's words, lowercased, into ``out`` separated by single spaces; returns the new offsets."""
    n_docs = offsets.shape[0] - 1
    new_offsets = np.zeros(n_docs + 1, dtype=np.int64)
    o = 0
    for d in range(n_docs):
        i, end = offsets[d], offsets[d + 1]
        pending_space = False
        while i < end:
            width, cp = _next_char(data, i, end, folding)
            if cp >= 0:
                if pending_space:
                    out[o] = 32
                    o += 1
                    pending_space = False
                o = _put_utf8(out, o, cp)
            elif o > new_offsets[d]:
                pending_space = True
            i += width
        new_offsets[d + 1] = o
    return new_offsets


def fold_words(texts: pa.Array, nfkc: bool = True) -> pa.Array:
    """The normalised documents as strings: NFKC (optional), lowercase, words joined by single spaces."""
    data, offsets = _utf8_buffers(normalize_texts(texts, nfkc))
    out = np.empty(len(data) + len(data) // 2 + 4, dtype=np.uint8)  # lowercasing grows a character by 1.5x at most
    new_offsets = _fold_words(data, offsets, folding_table(), out)
    return pa.LargeStringArray.from_buffers(len(new_offsets) - 1, pa.py_buffer(new_offsets),
                                            pa.py_buffer(out[: new_offsets[-1]]))


@njit(cache=True, inline="always")
def _mix64(x):
    x ^= x >> _S33
    x *= _M1
    x ^= x >> _S33
    x *= _M2
    x ^= x >> _S33
    return x


@njit(cache=True, inline="always")
def _fnv_utf8(h, cp):
    """FNV-1a step over the UTF-8 bytes of code point ``cp``."""
    if cp < 0x80:
        return (h ^ np.uint64(cp)) * _FNV_PRIME
    if cp < 0x800:
        h = (h ^ np.uint64(0xC0 | (cp >> 6))) * _FNV_PRIME
    elif cp < 0x10000:
        h = (h ^ np.uint64(0xE0 | (cp >> 12))) * _FNV_PRIME
        h = (h ^ np.uint64(0x80 | ((cp >> 6) & 0x3F))) * _FNV_PRIME
    else:
        h = (h ^ np.uint64(0xF0 | (cp >> 18))) * _FNV_PRIME
        h = (h ^ np.uint64(0x80 | ((cp >> 12) & 0x3F))) * _FNV_PRIME
        h = (h ^ np.uint64(0x80 | ((cp >> 6) & 0x3F))) * _FNV_PRIME
    return (h ^ np.uint64(0x80 | (cp & 0x3F))) * _FNV_PRIME


@njit(cache=True)
def _shingle_hashes(data, start, end, ngram, folding, word_hashes, out):
    """Hash the word n-grams of one UTF-8 document ``data[start:end]`` into ``out``.

    Words are maximal runs of code points that :func:`folding_table` maps to a (lowercase) word character; a word's
    hash is FNV-1a over the UTF-8 bytes of its lowercase form, left in ``word_hashes``. Returns (number of shingles
    written, number of words); ``word_hashes`` and ``out`` are scratch arrays longer than the document's word count.
    """
    n_words = 0
    h = _FNV_OFFSET
    in_word = False
    i = start
    while i < end:
        width, cp = _next_char(data, i, end, folding)
        if cp >= 0:
            h = _fnv_utf8(h, cp)
            in_word = True
        elif in_word:
            word_hashes[n_words] = h
            n_words += 1
            in_word = False
            h = _FNV_OFFSET
        i += width
    if in_word:
        word_hashes[n_words] = h
        n_words += 1
    if n_words == 0:
        return 0, 0
    span = min(ngram, n_words)
    n_out = n_words - span + 1
    for i in range(n_out):  # position-weighted sum of the word hashes (independent multiplies), then one mix
        s = np.uint64(span)
        for k in range(span):
            s += word_hashes[i + k] * _POSITION[k]
        out[i] = _mix64(s)
    return n_out, n_words


# Bucket keys carry their kind in the top bit: 0 for a band of the signature, 1 for the exact key (a hash of the
# whole normalised word sequence), so both kinds travel through one shuffle and never share a bucket.
_TOP = np.uint64(1 << 63)
_LOW63 = np.uint64((1 << 63) - 1)
_EXACT_SEED = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True)
def _band_keys(data, offsets, ngram, folding, perm_a, perm_b, bands, rows):
    """(band keys n_docs x bands, shingle counts, exact keys) of every document of a batch, all uint64.

    Band keys have the top bit clear; exact keys have it set and are equal for documents whose normalised texts
    are equal (word sequence and count), including the empty one."""
    n_docs = offsets.shape[0] - 1
    n_perm = perm_a.shape[0]
    keys = np.zeros((n_docs, bands), dtype=np.uint64)
    exact = np.zeros(n_docs, dtype=np.uint64)
    n_shingles = np.zeros(n_docs, dtype=np.int64)
    longest = 1
    for d in range(n_docs):
        longest = max(longest, offsets[d + 1] - offsets[d])
    # a document of L bytes has at most L // 2 + 1 words (a separator between words)
    word_hashes = np.empty(longest // 2 + 1, dtype=np.uint64)
    shingles = np.empty(longest // 2 + 1, dtype=np.uint64)
    mins = np.empty(n_perm, dtype=np.uint64)
    max_u64 = np.uint64(0xFFFFFFFFFFFFFFFF)
    for d in range(n_docs):
        count, n_words = _shingle_hashes(data, offsets[d], offsets[d + 1], ngram, folding, word_hashes, shingles)
        e = _EXACT_SEED
        for w in range(n_words):
            e = _mix64(e ^ word_hashes[w])
        exact[d] = _mix64(e ^ np.uint64(n_words)) | _TOP
        n_shingles[d] = count
        if count == 0:
            continue
        mins[:] = max_u64
        for i in range(count):
            h = shingles[i]
            for p in range(n_perm):
                v = perm_a[p] * h + perm_b[p]
                if v < mins[p]:
                    mins[p] = v
        for band in range(bands):
            key = np.uint64(band + 1)
            for r in range(rows):
                key = _mix64(key ^ mins[band * rows + r])
            keys[d, band] = key & _LOW63
    return keys, n_shingles, exact


@njit(cache=True)
def _shingle_sets(data, offsets, ngram, folding):
    """Every document's distinct shingle hashes, sorted: (flat uint64 array, offsets into it)."""
    n = offsets.shape[0] - 1
    longest = 1
    bound = 0
    for i in range(n):
        longest = max(longest, offsets[i + 1] - offsets[i])
        bound += (offsets[i + 1] - offsets[i]) // 2 + 1
    words = np.empty(longest // 2 + 1, dtype=np.uint64)
    scratch = np.empty(longest // 2 + 1, dtype=np.uint64)
    flat = np.empty(bound, dtype=np.uint64)
    set_offsets = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        count, _ = _shingle_hashes(data, offsets[i], offsets[i + 1], ngram, folding, words, scratch)
        distinct = np.unique(scratch[:count])
        start = set_offsets[i]
        flat[start:start + distinct.shape[0]] = distinct
        set_offsets[i + 1] = start + distinct.shape[0]
    return flat, set_offsets


@njit(cache=True)
def _set_jaccards(flat, set_offsets, rows_a, rows_b):
    """Jaccard of the sorted sets ``rows_a[i]`` and ``rows_b[i]`` of (flat, set_offsets); two empty sets: 1."""
    out = np.zeros(rows_a.shape[0], dtype=np.float64)
    for i in range(rows_a.shape[0]):
        x, x_end = set_offsets[rows_a[i]], set_offsets[rows_a[i] + 1]
        y, y_end = set_offsets[rows_b[i]], set_offsets[rows_b[i] + 1]
        size = (x_end - x) + (y_end - y)
        if size == 0:
            out[i] = 1.0
            continue
        inter = 0
        while x < x_end and y < y_end:
            if flat[x] == flat[y]:
                inter += 1
                x += 1
                y += 1
            elif flat[x] < flat[y]:
                x += 1
            else:
                y += 1
        out[i] = inter / (size - inter)
    return out


@lru_cache(maxsize=16)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The seeded permutation coefficients (a odd, b), each ``num_perm`` uint64."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2**64, size=num_perm, dtype=np.uint64, endpoint=False) | np.uint64(1)
    b = rng.integers(0, 2**64, size=num_perm, dtype=np.uint64, endpoint=False)
    return a, b


def band_keys(texts: pa.Array, ngram: int, num_perm: int, bands: int, rows: int, seed: int, nfkc: bool = True):
    """(band keys uint64 [n_docs, bands], shingle counts int64 [n_docs], exact keys uint64 [n_docs]) for a string
    array (see :func:`_band_keys`)."""
    if bands * rows > num_perm:
        raise ValueError(f"bands x rows = {bands * rows} exceeds num_perm = {num_perm}")
    _check_ngram(ngram)
    data, offsets = _utf8_buffers(normalize_texts(texts, nfkc))
    a, b = permutations(num_perm, seed)
    return _band_keys(data, offsets, ngram, folding_table(), a[: bands * rows], b[: bands * rows], bands, rows)


def pair_jaccards(texts_a: pa.Array, texts_b: pa.Array, ngram: int, nfkc: bool = True) -> np.ndarray:
    """Exact Jaccard of the normalised word-n-gram sets of ``texts_a[i]`` and ``texts_b[i]``."""
    n = len(texts_a)
    texts = pa.concat_arrays([a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a
                              for a in (texts_a.cast(pa.large_string()), texts_b.cast(pa.large_string()))])
    return row_pair_jaccards(texts, np.arange(n), np.arange(n, 2 * n), ngram, nfkc)


def row_pair_jaccards(texts: pa.Array, rows_a: np.ndarray, rows_b: np.ndarray, ngram: int,
                      nfkc: bool = True) -> np.ndarray:
    """Exact Jaccard of the word-n-gram sets of ``texts[rows_a[i]]`` and ``texts[rows_b[i]]``: each document's set
    is built once, however many pairs it is in (only the documents of some pair are read)."""
    _check_ngram(ngram)
    needed = np.unique(np.concatenate([rows_a, rows_b]))
    data, offsets = _utf8_buffers(normalize_texts(pc.take(texts, pa.array(needed)), nfkc))
    flat, set_offsets = _shingle_sets(data, offsets, ngram, folding_table())
    return _set_jaccards(flat, set_offsets, np.searchsorted(needed, rows_a), np.searchsorted(needed, rows_b))


def _check_ngram(ngram: int) -> None:
    if not 1 <= ngram <= MAX_NGRAM:
        raise ValueError(f"ngram must be 1..{MAX_NGRAM}, got {ngram}")


def shingle_hashes(text: str, ngram: int = 5, nfkc: bool = True) -> np.ndarray:
    """The distinct 64-bit shingle hashes of one document, sorted (what signatures and verification see)."""
    _check_ngram(ngram)
    data, offsets = _utf8_buffers(normalize_texts(pa.array([text], pa.large_string()), nfkc))
    scratch = np.empty(len(data) // 2 + 2, dtype=np.uint64)
    out = np.empty(len(data) // 2 + 2, dtype=np.uint64)
    count, _ = _shingle_hashes(data, offsets[0], offsets[1], ngram, folding_table(), scratch, out)
    return np.unique(out[:count])


# ---- choosing bands x rows ----


def _integrate(f, lo: float, hi: float, steps: int = 201) -> np.ndarray:
    """Trapezoid integral over [lo, hi] of ``f`` evaluated on a grid, vectorised over f's other axes."""
    s = np.linspace(lo, hi, steps)
    return np.trapezoid(f(s), s, axis=-1)


def optimal_bands(threshold: float, num_perm: int, false_positive_weight: float = 0.5,
                  false_negative_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) with bands * rows <= num_perm minimising the weighted false positive / false negative
    probability mass around ``threshold`` (the criterion of datasketch's ``MinHashLSH``)."""
    b, r = np.array([(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)], float).T

    def candidate_prob(s):
        return 1.0 - (1.0 - s[None, :] ** r[:, None]) ** b[:, None]

    fp = _integrate(candidate_prob, 0.0, threshold)
    fn = _integrate(lambda s: 1.0 - candidate_prob(s), threshold, 1.0)
    best = int(np.argmin(fp * false_positive_weight + fn * false_negative_weight))
    return int(b[best]), int(r[best])


# ---- the stage ----


class MinHashParams(StageParams):
    ngram: int = Field(5, ge=1, le=MAX_NGRAM, description="words per shingle")
    num_perm: int = Field(112, ge=2, le=1024, description="permutations (hash functions) per signature")
    threshold: float = Field(0.8, gt=0.0, le=1.0, description="Jaccard similarity that makes a duplicate")
    bands: int | None = Field(None, ge=1, description="LSH bands; derived from threshold when unset")
    rows: int | None = Field(None, ge=1, description="rows per band; derived from threshold when unset")
    false_positive_weight: float | None = Field(
        None, gt=0.0, lt=1.0,
        description="weight of false positives when deriving bands x rows (false negatives: 1 - this); "
                    "default 0.005 with verification (a false candidate only costs one Jaccard), else 0.5")
    verify: bool = Field(True, description="keep a candidate pair only if its exact Jaccard >= threshold (and an "
                                           "exact pair only if the normalised texts are equal)")
    exact: bool = Field(False, description="also find exact duplicates (equal normalised text) in the same pass and "
                                           "annotate exact_dup_of, as the exact_dedup stage would; use it instead "
                                           "of an exact_dedup stage before this one")
    nfkc: bool = Field(True, description="apply Unicode NFKC before lowercasing and folding punctuation")
    seed: int | None = Field(None, description="permutation seed; the spec's seed when unset")
    keep: list[str] = Field(["quality_score desc", "length desc", "id asc"],
                            description="order that picks each cluster's kept document")
    max_bucket_pairs: int = Field(
        200, ge=2, description="buckets with more members link each to the smallest id instead of all pairs")
    broadcast_rows: int = Field(2_000_000, ge=0, description="broadcast joined side tables up to this many rows")
    local_max_chars: int = Field(
        200_000_000, ge=0,
        description="with at most local_max_edges candidate pairs whose documents hold at most this many characters, "
                    "the pairs are named and verified in one Spark task instead of by two distributed joins")
    local_max_edges: int = Field(
        1_000_000, ge=0,
        description="candidate pairs up to this many are named and verified in one Spark task (see local_max_chars) "
                    "and duplicate graphs up to this many edges get their connected components in one task (scipy); "
                    "larger ones go through distributed joins and large-star/small-star rounds (0: always distributed)")

    @model_validator(mode="after")
    def _bands_and_rows_together(self):
        if (self.bands is None) != (self.rows is None):
            raise ValueError("set both bands and rows, or neither")
        if self.bands is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands x rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        return self

    def band_layout(self) -> tuple[int, int]:
        if self.bands is not None:
            return self.bands, self.rows
        fp = self.false_positive_weight or (0.005 if self.verify else 0.5)
        return optimal_bands(self.threshold, self.num_perm, fp, 1.0 - fp)


# Documents travel through the bucket shuffle as 64-bit handles (Spark's xxhash64 of the id), not id strings.
# Handles map back to ids on the candidates only; two ids sharing a handle both come back, so a collision can only
# add candidate pairs (which verification then scores), never lose one.
#
# The (bucket key, handle) rows are not shuffled one Spark row each: every signature batch packs them into one row
# per bucket group ``g`` (a slice of the key space: all rows of one key share a group), whose binary payload holds
# the group's (key, handle) pairs as little-endian int64. Spark then moves a few large rows per batch instead of
# ``bands`` rows per document; on the 100k benchmark the per-row conversion and shuffle of 1.9M rows cost 3x the
# signatures themselves. With ``exact``, each document adds one more row, its exact key (top bit set), so exact
# duplicates come out of the same shuffle as pairs flagged ``exact``.
PACKED_SCHEMA = pa.schema([("g", pa.int32()), ("rows", pa.binary())])
HANDLE_PAIR_SCHEMA = pa.schema([("ha", pa.int64()), ("hb", pa.int64()), ("exact", pa.bool_())])
SCORED_PAIR_SCHEMA = pa.schema([("a", pa.string()), ("b", pa.string()), ("exact", pa.bool_()),
                                ("jaccard", pa.float64()), ("same", pa.bool_())])
# The decision for every document that has a verified duplicate: ``exact_of`` (the kept document of its exact
# group, for the others of that group), or its near-duplicate cluster (kept id, size, dup_of).
DECISION_SCHEMA = pa.schema([("id", pa.string()), ("exact_of", pa.string()), ("cluster", pa.string()),
                             ("cluster_size", pa.int64()), ("cluster_dup_of", pa.string())])


def bucket_rows(batch: pa.RecordBatch, ngram: int, num_perm: int, bands: int, rows: int, seed: int,
                nfkc: bool, exact: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(bucket keys, document handles), int64: one entry per band of every document that has shingles (keys of
    different bands differ: the band number seeds each key) and, with ``exact``, one exact key (negative) per
    document. ``batch`` has columns h and text."""
    keys, counts, exact_keys = band_keys(batch.column("text"), ngram, num_perm, bands, rows, seed, nfkc)
    docs = np.flatnonzero(counts > 0)
    handles = batch.column("h").to_numpy(zero_copy_only=False)
    k, h = keys[docs].reshape(-1).view(np.int64), np.repeat(handles[docs], bands)
    if exact:
        k, h = np.concatenate([k, exact_keys.view(np.int64)]), np.concatenate([h, handles])
    return k, h


def bucket_group(keys: np.ndarray, groups: int) -> np.ndarray:
    """The group (0..groups-1) of each int64 bucket key: its top 32 bits modulo ``groups``."""
    return ((keys.view(np.uint64) >> np.uint64(32)) % np.uint64(groups)).astype(np.int32)


@njit(cache=True)
def _pack_by_group(keys, n_shingles, exact_keys, handles, groups, with_exact):
    """The (key, handle) rows of a batch, int64 [n, 2], ordered by bucket group (a counting sort), and the number
    of rows of each group: the rows of :func:`bucket_rows` in :func:`bucket_group` order."""
    n_docs, bands = keys.shape
    counts = np.zeros(groups, np.int64)
    width = np.uint64(groups)
    for d in range(n_docs):
        if n_shingles[d] > 0:
            for b in range(bands):
                counts[(keys[d, b] >> np.uint64(32)) % width] += 1
        if with_exact:
            counts[(exact_keys[d] >> np.uint64(32)) % width] += 1
    position = np.zeros(groups, np.int64)
    for g in range(1, groups):
        position[g] = position[g - 1] + counts[g - 1]
    out = np.empty((position[groups - 1] + counts[groups - 1], 2), np.int64)
    for d in range(n_docs):
        if n_shingles[d] > 0:
            for b in range(bands):
                g = (keys[d, b] >> np.uint64(32)) % width
                out[position[g], 0] = np.int64(keys[d, b])
                out[position[g], 1] = handles[d]
                position[g] += 1
        if with_exact:
            g = (exact_keys[d] >> np.uint64(32)) % width
            out[position[g], 0] = np.int64(exact_keys[d])
            out[position[g], 1] = handles[d]
            position[g] += 1
    return out, counts


def packed_bucket_rows(batch: pa.RecordBatch, ngram: int, num_perm: int, bands: int, rows: int, seed: int,
                       nfkc: bool, groups: int, exact: bool = False) -> pa.RecordBatch:
    """:func:`bucket_rows` of a batch packed into one row per non-empty bucket group (``PACKED_SCHEMA``)."""
    keys, n_shingles, exact_keys = band_keys(batch.column("text"), ngram, num_perm, bands, rows, seed, nfkc)
    handles = batch.column("h").to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    pairs, counts = _pack_by_group(keys, n_shingles, exact_keys, handles, groups, exact)
    present = np.flatnonzero(counts)
    offsets = np.zeros(len(present) + 1, np.int32)
    np.cumsum(counts[present] * 16, out=offsets[1:])  # 16 bytes a row: the little-endian (key, handle)
    payload = pa.Array.from_buffers(pa.binary(), len(present),
                                    [None, pa.py_buffer(offsets), pa.py_buffer(pairs.astype("<i8", copy=False))])
    return pa.RecordBatch.from_arrays([pa.array(present, pa.int32()), payload], schema=PACKED_SCHEMA)


def unpack_bucket_rows(batches) -> tuple[np.ndarray, np.ndarray]:
    """(keys, handles) of packed rows (``PACKED_SCHEMA`` batches)."""
    blobs = [blob for b in batches for blob in b.column("rows").to_pylist()]
    if not blobs:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    flat = np.frombuffer(b"".join(blobs), dtype="<i8").reshape(-1, 2)
    return flat[:, 0].astype(np.int64), flat[:, 1].astype(np.int64)


@njit(cache=True)
def _shared_keys(keys):
    """Mask of the rows whose key occurs more than once (open addressing over a table of >= 2x the rows)."""
    n = keys.shape[0]
    size = 2
    while size < 2 * n:
        size <<= 1
    mask = np.uint64(size - 1)
    first = np.full(size, -1, np.int64)  # the first row seen with the slot's key
    shared = np.zeros(n, np.bool_)
    for i in range(n):
        key = keys[i]
        slot = (np.uint64(key) * np.uint64(0x9E3779B97F4A7C15) >> np.uint64(20)) & mask
        while True:
            row = first[slot]
            if row < 0:
                first[slot] = i
                break
            if keys[row] == key:
                shared[row] = True
                shared[i] = True
                break
            slot = (slot + np.uint64(1)) & mask
    return shared


def pairs_in_buckets(keys: np.ndarray, handles: np.ndarray, max_bucket_pairs: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate handle pairs (a, b), a < b, from (bucket key, handle) rows holding every row of their buckets.

    A bucket of at most ``max_bucket_pairs`` distinct members yields all its pairs; a larger one links every member
    to its smallest handle (same component, linear size). Vectorised: no Python loop over buckets.
    """
    if len(keys) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # most keys are one document's alone: find the rows of shared keys (a hash table), sort only those
    shared = _shared_keys(keys)
    keys, handles = keys[shared], handles[shared]
    if len(keys) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.lexsort((handles, keys))
    keys, handles = keys[order], handles[order]
    distinct = np.r_[True, (keys[1:] != keys[:-1]) | (handles[1:] != handles[:-1])]
    keys, handles = keys[distinct], handles[distinct]
    n = len(keys)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    sizes = np.diff(np.r_[starts, n])
    first_of = np.repeat(starts, sizes)  # first row of each row's bucket
    size_of = np.repeat(sizes, sizes)
    # small buckets: row i pairs with every later row of its bucket
    small_rows = np.flatnonzero((size_of > 1) & (size_of <= max_bucket_pairs))
    later = first_of[small_rows] + size_of[small_rows] - small_rows - 1
    first = np.repeat(small_rows, later)
    step = np.arange(int(later.sum())) - np.repeat(np.cumsum(later) - later, later) + 1
    a_small, b_small = handles[first], handles[first + step]
    # big buckets: every row but the first links to the first
    big_rows = np.flatnonzero((size_of > max_bucket_pairs) & (first_of != np.arange(n)))
    a_big, b_big = handles[first_of[big_rows]], handles[big_rows]
    return np.concatenate([a_small, a_big]), np.concatenate([b_small, b_big])


def bucket_pairs(batches, max_bucket_pairs: int):
    """Candidate handle pairs (ha, hb, exact) from all packed bucket rows of one partition (every row of a bucket
    in one partition), distinct within the partition; ``exact``: found by the exact keys."""
    keys, handles = unpack_bucket_rows(batches)
    exact = keys < 0
    near_a, near_b = pairs_in_buckets(keys[~exact], handles[~exact], max_bucket_pairs)
    exact_a, exact_b = pairs_in_buckets(keys[exact], handles[exact], max_bucket_pairs)
    if len(near_a) or len(exact_a):
        abk = np.stack([np.concatenate([near_a, exact_a]), np.concatenate([near_b, exact_b]),
                        np.r_[np.zeros(len(near_a), np.int64), np.ones(len(exact_a), np.int64)]], axis=1)
        abk = np.unique(abk, axis=0)
        yield pa.RecordBatch.from_arrays([pa.array(abk[:, 0]), pa.array(abk[:, 1]), pa.array(abk[:, 2] == 1)],
                                         schema=HANDLE_PAIR_SCHEMA)


# ---- deciding: who duplicates whom, and which document each group keeps ----


def keep_rank(table: pa.Table, keep: list[str]) -> np.ndarray:
    """Each row's position in the keep order (0 = kept first): the order of
    :func:`curation.dedup.components.keep_order`, nulls last, ties broken by id. ``length`` is a column of
    ``table``; annotations it lacks are skipped."""
    from curation.dedup.components import keep_items
    from curation.schema import ANNOTATIONS

    sort_keys = []
    columns = {}
    items = keep_items(keep)
    for name, descending in items:
        if name in table.column_names:
            column = table.column(name)
            if pa.types.is_floating(column.type):  # NaN is unknown, like null (as in keep_order)
                column = pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)
            columns[f"k{len(sort_keys)}"] = column
            sort_keys.append((f"k{len(sort_keys)}", "descending" if descending else "ascending", "at_end"))
        elif name not in ANNOTATIONS:
            raise ValueError(f"keep order {name!r}: no column {name!r}")
    if "id" not in [name for name, _ in items]:
        columns[f"k{len(sort_keys)}"] = table.column("id")
        sort_keys.append((f"k{len(sort_keys)}", "ascending", "at_end"))
    order = pc.sort_indices(pa.table(columns), sort_keys=sort_keys).to_numpy()
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    return rank


def _component_keepers(n: int, a: np.ndarray, b: np.ndarray, rank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(keeper row, component size) of every row of an n-node graph with edges (a, b): the keeper is the
    component's row of smallest ``rank``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components as scipy_components

    graph = coo_matrix((np.ones(len(a), np.int8), (a, b)), shape=(n, n))
    _, label = scipy_components(graph, directed=False)
    best = np.full(label.max() + 1 if n else 0, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(best, label, rank)
    by_rank = np.empty(n, np.int64)
    by_rank[rank] = np.arange(n)
    return by_rank[best[label]], np.bincount(label)[label]


def decide(table: pa.Table, rows_a: np.ndarray, rows_b: np.ndarray, exact: np.ndarray, keep: list[str]) -> pa.Table:
    """``DECISION_SCHEMA`` rows for the documents of ``table`` (columns id, keep columns) joined by verified
    duplicate pairs of rows (``rows_a``, ``rows_b``), ``exact`` flagging exact ones.

    Exact duplicates first: each exact group keeps its first document in keep order, the others get ``exact_of``.
    Near-duplicate clusters are then formed over the kept documents only (a pair with an exact duplicate counts for
    the document it duplicates, whose text is the same), each keeping its first document in keep order."""
    n = table.num_rows
    rank = keep_rank(table, keep)
    keeper, _ = _component_keepers(n, rows_a[exact], rows_b[exact], rank)
    na, nb = keeper[rows_a[~exact]], keeper[rows_b[~exact]]
    linked = na != nb
    cluster, size = _component_keepers(n, na[linked], nb[linked], rank)
    dup = np.flatnonzero(keeper != np.arange(n))
    member = np.flatnonzero((keeper == np.arange(n)) & (size > 1))
    ids = table.column("id").combine_chunks()
    rows = np.concatenate([dup, member])
    exact_of = pa.concat_arrays([pc.take(ids, pa.array(keeper[dup])), pa.nulls(len(member), pa.string())])
    kept = pc.take(ids, pa.array(cluster[member]))
    dup_of = pc.if_else(pa.array(cluster[member] != member), kept, pa.scalar(None, pa.string()))
    return pa.table([pc.take(ids, pa.array(rows)), exact_of,
                     pa.concat_arrays([pa.nulls(len(dup), pa.string()), kept]),
                     pa.concat_arrays([pa.nulls(len(dup), pa.int64()), pa.array(size[member], pa.int64())]),
                     pa.concat_arrays([pa.nulls(len(dup), pa.string()), dup_of])], schema=DECISION_SCHEMA)


def resolve_handles(handles: np.ndarray, ha: np.ndarray, hb: np.ndarray, exact: np.ndarray):
    """(rows_a, rows_b, exact) of the handle pairs (``ha``, ``hb``): the rows of ``handles`` behind each side; a
    handle shared by several rows (a 64-bit collision) pairs each of them, a handle with no row pairs nothing."""
    order = np.argsort(handles, kind="stable")
    ordered = handles[order]
    lo_a, hi_a = np.searchsorted(ordered, ha, "left"), np.searchsorted(ordered, ha, "right")
    lo_b, hi_b = np.searchsorted(ordered, hb, "left"), np.searchsorted(ordered, hb, "right")
    single = (hi_a - lo_a == 1) & (hi_b - lo_b == 1)
    rows_a, rows_b, kinds = [order[lo_a[single]]], [order[lo_b[single]]], [exact[single]]
    for k in np.flatnonzero(~single):  # collisions (or a handle with no document: nothing to pair)
        x, y = np.meshgrid(order[lo_a[k]:hi_a[k]], order[lo_b[k]:hi_b[k]])
        rows_a.append(x.ravel())
        rows_b.append(y.ravel())
        kinds.append(np.full(x.size, exact[k]))
    return np.concatenate(rows_a), np.concatenate(rows_b), np.concatenate(kinds).astype(bool)


def verified(texts: pa.Array | None, rows_a: np.ndarray, rows_b: np.ndarray, exact: np.ndarray, ngram: int,
             nfkc: bool, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(keep mask, exact mask) of candidate row pairs. Without ``texts`` (no verification) every candidate is kept
    as found. With them, an exact candidate counts as exact only if the normalised texts are equal, and any other
    candidate is kept if the exact Jaccard of its shingle sets reaches ``threshold``."""
    if texts is None:
        return np.ones(len(rows_a), bool), exact
    same = np.zeros(len(rows_a), bool)
    if exact.any():  # the normalised texts of the exact candidates' documents, compared
        a, b = rows_a[exact], rows_b[exact]
        needed = np.unique(np.concatenate([a, b]))
        folded = fold_words(pc.take(texts, pa.array(needed)), nfkc)
        same[exact] = pc.equal(pc.take(folded, pa.array(np.searchsorted(needed, a))),
                               pc.take(folded, pa.array(np.searchsorted(needed, b)))).to_numpy(zero_copy_only=False)
    near = np.zeros(len(rows_a), bool)
    rest = np.flatnonzero(~same)
    if len(rest):
        near[rest] = row_pair_jaccards(texts, rows_a[rest], rows_b[rest], ngram, nfkc) >= threshold
    return same | near, same


def decide_in_one_task(batches, ha: np.ndarray, hb: np.ndarray, exact: np.ndarray, verify: bool, ngram: int,
                       nfkc: bool, threshold: float, keep: list[str]):
    """``DECISION_SCHEMA`` batches from every candidate document (``batches``: columns h, id, keep columns and, with
    ``verify``, text; all in this one partition) and the candidate handle pairs (``ha``, ``hb``, ``exact``)."""
    batches = list(batches)
    if not batches or not len(ha):
        return
    table = pa.Table.from_batches(batches).combine_chunks()
    rows_a, rows_b, kinds = resolve_handles(table.column("h").to_numpy(), ha, hb, exact)
    ids = table.column("id")
    distinct = pc.not_equal(pc.take(ids, pa.array(rows_a)), pc.take(ids, pa.array(rows_b)))
    distinct = np.flatnonzero(distinct.to_numpy(zero_copy_only=False))
    rows_a, rows_b, kinds = rows_a[distinct], rows_b[distinct], kinds[distinct]
    texts = table.column("text").combine_chunks() if verify else None
    ok, kinds = verified(texts, rows_a, rows_b, kinds, ngram, nfkc, threshold)
    yield from decide(table.drop_columns([c for c in ("h", "text") if c in table.column_names]),
                      rows_a[ok], rows_b[ok], kinds[ok], keep).to_batches()


def score_pairs(batch: pa.RecordBatch, ngram: int, nfkc: bool) -> pa.RecordBatch:
    """Exact Jaccard of each candidate pair and whether the normalised texts are equal (columns a, b, exact,
    text_a, text_b)."""
    j = pair_jaccards(batch.column("text_a"), batch.column("text_b"), ngram, nfkc)
    same = pc.equal(fold_words(batch.column("text_a"), nfkc), fold_words(batch.column("text_b"), nfkc))
    return pa.RecordBatch.from_arrays([batch.column("a"), batch.column("b"), batch.column("exact"), pa.array(j),
                                       same], schema=SCORED_PAIR_SCHEMA)


class MinHashStage(Stage):
    """Annotates ``dup_cluster``, ``dup_cluster_size`` and ``dup_of`` (near-duplicates by MinHash-LSH) and, with
    ``exact``, ``exact_dup_of`` (exact duplicates of the normalised text, found in the same pass).

    Exact duplicates get null near-duplicate annotations: they are marked for removal already. Without ``exact``,
    rows with a non-null ``exact_dup_of`` (from an ``exact_dedup`` stage before) are left out of the search the same
    way.
    """

    type_name = "minhash"
    Params = MinHashParams

    def apply(self, df, ctx: StageContext) -> StageResult:
        from curation.runtime.session import checkpoint_observed

        p: MinHashParams = self.params
        bands, rows = p.band_layout()
        seed = ctx.seed if p.seed is None else p.seed
        if p.exact and "exact_dup_of" in df.columns:
            ctx.log(f"[{ctx.stage_name}] exact: true recomputes the input's exact_dup_of")
        base, searched_if = self._base(df)
        searched = base.where(searched_if) if searched_if else base
        decisions, n_pairs, decided = duplicate_decisions(searched, p, bands, rows, seed)
        decisions, seen = checkpoint_observed(decisions, exact=F.count("exact_of"), near=F.count("cluster_dup_of"))
        n_decisions = int(seen["rows"])
        out = annotate(base, decisions, n_decisions, p.broadcast_rows, searched_if, p.exact)
        # the annotations of the documents that have a duplicate (the others are clusters of one), which the runner
        # may store instead of a copy; annotated() puts the documents together from them
        sparse = decisions.coalesce(1).sortWithinPartitions("id").select(
            "id", *([F.col("exact_of").alias("exact_dup_of")] if p.exact else []),
            F.col("cluster").alias("dup_cluster"), F.col("cluster_size").alias("dup_cluster_size"),
            F.col("cluster_dup_of").alias("dup_of"))
        ctx.log(f"[{ctx.stage_name}] minhash {p.num_perm} perms, {bands} bands x {rows} rows, "
                f"{p.ngram}-gram shingles, threshold {p.threshold}, verify={p.verify}, exact={p.exact}")
        stats = {"bands": bands, "rows": rows, "num_perm": p.num_perm, "candidate_pairs": n_pairs,
                 "decided": decided, "near_duplicates": int(seen["near"])}
        if p.exact:
            stats["exact_duplicates"] = int(seen["exact"])
        return StageResult(kept=out, annotations=sparse, sparse_annotations=True, lazy_rows=p.broadcast_rows,
                           extra_stats=stats)

    def _base(self, df):
        """(the input without the columns this stage writes, the SQL condition of the rows it searches or None)."""
        base = df.drop("dup_cluster", "dup_cluster_size", "dup_of", *(["exact_dup_of"] if self.params.exact else []))
        return base, ("exact_dup_of IS NULL" if "exact_dup_of" in base.columns else None)

    def annotated(self, df, annotations, ctx: StageContext):
        """The input with the stored annotations (rows of the documents that have a duplicate; a folder written
        before they were stored sparsely has a row for every document): the rows with a duplicate are joined (a
        broadcast of a few rows per hundred documents), the others' annotations follow from their ids."""
        p: MinHashParams = self.params
        base, searched_if = self._base(df)
        hit = F.col("dup_cluster_size") > 1
        if p.exact:
            hit = hit | F.col("exact_dup_of").isNotNull()
        decisions = annotations.where(hit).select(
            "id", (F.col("exact_dup_of") if p.exact else F.lit(None).cast("string")).alias("exact_of"),
            F.col("dup_cluster").alias("cluster"), F.col("dup_cluster_size").alias("cluster_size"),
            F.col("dup_of").alias("cluster_dup_of"))
        return annotate(base, decisions, 0, p.broadcast_rows, searched_if, p.exact)


def annotate(base, decisions, n_decisions: int, broadcast_rows: int, searched_if: str | None, exact: bool):
    """``base`` plus the annotation columns from ``decisions`` (``DECISION_SCHEMA``, one row per document with a
    duplicate): a document without a decision is its own cluster of one."""
    from curation.dedup.components import join_small

    side = decisions.select("id", *[F.col(c).alias(f"_{c}") for c in DECISION_SCHEMA.names[1:]],
                            F.lit(True).alias("_hit"))
    out = join_small(base, side, "id", "left", broadcast_rows, n_decisions)
    hit = F.col("_hit").isNotNull()
    cluster = F.when(hit, F.col("_cluster")).otherwise(F.col("id"))
    size = F.when(hit, F.col("_cluster_size")).otherwise(F.lit(1).cast("long"))
    dup_of = F.col("_cluster_dup_of")
    if searched_if is not None:
        searched = F.expr(searched_if)
        cluster, size, dup_of = (F.when(searched, c) for c in (cluster, size, dup_of))
    extra = [F.col("_exact_of").cast("string").alias("exact_dup_of")] if exact else []
    return out.select(*base.columns, *extra, cluster.cast("string").alias("dup_cluster"),
                      size.cast("long").alias("dup_cluster_size"), dup_of.cast("string").alias("dup_of"))


def candidate_pairs(docs, p: MinHashParams, bands: int, rows: int, seed: int):
    """(DataFrame (ha, hb, exact) of the handle pairs that share an LSH bucket, ``exact`` when they share the exact
    key, distinct within each bucket partition (a pair of documents sharing buckets in several partitions repeats),
    checkpointed; its number of rows; the length in bytes of the longest text; the bytes of all texts)."""
    from curation.runtime.session import checkpoint_counted, map_batches, map_partitions, observed

    ngram, num_perm, nfkc, cap, exact = p.ngram, p.num_perm, p.nfkc, p.max_bucket_pairs, p.exact
    partitions = int(docs.sparkSession.conf.get("spark.sql.shuffle.partitions"))
    groups = 8 * partitions
    texts, lengths = observed(docs.select(F.xxhash64("id").alias("h"), "text"), longest=F.max(F.octet_length("text")),
                              total=F.sum(F.octet_length("text")))
    buckets = map_batches(texts,
                          lambda b: packed_bucket_rows(b, ngram, num_perm, bands, rows, seed, nfkc, groups, exact),
                          PACKED_SCHEMA)
    # one shuffle by bucket group, then each partition finds its buckets with one sort
    by_key = buckets.repartition(partitions, "g")
    pairs, n = checkpoint_counted(map_partitions(by_key, lambda batches: bucket_pairs(batches, cap), HANDLE_PAIR_SCHEMA))
    seen = lengths()
    return pairs, n, int(seen["longest"] or 0), int(seen["total"] or 0)


def distinct_pairs(pairs: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ha, hb, exact) of the distinct handle pairs of ``pairs``; a pair found by both kinds of key is exact."""
    abk = np.stack([pairs.column(c).to_numpy(zero_copy_only=False).astype(np.int64) for c in ("ha", "hb", "exact")],
                   axis=1)
    abk = np.unique(abk, axis=0)  # sorted by (ha, hb, exact): the last row of each pair has its largest flag
    last = np.r_[(abk[1:, 0] != abk[:-1, 0]) | (abk[1:, 1] != abk[:-1, 1]), True]
    return abk[last, 0], abk[last, 1], abk[last, 2] == 1


def duplicate_decisions(docs, p: MinHashParams, bands: int, rows: int, seed: int):
    """(DataFrame of ``DECISION_SCHEMA`` rows for ``docs``, number of distinct candidate pairs, where the pairs were
    verified and decided: in one task, or distributed)."""
    from curation.dedup.components import keep_items, keep_order
    from curation.runtime.session import checkpoint_counted, checkpoint_observed, spark_schema

    spark = docs.sparkSession
    keep_order(docs.columns, p.keep)  # an unknown keep column fails here, before any work
    handle_pairs, n_found, longest, total = candidate_pairs(docs, p, bands, rows, seed)
    if n_found == 0:
        return spark.createDataFrame([], spark_schema(DECISION_SCHEMA)), 0, "no candidates"
    local = n_found <= p.local_max_edges
    if local:  # few: made distinct on the driver, the candidates' handles broadcast from there
        ha, hb, ex = distinct_pairs(handle_pairs.toArrow())
        n_pairs = len(ha)
        member_handles = np.unique(np.concatenate([ha, hb]))
        members = F.broadcast(spark.createDataFrame(pa.table({"h": member_handles})))
    else:
        handle_pairs, n_pairs = checkpoint_counted(handle_pairs.groupBy("ha", "hb").agg(F.max("exact").alias("exact")))
        members = handle_pairs.select(F.col("ha").alias("h")).union(handle_pairs.select(F.col("hb").alias("h")))
        members = members.distinct()
        if 2 * n_pairs <= p.broadcast_rows:
            members = F.broadcast(members)
    # the candidates, read once: handle, id, what the keep order needs and, to verify, the text
    keep_columns = [c for c in dict.fromkeys(name for name, _ in keep_items(p.keep))
                    if c in docs.columns and c not in ("id", "text")]
    # (lengths after the semi-join: counting the characters of every text costs as much as reading it)
    found = (docs.select(F.xxhash64("id").alias("h"), "id", "text", *keep_columns).join(members, "h", "left_semi")
             .select("h", "id", F.length("text").alias("length"), *keep_columns, *(["text"] if p.verify else [])))

    def in_one_task(candidates):  # verify every pair and decide in one task (no joins, no shuffle of texts)
        verify, ngram, nfkc, threshold, keep = p.verify, p.ngram, p.nfkc, p.threshold, list(p.keep)
        return candidates.mapInArrow(
            lambda batches: decide_in_one_task(batches, ha, hb, ex, verify, ngram, nfkc, threshold, keep),
            spark_schema(DECISION_SCHEMA))

    if local and (not p.verify or len(member_handles) * longest <= p.local_max_chars):
        # the candidates' text is bounded (members x longest text) without measuring it. When all the input's text
        # is within that budget too, the task reads the input itself instead of receiving the candidates through a
        # shuffle (100k documents: ~0.25 CPU-s less, and no slower); a larger input is read in parallel.
        if total <= p.local_max_chars:
            return in_one_task(found.coalesce(1)), n_pairs, "one task (reads the input)"
        return in_one_task(found.repartition(1)), n_pairs, "one task"
    found, seen = checkpoint_observed(found, chars=F.sum(F.length("text")) if p.verify else F.lit(0))
    if local and (seen["chars"] or 0) <= p.local_max_chars:
        return in_one_task(found.coalesce(1)), n_pairs, "one task (text measured)"
    if local:
        handle_pairs = spark.createDataFrame(pa.table({"ha": ha, "hb": hb, "exact": ex}))
    return distributed_decisions(found, handle_pairs, p), n_pairs, "distributed"


def distributed_decisions(found, handle_pairs, p: MinHashParams):
    """:func:`decide_in_one_task` with Spark joins, distributed verification and large-star/small-star
    components, for candidate sets too large for one task."""
    from curation.dedup.components import choose_kept, connected_components, floating_columns, keep_order
    from curation.runtime.session import map_batches

    text = ["text"] if p.verify else []
    side = {x: found.select(F.col("h").alias(f"h{x}"), *[F.col(c).alias(f"{c}_{x}") for c in ["id", *text]])
            for x in "ab"}
    named = (handle_pairs.join(side["a"], "ha").join(side["b"], "hb")
             .where(F.col("id_a") != F.col("id_b"))
             .select(F.least("id_a", "id_b").alias("a"), F.greatest("id_a", "id_b").alias("b"), "exact",
                     *[F.col(f"text_{x}") for x in "ab" if p.verify]))
    if p.verify:
        ngram, nfkc = p.ngram, p.nfkc
        scored = map_batches(named, lambda b: score_pairs(b, ngram, nfkc), SCORED_PAIR_SCHEMA).localCheckpoint()
        is_exact = F.col("exact") & F.col("same")
        exact_edges = scored.where(is_exact)
        near_edges = scored.where(~is_exact & (F.col("jaccard") >= p.threshold))
    else:
        named = named.localCheckpoint()
        exact_edges, near_edges = named.where(F.col("exact")), named.where(~F.col("exact"))
    exact_edges = exact_edges.select("a", "b").distinct()
    near_edges = near_edges.select("a", "b").distinct()
    ranked = found.drop("h", "text")
    order = keep_order(ranked.columns, p.keep, floating_columns(ranked))
    # exact groups: every member but the kept one is an exact duplicate of it
    exact_kept = choose_kept(ranked.join(connected_components(exact_edges), "id"), "component", order)
    exact_kept = exact_kept.select("id", "kept").localCheckpoint()
    exact_dups = exact_kept.where(F.col("kept") != F.col("id")).select(
        "id", F.col("kept").alias("exact_of"), *[F.lit(None).cast(t).alias(c) for c, t in
                                                  (("cluster", "string"), ("cluster_size", "long"),
                                                   ("cluster_dup_of", "string"))])
    # near-duplicate clusters over the exact groups' kept documents
    for x in "ab":
        mapped = exact_kept.select(F.col("id").alias(x), F.col("kept").alias(f"k{x}"))
        near_edges = near_edges.join(mapped, x, "left").withColumn(x, F.coalesce(f"k{x}", x)).drop(f"k{x}")
    near_edges = near_edges.where(F.col("a") != F.col("b")).select(F.least("a", "b").alias("a"),
                                                                   F.greatest("a", "b").alias("b")).distinct()
    near_kept = choose_kept(ranked.join(connected_components(near_edges), "id"), "component", order)
    clusters = near_kept.select("id", F.lit(None).cast("string").alias("exact_of"), F.col("kept").alias("cluster"),
                                F.col("group_size").cast("long").alias("cluster_size"),
                                F.when(F.col("kept") != F.col("id"), F.col("kept")).alias("cluster_dup_of"))
    return exact_dups.unionByName(clusters)
