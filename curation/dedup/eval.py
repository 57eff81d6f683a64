"""Scoring duplicate detection against exact-Jaccard ground truth, computed by brute force on small sets.

Truth: two documents are duplicates when the exact Jaccard of their word-n-gram sets reaches the threshold. The
shingles here are plain Python string sets (lowercase, every run of ``[\\W_]`` -> one space, word n-grams; a
document of 1..n-1 words is one shingle), independent of the compiled hashing under test. Only pairs that share
a shingle can have a non-zero Jaccard, so an inverted index finds every candidate exactly.

Metrics:
  pair     predicted pair = both documents in one predicted cluster; P/R/F1 against the true pairs.
  removal  precision = removed documents that have a true partner / removed; recall = 1 - residual / ideal, where
           each connected component C of the true-pair graph should keep exactly one document
           (ideal += |C| - 1, residual += max(0, kept in C - 1)).
"""
from __future__ import annotations

import re
from collections import defaultdict
from itertools import combinations

import pyarrow as pa

_NON_WORD = re.compile(r"[\W_]+")


def word_shingles(text: str | None, ngram: int = 5) -> set[str]:
    words = _NON_WORD.sub(" ", (text or "").lower()).split()
    if not words:
        return set()
    if len(words) < ngram:
        return {" ".join(words)}
    return {" ".join(words[i : i + ngram]) for i in range(len(words) - ngram + 1)}


def jaccard(a: set, b: set) -> float:
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def true_pairs(ids: list[str], texts: list[str | None], threshold: float = 0.8, ngram: int = 5,
               progress: bool = False) -> set[tuple[str, str]]:
    """Every pair (a < b) of documents whose exact shingle Jaccard is >= ``threshold`` (empty documents: none).
    ``progress``: show counts and an ETA for the shingling and the verification of candidate pairs."""
    from contextlib import nullcontext

    from curation.runtime.progress import Progress

    def step(label, total, unit):
        return Progress(label, total, unit) if progress else nullcontext()

    sets = []
    with step("eval: shingles", len(texts), "documents") as p:
        for k, t in enumerate(texts):
            sets.append(word_shingles(t, ngram))
            if p and k % 256 == 0:
                p.update(k)
        if p:
            p.update(len(texts))
    postings: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(sets):
        for sh in s:
            postings[sh].append(i)
    candidates: set[tuple[int, int]] = set()
    for docs in postings.values():
        candidates.update(combinations(docs, 2))
    out = set()
    with step("eval: exact Jaccard", len(candidates), "candidate pairs") as p:
        for k, (i, j) in enumerate(candidates):
            if jaccard(sets[i], sets[j]) >= threshold:
                out.add((min(ids[i], ids[j]), max(ids[i], ids[j])))
            if p and k % 4096 == 0:
                p.update(k)
        if p:
            p.update(len(candidates))
    return out


def components(pairs) -> list[set[str]]:
    """Connected components (sets of ids) of a pair graph, by union-find."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, set[str]] = defaultdict(set)
    for x in parent:
        groups[find(x)].add(x)
    return list(groups.values())


def _prf(tp: int, n_pred: int, n_true: int) -> dict:
    p = tp / n_pred if n_pred else 1.0
    r = tp / n_true if n_true else 1.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
            "tp": tp, "predicted": n_pred, "true": n_true}


def score(clusters: list[list[str]], removed: set[str], truth: set[tuple[str, str]]) -> dict:
    """Pair-level and removal-level precision / recall / F1 of predicted clusters and removals."""
    predicted = {(min(a, b), max(a, b)) for c in clusters for a, b in combinations(c, 2)}
    comps = components(truth)
    with_partner = set().union(*comps) if comps else set()
    ideal = sum(len(c) - 1 for c in comps)
    residual = sum(max(0, len(c - removed) - 1) for c in comps)
    removal_tp = len(removed & with_partner)
    return {
        "pair": _prf(len(predicted & truth), len(predicted), len(truth)),
        "removal": {"precision": round(removal_tp / len(removed), 4) if removed else 1.0,
                    "recall": round(1 - residual / ideal, 4) if ideal else 1.0,
                    "removed": len(removed), "ideal_removals": ideal, "residual_duplicates_kept": residual,
                    "lost_components": sum(1 for c in comps if c <= removed)},
    }


def clusters_from_annotated(table: pa.Table) -> tuple[list[list[str]], list[str]]:
    """Predicted clusters (size >= 2) and removed ids from an annotated table (id, dup_cluster, dup_of and
    optionally exact_dup_of). Exact duplicates join the cluster of the document they duplicate.

    A sparse table (minhash's stored annotations: rows of the documents that have a duplicate only) gives the same
    result: a document missing from it is a cluster of one, joined by its exact duplicates."""
    cols = table.column_names
    ids = table.column("id").to_pylist()
    cluster = table.column("dup_cluster").to_pylist()
    dup_of = table.column("dup_of").to_pylist()
    exact = table.column("exact_dup_of").to_pylist() if "exact_dup_of" in cols else [None] * len(ids)
    cluster_of = {i: c for i, c in zip(ids, cluster) if c is not None}
    groups: dict[str, list[str]] = defaultdict(list)
    removed = []
    present = set(ids)
    for i, e, d in zip(ids, exact, dup_of):
        representative = e if e is not None else i
        if representative not in present:  # the kept document of an exact group, not stored (no near duplicate)
            present.add(representative)
            groups[representative].append(representative)
        groups[cluster_of.get(representative, representative)].append(i)
        if e is not None or d is not None:
            removed.append(i)
    return [sorted(g) for g in groups.values() if len(g) > 1], removed


def evaluate_annotated(table: pa.Table, threshold: float = 0.8, ngram: int = 5, progress: bool = False) -> dict:
    """Score an annotated table (with ``text``) against its own brute-force exact-Jaccard truth."""
    clusters, removed = clusters_from_annotated(table)
    truth = true_pairs(table.column("id").to_pylist(), table.column("text").to_pylist(), threshold, ngram, progress)
    return {"docs": table.num_rows, "threshold": threshold, "ngram": ngram,
            "clusters": len(clusters), **score(clusters, set(removed), truth)}
