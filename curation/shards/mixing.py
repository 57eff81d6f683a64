"""Data mixtures: the mix file, and the deterministic plan of how many times each document goes into the shards.

A mix file (YAML, see ``mixes/demo.yaml``)::

    total_tokens: 4000000        # token budget of the training shards (EOS tokens included); leave it out for
                                 # the largest budget the data allows under max_repetition
    max_repetition: 2            # how often a source's tokens may be used: a number, or {source: number}
    weights: {web: 0.4, code: 0.2, books: 0.1, ...}   # relative; normalised to shares

Each source ``s`` gets ``target = total_tokens * share(s)`` tokens. With ``A`` tokens available, every document is
used ``floor(target / A)`` times, and the remaining ``R = target - floor(target / A) * A`` tokens are filled with
one more copy of the documents whose seeded key (a hash of source and id) is at most a per-source threshold (the
longest key-ordered prefix that fits in ``R``), plus the one document after it whose length comes closest to the
gap left, if that beats stopping short. A threshold is found by Spark aggregations (:mod:`curation.shards.mix_search`) or, for
arrays in memory, by :func:`plan_mix`; both give the same plan. So the plan depends only on the documents, the mix
and the seed: never on how the data is partitioned. A mix that needs more than ``A * max_repetition`` tokens of a source is refused, naming it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xxhash
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

NOT_IN_MIX = "mix: source not in mix"
NOT_SAMPLED = "mix: not sampled"
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_EVAL_SALT = 0xE7A1  # eval membership must not move when the mix seed changes


class MixError(ValueError):
    """A mix that cannot be honoured (or a malformed mix file); the message names the source and the numbers."""


class Mix(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weights: dict[str, float]
    total_tokens: int | None = Field(default=None, gt=0)
    max_repetition: float | dict[str, float] = 1.0
    # where the weights come from (``curate mix tune``: predicted objective, regressor, fit figures); not used
    # for planning, kept in the shards' manifest
    provenance: dict[str, Any] | None = None

    @field_validator("weights")
    @classmethod
    def _weights_valid(cls, v: dict[str, float]) -> dict[str, float]:
        if any(w < 0 for w in v.values()):
            raise ValueError("weights must be >= 0")
        if not any(w > 0 for w in v.values()):
            raise ValueError("at least one weight must be > 0")
        return v

    def shares(self) -> dict[str, float]:
        """Requested token share per source with a positive weight."""
        total = sum(self.weights.values())
        return {s: w / total for s, w in sorted(self.weights.items()) if w > 0}

    def repetition_limit(self, source: str) -> float:
        if isinstance(self.max_repetition, dict):
            return float(self.max_repetition.get(source, 1.0))
        return float(self.max_repetition)


def load_mix(path: str) -> Mix:
    """Read and validate a mix file; errors name the file and the bad key."""
    if not os.path.isfile(path):
        raise MixError(f"mix file not found: {path}")
    with open(path, encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    try:
        return Mix.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise MixError(f"{path}: {where}: {first['msg']}") from None


# ---- hashing: document keys, eval membership, shuffle order ----


def doc_keys(sources: list[str], ids: list[str], seed: int) -> np.ndarray:
    """Seeded 64-bit key per document (source, id): orders sampling and, with the copy index, the shuffle."""
    return np.fromiter((xxhash.xxh64_intdigest(f"{s}\x1f{i}".encode(), seed=seed) for s, i in zip(sources, ids)),
                       dtype=np.uint64, count=len(ids))


def eval_mask(sources: list[str], ids: list[str], fraction: float) -> np.ndarray:
    """Held-out eval documents: a fixed ``fraction`` of each source by a hash of (source, id), independent of seed."""
    if fraction <= 0:
        return np.zeros(len(ids), dtype=bool)
    unit = np.fromiter((xxhash.xxh64_intdigest(f"{s}\x1f{i}".encode(), seed=_EVAL_SALT) for s, i in zip(sources, ids)),
                       dtype=np.uint64, count=len(ids)) / 2.0**64
    return unit < fraction


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a bijective scramble of 64-bit integers."""
    x = x.astype(np.uint64, copy=True)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def copy_order_keys(keys: np.ndarray, copy_index: np.ndarray) -> np.ndarray:
    """Global shuffle position key of copy ``copy_index`` of each document (as int64, for sorting in Spark)."""
    with np.errstate(over="ignore"):
        mixed = _mix64(keys.astype(np.uint64) + (copy_index.astype(np.uint64) + np.uint64(1)) * _GOLDEN)
    return mixed.view(np.int64)


