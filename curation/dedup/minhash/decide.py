"""Deciding: which candidate pairs are duplicates (verification), how they group (components) and which
document each group keeps (the keep policy), for candidate sets small enough for one task. Pure functions over
Arrow tables and numpy arrays (scipy for the components): no Spark here.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curation.dedup.keep_policy import keep_rank
from curation.dedup.minhash.kernels import fold_words, pair_jaccards, row_pair_jaccards

SCORED_PAIR_SCHEMA = pa.schema([("a", pa.string()), ("b", pa.string()), ("exact", pa.bool_()),
                                ("jaccard", pa.float64()), ("same", pa.bool_())])
# The decision for every document that has a verified duplicate: ``exact_of`` (the kept document of its exact
# group, for the others of that group), or its near-duplicate cluster (kept id, size, dup_of).
DECISION_SCHEMA = pa.schema([("id", pa.string()), ("exact_of", pa.string()), ("cluster", pa.string()),
                             ("cluster_size", pa.int64()), ("cluster_dup_of", pa.string())])



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
