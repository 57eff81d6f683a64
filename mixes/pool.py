"""The data a mixture search draws on: per-source training shards and held-out eval shards, with token counts.

A ``shards`` stage run with ``per_source_dirs: true`` and ``eval_fraction > 0`` leaves, under its ``_artifacts/``,
``sources/<source>/`` (each source's whole curated training pool, every document once) and ``eval/<source>/``
(its held-out documents). :func:`open_pool` reads their manifests (no token is loaded) and turns the spec's
token-availability and repetition limits into per-source weight caps: ``w_s <= E_s * T_s / R``.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from mixes.spec import MixSpec, MixSpecError

MANIFEST = "manifest.json"


@dataclass
class Pool:
    sources: dict[str, str]          # source -> shard dir, in sorted order (the one domain order everywhere)
    tokens: dict[str, int]           # available training tokens per source
    evals: dict[str, str]            # eval set -> shard dir
    objective: dict[str, float]      # eval set -> weight in the objective (sums to 1)
    tokenizer: dict = field(default_factory=dict)

    @property
    def domains(self) -> list[str]:
        return list(self.sources)

    def prior(self, temperature: float) -> dict[str, float]:
        """Token shares raised to ``temperature`` and renormalised (1: natural shares, 0: uniform)."""
        raw = {s: (n / sum(self.tokens.values())) ** temperature for s, n in self.tokens.items()}
        total = sum(raw.values())
        return {s: v / total for s, v in raw.items()}

    def objective_label(self) -> str:
        """'mean loss over a, b', or each set's weight when they differ; zero-weight eval sets (scored and reported,
        not optimised) are left out."""
        used = {name: w for name, w in self.objective.items() if w > 0}
        if len(set(used.values())) == 1:
            return f"mean loss over {', '.join(used)}"
        return "weighted mean loss: " + ", ".join(f"{w:.3g} x {name}" for name, w in used.items())

    def natural(self) -> dict[str, float]:
        total = sum(self.tokens.values())
        return {s: n / total for s, n in self.tokens.items()}


def _manifest(path: str) -> dict:
    with open(os.path.join(path, MANIFEST), encoding="utf-8") as f:
        return json.load(f)


def _shard_dirs(root: str) -> dict[str, str]:
    if not os.path.isdir(root):
        return {}
    return {name: os.path.join(root, name) for name in sorted(os.listdir(root))
            if os.path.isfile(os.path.join(root, name, MANIFEST))}


def open_pool(spec: MixSpec) -> Pool:
    """The spec's sources and eval sets, checked: every named source and eval set exists and has tokens, and all
    share one tokenizer. Raises :class:`MixSpecError` with one line naming what is wrong."""
    found: dict[str, str] = {}
    found_evals: dict[str, str] = {}
    if spec.pool:
        if not os.path.isdir(spec.pool):
            raise MixSpecError(f"pool folder not found: {spec.pool}")
        found = _shard_dirs(os.path.join(spec.pool, "sources"))
        found_evals = _shard_dirs(os.path.join(spec.pool, "eval"))
        if not found:
            raise MixSpecError(f"{spec.pool} has no sources/<source>/{MANIFEST}: run the shards stage with "
                               "per_source_dirs: true")
    for name, path in spec.source_dirs.items():
        if not os.path.isfile(os.path.join(path, MANIFEST)):
            raise MixSpecError(f"source_dirs.{name}: no {MANIFEST} in {path}")
        found[name] = path
    names = spec.sources if spec.sources is not None else sorted(found)
    unknown = [s for s in names if s not in found]
    if unknown:
        raise MixSpecError(f"unknown source(s) {', '.join(unknown)}; the pool has: {', '.join(sorted(found))}")
    sources = {s: found[s] for s in sorted(names)}
    tokens, tokenizers = {}, {}
    for s, path in sources.items():
        manifest = _manifest(path)
        tokens[s] = int(manifest.get("tokens", 0))
        tokenizers[s] = json.dumps(manifest.get("tokenizer", {}), sort_keys=True)
        if tokens[s] <= 0:
            raise MixSpecError(f"source {s!r} has no tokens ({path})")

    weights = spec.evals if spec.evals is not None else {name: 1.0 for name in found_evals}
    unknown = [e for e in weights if e not in found_evals]
    if unknown:
        raise MixSpecError(f"unknown eval set(s) {', '.join(unknown)}; the pool has: "
                           f"{', '.join(sorted(found_evals)) or 'none (set eval_fraction in the shards stage)'}")
    evals = {e: found_evals[e] for e in sorted(weights)}
    for name, extra in spec.extra_evals.items():
        if name in evals:
            raise MixSpecError(f"extra_evals.{name}: the pool already has an eval set of that name")
        if not os.path.isfile(os.path.join(extra.path, MANIFEST)):
            raise MixSpecError(f"extra_evals.{name}: no {MANIFEST} in {extra.path}")
        evals[name] = extra.path
        weights = {**weights, name: extra.weight}
    if not evals:
        raise MixSpecError("no eval set: the pool has no eval/<source>/ and the spec names no extra_evals")
    for name, path in evals.items():
        tokenizers[f"eval {name}"] = json.dumps(_manifest(path).get("tokenizer", {}), sort_keys=True)
    if len(set(tokenizers.values())) != 1:
        raise MixSpecError("sources and eval sets were tokenized with different tokenizers: "
                           + ", ".join(sorted(tokenizers)))
    total = sum(weights[e] for e in evals)
    if total <= 0:
        raise MixSpecError("evals: at least one eval set needs a positive weight")
    objective = {e: weights[e] / total for e in evals}
    return Pool(sources=sources, tokens=tokens, evals=evals, objective=objective,
                tokenizer=json.loads(next(iter(tokenizers.values()))))


def weight_bounds(spec: MixSpec, pool: Pool) -> tuple[dict[str, float], dict[str, float]]:
    """(min, max) weight per source. The max is the smaller of the spec's ``max_weight`` and what the final run
    can take without repeating a source more than ``max_repetition``: ``E_s * T_s / final_tokens``. Raises when the
    bounds admit no mixture (the caps sum to less than 1, or a minimum exceeds its cap)."""
    for key in (*spec.min_weight, *spec.max_weight):
        if key not in pool.sources:
            raise MixSpecError(f"min_weight/max_weight name unknown source {key!r}")
    lo = {s: float(spec.min_weight.get(s, 0.0)) for s in pool.domains}
    hi = {}
    for s in pool.domains:
        availability = spec.repetition(s) * pool.tokens[s] / spec.final_tokens
        hi[s] = min(1.0, float(spec.max_weight.get(s, 1.0)), availability)
        if lo[s] > hi[s]:
            raise MixSpecError(f"source {s!r}: min_weight {lo[s]:g} is above its cap {hi[s]:.4g} "
                               f"({pool.tokens[s]:,} tokens x max_repetition {spec.repetition(s):g} / "
                               f"final_tokens {spec.final_tokens:,})")
    if sum(hi.values()) < 1.0 - 1e-9:
        detail = ", ".join(f"{s} {hi[s]:.3g}" for s in pool.domains)
        raise MixSpecError(f"the sources cannot fill final_tokens {spec.final_tokens:,}: their caps "
                           f"(tokens x max_repetition / final_tokens) sum to {sum(hi.values()):.3f} < 1 ({detail}). "
                           "Lower final_tokens or raise max_repetition.")
    if sum(lo.values()) > 1.0 + 1e-9:
        raise MixSpecError(f"min_weight values sum to {sum(lo.values()):.3f} > 1")
    return lo, hi