# ---- the plan ----


@dataclass
class SourcePlan:
    source: str
    requested_share: float
    available_docs: int
    available_tokens: int
    target_tokens: int
    base_copies: int
    extra_threshold: int | None  # documents whose key (uint64) is at most this get one copy more; None: none do
    extra_key: int | None = None  # and the documents with this key (the one closest to the gap left)
    achieved_tokens: int = 0
    achieved_docs: int = 0  # document copies in the shards

    def report(self, total_achieved: int) -> dict:
        return {
            "requested_share": round(self.requested_share, 6),
            "achieved_share": round(self.achieved_tokens / total_achieved, 6) if total_achieved else 0.0,
            "target_tokens": self.target_tokens,
            "achieved_tokens": self.achieved_tokens,
            "available_tokens": self.available_tokens,
            "available_docs": self.available_docs,
            "document_copies": self.achieved_docs,
            "repetition": round(self.achieved_tokens / self.available_tokens, 4) if self.available_tokens else 0.0,
        }


@dataclass
class MixPlan:
    sources: dict[str, SourcePlan] = field(default_factory=dict)

    def copies(self, sources: list[str], keys: np.ndarray) -> np.ndarray:
        """How many times each document goes into the training shards (0: not used)."""
        out = np.zeros(len(keys), dtype=np.int64)
        src = np.asarray(sources, dtype=object)
        keys = np.asarray(keys, dtype=np.uint64)
        for name, plan in self.sources.items():
            rows = np.flatnonzero(src == name)
            if not len(rows):
                continue
            extra = (keys[rows] <= np.uint64(plan.extra_threshold) if plan.extra_threshold is not None
                     else np.zeros(len(rows), bool))
            if plan.extra_key is not None:
                extra |= keys[rows] == np.uint64(plan.extra_key)
            out[rows] = plan.base_copies + extra
        return out

    @property
    def achieved_tokens(self) -> int:
        return sum(p.achieved_tokens for p in self.sources.values())

    def report(self) -> dict:
        total = self.achieved_tokens
        return {name: plan.report(total) for name, plan in sorted(self.sources.items())}

    def max_share_error(self) -> float:
        """Largest |achieved - requested| token share over the sources (absolute, 0..1)."""
        return max((abs(r["achieved_share"] - r["requested_share"]) for r in self.report().values()), default=0.0)


def prefix_taken(per_key_tokens: np.ndarray, remainder: int, tokens_before: int = 0) -> int:
    """How many of these key-ordered groups (tokens each, after ``tokens_before`` tokens already taken) still fit
    in ``remainder`` tokens: the longest prefix whose tokens stay within it."""
    return int(np.searchsorted(tokens_before + np.cumsum(np.asarray(per_key_tokens, dtype=np.int64)) > remainder,
                               True))


def closest_to_gap(per_key_tokens: np.ndarray, gap: int) -> int | None:
    """Index of the group (key order) whose tokens come closest to ``gap`` (the first on ties), when taking it
    lands closer to the target than stopping short; else None."""
    n = np.asarray(per_key_tokens, dtype=np.int64)
    if gap <= 0 or not len(n):
        return None
    best = int(np.argmin(np.abs(n - gap)))
    return best if abs(int(n[best]) - gap) < gap else None


