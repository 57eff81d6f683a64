"""Locality-sensitive hashing: the bands x rows layout for a threshold, and the bucket wire format.

Documents travel through the bucket shuffle as 64-bit handles (Spark's xxhash64 of the id), not id strings.
Handles map back to ids on the candidates only; two ids sharing a handle both come back, so a collision can only
add candidate pairs (which verification then scores), never lose one.

The (bucket key, handle) rows are not shuffled one Spark row each: every signature batch packs them into one row
per bucket group ``g`` (a slice of the key space: all rows of one key share a group), whose binary payload holds
the group's (key, handle) pairs as little-endian int64. Spark then moves a few large rows per batch instead of
``bands`` rows per document, whose per-row conversion and shuffle would cost more than the signatures. With
``exact``, each document adds one more row, its exact key (top bit set), so exact duplicates come out of the same
shuffle as pairs flagged ``exact``. Pure functions over Arrow batches and numpy arrays: no Spark here.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
from numba import njit

from curation.dedup.minhash.kernels import band_keys


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

PACKED_SCHEMA = pa.schema([("g", pa.int32()), ("rows", pa.binary())])
HANDLE_PAIR_SCHEMA = pa.schema([("ha", pa.int64()), ("hb", pa.int64()), ("exact", pa.bool_())])


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


def distinct_pairs(pairs: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ha, hb, exact) of the distinct handle pairs of ``pairs``; a pair found by both kinds of key is exact."""
    abk = np.stack([pairs.column(c).to_numpy(zero_copy_only=False).astype(np.int64) for c in ("ha", "hb", "exact")],
                   axis=1)
    abk = np.unique(abk, axis=0)  # sorted by (ha, hb, exact): the last row of each pair has its largest flag
    last = np.r_[(abk[1:, 0] != abk[:-1, 0]) | (abk[1:, 1] != abk[:-1, 1]), True]
    return abk[last, 0], abk[last, 1], abk[last, 2] == 1
