"""MinHash kernels: per-document work over Arrow string arrays, compiled with numba. No Spark here.

  normalize   Unicode NFKC (optional), lowercase, every run of non-word characters (``[\\W_]``: anything but
              letters and digits) becomes one space;
  shingles    word n-grams (default 5; a document of 1..n-1 words is one shingle, an empty one has none),
              each hashed to 64 bits (FNV-1a per word, murmur3 finaliser chained over the n words);
  signature   ``num_perm`` seeded permutations ``a*h + b mod 2**64`` (``a`` odd, so each is a bijection), the
              minimum per permutation;
  bands       ``bands`` groups of ``rows`` minima, each hashed to one 64-bit bucket key; plus one exact key per
              document (a hash of its whole normalised word sequence);
  Jaccard     exact Jaccard of two documents' shingle sets, for verifying candidate pairs.
May import numpy, pyarrow and numba only (``tests/curation/test_pure_imports.py`` checks that pyspark stays out).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

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