def plan_targets(mix: Mix | None, available: dict[str, int]) -> tuple[dict[str, float], int, dict[str, int]]:
    """(share, budget, target tokens) per source from the tokens ``available`` per source; raises
    :class:`MixError` naming every source the mix asks too much of."""
    names = sorted(available)
    total_available = sum(available.values())
    if mix is None:
        shares = {s: (available[s] / total_available if total_available else 0.0) for s in names}
        return shares, total_available, dict(available)
    shares = mix.shares()
    budget = mix.total_tokens
    if budget is None:  # the largest budget under which no source exceeds availability x max_repetition
        budget = int(min(available.get(s, 0) * mix.repetition_limit(s) / share for s, share in shares.items()))
    targets = {s: int(budget * share) for s, share in shares.items()}
    problems = []
    for s, target in targets.items():
        limit = mix.repetition_limit(s)
        have = available.get(s, 0)
        if have == 0:
            problems.append(f"source {s!r} (share {shares[s]:.3f}) has no documents")
        elif target > have * limit:
            problems.append(
                f"source {s!r} needs {target:,} tokens (share {shares[s]:.3f} of {budget:,}) but has "
                f"{have:,} available x max_repetition {limit:g} = {int(have * limit):,}")
    if problems:
        raise MixError("mix refused: " + "; ".join(problems)
                       + ". Lower the weight or total_tokens, or raise max_repetition.")
    return shares, budget, targets


def plan_mix(mix: Mix | None, sources: list[str], keys: np.ndarray, n_tokens: np.ndarray) -> MixPlan:
    """Decide each document's number of copies; ``mix=None`` uses every document once (natural shares).

    ``sources``, ``keys`` (from :func:`doc_keys`) and ``n_tokens`` describe the candidate documents, one entry each
    (arrays in memory: tests and small tools; the shards stage plans with :mod:`curation.shards.mix_search`).
    Raises :class:`MixError` naming every source the mix asks too much of.
    """
    src = np.asarray(sources, dtype=object)
    keys = np.asarray(keys, dtype=np.uint64)
    n_tokens = np.asarray(n_tokens, dtype=np.int64)
    counts = {s: (int((src == s).sum()), int(n_tokens[src == s].sum())) for s in sorted(set(sources))}
    shares, _, targets = plan_targets(mix, {s: t for s, (_, t) in counts.items()})
    plan = MixPlan()
    for s, target in targets.items():
        rows = np.flatnonzero(src == s)
        n_docs, have = counts.get(s, (0, 0))
        base = target // have if have else 0
        # documents sharing a key (the same source and id twice) are decided together
        ukeys, inverse = np.unique(keys[rows], return_inverse=True)
        per_key_tokens = np.bincount(inverse, weights=n_tokens[rows], minlength=len(ukeys)).astype(np.int64)
        per_key_docs = np.bincount(inverse, minlength=len(ukeys)).astype(np.int64)
        remainder = target - base * have
        taken = prefix_taken(per_key_tokens, remainder)
        extra_tokens, extra_docs = int(per_key_tokens[:taken].sum()), int(per_key_docs[:taken].sum())
        best = closest_to_gap(per_key_tokens[taken:], remainder - extra_tokens)
        if best is not None:
            best += taken
            extra_tokens, extra_docs = extra_tokens + int(per_key_tokens[best]), extra_docs + int(per_key_docs[best])
        plan.sources[s] = source_plan(s, shares[s], n_docs, have, target, base,
                                      int(ukeys[taken - 1]) if taken else None, extra_tokens, extra_docs,
                                      None if best is None else int(ukeys[best]))
    return plan


def source_plan(source: str, share: float, n_docs: int, have: int, target: int, base: int, threshold: int | None,
                extra_tokens: int, extra_docs: int, extra_key: int | None = None) -> SourcePlan:
    return SourcePlan(source=source, requested_share=share, available_docs=n_docs, available_tokens=have,
                      target_tokens=target, base_copies=int(base), extra_threshold=threshold, extra_key=extra_key,
                      achieved_tokens=int(base) * have + extra_tokens, achieved_docs=int(base) * n_docs + extra_docs)
