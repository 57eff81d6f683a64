"""The data split of the quality-proxy experiment (``benchmarks/quality_proxy.py``): does the quality classifier
pick better training data? All splits are seeded, per domain, after exact-text deduplication across all corpora, so
one text can never sit on two sides of a split:

- high-quality corpora (wiki, books, papers, docs): a fraction of each domain's documents is held out as that
  domain's eval set; the rest are the classifier's positives. None of them is in the pool.
- web: a fraction is held out (eval, for context), a fraction are the classifier's negatives, the rest goes to the
  pool. The classifier never sees a pool document: a web document it was trained on as a negative would score low
  because it was memorised, not because of its quality.
- pool = the remaining web + all of forum: crawled, user-written text of varying quality, disjoint from everything
  the classifier or the eval saw.
"""
from __future__ import annotations

import hashlib
import os
import zlib
from dataclasses import dataclass, field

import numpy as np

from classifiers.train import jsonl_objects

HIGH_QUALITY = ("wiki", "books", "papers", "docs")  # the classifier's positives; the eval sets that decide
WEB, FORUM = "web", "forum"
DOMAINS = (WEB, FORUM, *HIGH_QUALITY)  # reading order: the first occurrence of a duplicated text is kept


@dataclass(frozen=True)
class Doc:
    id: str
    domain: str
    text: str


@dataclass
class Split:
    eval: dict[str, list[Doc]] = field(default_factory=dict)                 # eval set name -> documents
    classifier_positive: dict[str, list[Doc]] = field(default_factory=dict)  # domain -> documents
    classifier_negative: list[Doc] = field(default_factory=list)
    pool: list[Doc] = field(default_factory=list)

    def summary(self) -> dict:
        def count(docs: list[Doc]) -> dict:
            return {"documents": len(docs), "bytes": sum(len(d.text.encode()) for d in docs)}

        pool_by_domain = {d: [x for x in self.pool if x.domain == d] for d in sorted({x.domain for x in self.pool})}
        return {"eval": {name: count(docs) for name, docs in self.eval.items()},
                "classifier_positive": {name: count(docs) for name, docs in self.classifier_positive.items()},
                "classifier_negative": {WEB: count(self.classifier_negative)},
                "pool": {name: count(docs) for name, docs in pool_by_domain.items()}}


def read_corpora(corpora_dir: str, domains: tuple[str, ...] = DOMAINS) -> dict[str, list[Doc]]:
    """Documents per domain with non-empty text; an exact repeat of a text already read (web repeats 35 of its own)
    is dropped, so that no text can end up both in an eval set and in training data."""
    seen: set[bytes] = set()
    out: dict[str, list[Doc]] = {}
    for domain in domains:
        out[domain] = []
        for obj in jsonl_objects(os.path.join(corpora_dir, f"{domain}.jsonl.zst")):
            text = obj.get("text")
            if not isinstance(text, str) or not text.strip():
                continue
            digest = hashlib.sha256(text.encode()).digest()
            if digest not in seen:
                seen.add(digest)
                out[domain].append(Doc(str(obj["id"]), domain, text))
    return out


def domain_permutation(docs: list[Doc], domain: str, seed: int) -> list[Doc]:
    """A seeded order of one domain's documents that does not depend on the other domains."""
    rng = np.random.default_rng([seed, zlib.crc32(domain.encode())])
    return [docs[i] for i in rng.permutation(len(docs))]


def held_out_count(n: int, fraction: float) -> int:
    """At least one document (even of the nine books) when a domain has two or more."""
    return max(1, round(n * fraction)) if n > 1 else 0


def split_documents(docs: dict[str, list[Doc]], seed: int, eval_fraction: float, web_eval_fraction: float,
                    web_classifier_fraction: float) -> Split:
    split = Split()
    for domain in HIGH_QUALITY:
        order = domain_permutation(docs[domain], domain, seed)
        n_eval = held_out_count(len(order), eval_fraction)
        split.eval[domain] = order[:n_eval]
        split.classifier_positive[domain] = order[n_eval:]
    web = domain_permutation(docs[WEB], WEB, seed)
    n_eval = held_out_count(len(web), web_eval_fraction)
    n_negative = round(len(web) * web_classifier_fraction)
    split.eval[WEB] = web[:n_eval]
    split.classifier_negative = web[n_eval:n_eval + n_negative]
    split.pool = web[n_eval + n_negative:] + docs[FORUM]
    return split
