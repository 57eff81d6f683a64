"""Candidate mixtures for a proxy swarm (RegMix-style), the natural / uniform / UniMax baselines, and the
constraint geometry every step shares: per-domain bounds ``min_k <= w_k <= max_k`` on the simplex.

How a candidate is drawn (:func:`propose`):

1. The prior (token shares) is tempered, ``p_k ** temperature`` renormalised (RegMix: 0.5), so small domains are
   drawn more often than their share alone would give.
2. A concentration ``s`` is drawn log-uniformly per candidate in ``concentration`` (default 0.1 .. 5) and the
   candidate is ``Dirichlet(alpha = K * s * p)`` over the K domains. ``s`` is the concentration *per domain*:
   ``s = 1`` on a uniform prior is the uniform distribution on the simplex; ``s = 0.1`` gives sparse mixtures
   dominated by one or two domains (the corners a regression needs to see); ``s = 5`` stays close to the prior.
   RegMix draws a *total* concentration of 0.1 .. 5 on 17 domains, i.e. 0.006 .. 0.3 per domain, which makes almost
   every candidate sparse; per domain, the same range covers both corners and the neighbourhood of the prior, which
   matters for the small swarms (~64 runs, ~7 domains) this tool trains.
3. The caps and minimums are enforced by *projection* onto the box-constrained simplex (the closest point in
   Euclidean distance), not by reject-and-redraw: rejection never ends when a cap is tight (a domain with little
   data), while projection always lands on a feasible mixture.
4. Weights below ``min_weight`` (default 0.01: a domain with 1% of a small proxy's tokens has no measurable
   effect) are zeroed (unless the domain has a minimum) and the rest re-projected within the caps.
5. Weights are rounded to ``decimals`` (4) so that each row still sums to 1 exactly and stays within the bounds;
   candidates that repeat a baseline or an earlier candidate at ``dedup_decimals`` (3) are dropped.

Everything is deterministic for a seed (one ``numpy.random.default_rng(seed)`` stream, batches in order).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mixes.tables import MixInputError, _few

BASELINES = ("natural", "uniform", "unimax")


# ---- domains, priors and bounds, always by name ----


def as_vector(domains: Sequence[str], values: Mapping[str, float] | Sequence[float] | None, what: str,
              default: float | None = None) -> np.ndarray | None:
    """A per-domain mapping (or a sequence in ``domains`` order) as an array in ``domains`` order.

    Names not in ``domains`` are an error; domains missing from a mapping take ``default`` (an error if None).
    """
    if values is None:
        return None
    domains = list(domains)
    if isinstance(values, Mapping):
        unknown = [k for k in values if k not in domains]
        if unknown:
            raise MixInputError(f"{what}: unknown domains {_few(unknown)} (domains: {_few(domains, 8)})")
        missing = [d for d in domains if d not in values]
        if missing and default is None:
            raise MixInputError(f"{what}: no value for {_few(missing)}")
        out = np.array([float(values.get(d, default)) for d in domains], dtype=float)
    else:
        out = np.asarray(values, dtype=float).ravel()
        if len(out) != len(domains):
            raise MixInputError(f"{what}: {len(out)} values for {len(domains)} domains")
    if not np.isfinite(out).all():
        raise MixInputError(f"{what}: values must be finite")
    return out


def prior_vector(domains: Sequence[str], prior: Mapping[str, float] | Sequence[float] | None) -> np.ndarray:
    """The prior as a distribution in ``domains`` order (uniform when None)."""
    if prior is None:
        return np.full(len(domains), 1.0 / len(domains))
    p = as_vector(domains, prior, "prior")
    if (p < 0).any():
        raise MixInputError(f"prior: negative shares for {_few([d for d, v in zip(domains, p) if v < 0])}")
    if p.sum() <= 0:
        raise MixInputError("prior: all shares are zero")
    return p / p.sum()


def bounds(domains: Sequence[str], max_weights: Mapping[str, float] | Sequence[float] | None = None,
           min_weights: Mapping[str, float] | Sequence[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(lo, hi)`` arrays in ``domains`` order; caps above 1 mean no cap. Raises when no mixture can meet them."""
    domains = list(domains)
    if not domains:
        raise MixInputError("no domains")
    if len(set(domains)) != len(domains):
        raise MixInputError(f"duplicate domain names: {_few(pd.Index(domains)[pd.Index(domains).duplicated()])}")
    hi = as_vector(domains, max_weights, "max weights", default=1.0)
    lo = as_vector(domains, min_weights, "min weights", default=0.0)
    hi = np.ones(len(domains)) if hi is None else np.minimum(hi, 1.0)
    lo = np.zeros(len(domains)) if lo is None else lo
    if (hi < 0).any() or (lo < 0).any():
        bad = [d for d, a, b in zip(domains, lo, hi) if a < 0 or b < 0]
        raise MixInputError(f"weight bounds must be >= 0: {_few(bad)}")
    crossed = [f"{d} (min {a:.4g} > max {b:.4g})" for d, a, b in zip(domains, lo, hi) if a > b + 1e-12]
    if crossed:
        raise MixInputError(f"min weight above max weight: {_few(crossed)}")
    if hi.sum() < 1 - 1e-9:
        caps = ", ".join(f"{d} <= {b:.4g}" for d, b in sorted(zip(domains, hi), key=lambda x: x[1]))
        raise MixInputError(f"weights cannot meet the budget: the max weights sum to {hi.sum():.4g} < 1 ({caps}); "
                            "allow more repetition, add data or lower the token budget")
    if lo.sum() > 1 + 1e-9:
        mins = ", ".join(f"{d} >= {a:.4g}" for d, a in zip(domains, lo) if a > 0)
        raise MixInputError(f"min weights sum to {lo.sum():.4g} > 1 ({mins})")
    return lo, hi


def caps_from_tokens(available_tokens: Mapping[str, float], total_tokens: float,
                     max_repetition: float | Mapping[str, float] = 1.0) -> dict[str, float]:
    """``max_k = available_k * repetition_k / total_tokens``: the share a domain can fill without repeating its
    tokens more than allowed. A domain with no tokens is an error (it can take no weight and gives no signal)."""
    if total_tokens <= 0:
        raise MixInputError(f"total_tokens must be > 0, got {total_tokens}")
    empty = [d for d, t in available_tokens.items() if not t or t <= 0]
    if empty:
        raise MixInputError(f"sources with no tokens: {_few(empty)}")
    caps = {}
    for d, t in available_tokens.items():
        r = max_repetition.get(d, 1.0) if isinstance(max_repetition, Mapping) else max_repetition
        caps[d] = float(t) * float(r) / float(total_tokens)
    return caps


def project(v: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Euclidean projection of each row of ``v`` onto ``{w : lo <= w <= hi, sum(w) = 1}`` (assumed non-empty).

    ``w = clip(v - tau, lo, hi)`` with ``tau`` per row: bisection, then an exact step on the free coordinates.
    """
    v = np.atleast_2d(np.asarray(v, dtype=float))
    a = (v - hi).min(axis=1)  # sum(clip(v - a)) = sum(hi) >= 1
    b = (v - lo).max(axis=1)  # sum(clip(v - b)) = sum(lo) <= 1
    for _ in range(45):  # to ~1e-13 of the interval; the exact step below does the rest
        mid = 0.5 * (a + b)
        s = np.clip(v - mid[:, None], lo, hi).sum(axis=1)
        above = s > 1
        a = np.where(above, mid, a)
        b = np.where(above, b, mid)
    tau = 0.5 * (a + b)
    w = np.clip(v - tau[:, None], lo, hi)
    free = (v - tau[:, None] > lo) & (v - tau[:, None] < hi)
    nfree = free.sum(axis=1)
    fixed_sum = np.where(free, 0.0, w).sum(axis=1)
    ok = nfree > 0
    tau2 = np.where(ok, (np.where(free, v, 0.0).sum(axis=1) - (1 - fixed_sum)) / np.maximum(nfree, 1), tau)
    w2 = np.where(free, v - tau2[:, None], w)
    good = ok & (np.abs(w2.sum(axis=1) - 1) <= np.abs(w.sum(axis=1) - 1)) & (w2 >= lo - 1e-12).all(axis=1) \
        & (w2 <= hi + 1e-12).all(axis=1)
    w = np.where(good[:, None], np.clip(w2, lo, hi), w)
    return w


def water_fill(base: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``clip(lam * base, lo, hi)`` with ``lam`` such that the weights sum to 1: the base's proportions, with the
    excess of a capped domain spread over the others in proportion to their base (UniMax on a uniform base)."""
    base = np.asarray(base, dtype=float)

    def total(lam: float) -> float:
        return float(np.clip(lam * base, lo, hi).sum())

    top = 1.0
    while total(top) < 1 and top < 1e18:
        top *= 2
    if total(top) < 1 - 1e-12:  # the base is zero where the remaining room is: fall back to projection
        return project(base / max(base.sum(), 1e-300), lo, hi)[0]
    bot = 0.0
    for _ in range(200):
        mid = 0.5 * (bot + top)
        if total(mid) < 1:
            bot = mid
        else:
            top = mid
    w = np.clip(top * base, lo, hi)
    return project(w, lo, hi)[0]  # closes the last 1e-16 of the sum


def round_weights(w: np.ndarray, decimals: int = 4, lo: np.ndarray | None = None,
                  hi: np.ndarray | None = None) -> np.ndarray:
    """Weights on a ``10**-decimals`` grid that sum to 1 exactly as decimals (largest remainder), keep zeros at
    zero and stay within ``lo``/``hi`` where the grid allows; the input unchanged if no such rounding exists."""
    w = np.asarray(w, dtype=float)
    lo = np.zeros_like(w) if lo is None else lo
    hi = np.ones_like(w) if hi is None else hi
    unit = 10 ** decimals
    scaled = w * unit
    units = np.floor(scaled + 1e-9).astype(np.int64)
    up_lo = np.ceil(lo * unit - 1e-9).astype(np.int64)
    units = np.maximum(units, np.where(w > 0, up_lo, 0))
    rest = unit - int(units.sum())
    order = np.argsort(-(scaled - units), kind="stable")
    room = (units + 1 <= np.floor(hi * unit + 1e-9)) & (w > 0)
    if rest > 0:
        for i in order:
            if rest == 0:
                break
            if room[i]:
                units[i] += 1
                rest -= 1
    elif rest < 0:
        for i in order[::-1]:
            if rest == 0:
                break
            if units[i] - 1 >= max(int(np.ceil(lo[i] * unit - 1e-9)), 0):
                units[i] -= 1
                rest += 1
    if rest != 0:
        return w
    return units / unit


# ---- sampling ----


def dirichlet_rows(rng: np.random.Generator, alpha: np.ndarray) -> np.ndarray:
    """One Dirichlet draw per row of ``alpha`` (> 0, any size), in log space so tiny concentrations never
    underflow to an all-zero row: ``G = G' * U**(1/a)`` with ``G' ~ Gamma(a + 1)``."""
    g = np.log(rng.standard_gamma(alpha + 1.0)) + np.log(rng.random(alpha.shape)) / alpha
    g -= g.max(axis=1, keepdims=True)
    e = np.exp(g)
    return e / e.sum(axis=1, keepdims=True)


def sample(rng: np.random.Generator, prior: np.ndarray, n: int, concentration: tuple[float, float]) -> np.ndarray:
    """``n`` Dirichlet candidates around ``prior``, concentration per domain log-uniform in ``concentration``."""
    lo_c, hi_c = concentration
    if not (0 < lo_c <= hi_c):
        raise MixInputError(f"concentration range must be 0 < low <= high, got {concentration}")
    s = np.exp(rng.uniform(math.log(lo_c), math.log(hi_c), size=n))
    alpha = np.maximum(prior, 1e-12)[None, :] * (len(prior) * s)[:, None]
    return dirichlet_rows(rng, alpha)


def temper(prior: np.ndarray, temperature: float) -> np.ndarray:
    if temperature <= 0:
        raise MixInputError(f"temperature must be > 0, got {temperature}")
    p = np.power(prior, temperature)
    return p / p.sum()


def _zero_small(w: np.ndarray, lo: np.ndarray, hi: np.ndarray, min_weight: float) -> np.ndarray:
    """Zero weights below ``min_weight`` (domains without a minimum), re-project within the caps; rows where the
    remaining domains' caps cannot reach 1 keep their small weights."""
    if min_weight <= 0:
        return w
    for _ in range(len(lo)):  # each pass zeroes at least one more domain of a row
        small = (w < min_weight) & (w > 0) & (lo[None, :] == 0)
        if not small.any():
            break
        his = np.where(small | (w == 0) & (lo[None, :] == 0), 0.0, hi[None, :])
        feasible = his.sum(axis=1) >= 1 - 1e-9
        rows = np.flatnonzero(small.any(axis=1) & feasible)
        if not len(rows):
            break
        for i in rows:  # a handful per batch; the bounds differ per row
            w[i] = project(w[i], lo, his[i])[0]
    return w


def baselines(domains: Sequence[str], prior: Mapping[str, float] | Sequence[float] | None = None,
              max_weights=None, min_weights=None, decimals: int = 4) -> pd.DataFrame:
    """``natural`` (the prior, capped: its proportions kept, a capped domain's excess spread over the others in
    proportion), ``uniform`` (1/K, capped the same way) and ``unimax`` (UniMax: a uniform budget in which a domain
    that cannot fill its share within its epoch cap gets its cap and the rest is shared evenly again; this is
    water-filling, and it equals ``uniform`` whenever the caps are the epoch caps and no minimum is set, which is
    the usual case: both ids are kept so later steps can name either)."""
    domains = list(domains)
    lo, hi = bounds(domains, max_weights, min_weights)
    p = prior_vector(domains, prior)
    k = len(domains)
    rows = {
        "natural": water_fill(p, lo, hi),
        "uniform": water_fill(np.ones(k), lo, hi),
        "unimax": _unimax(hi, lo),
    }
    out = pd.DataFrame({r: round_weights(v, decimals, lo, hi) for r, v in rows.items()}, index=domains).T
    out.index.name = "run"
    return out


def _unimax(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """UniMax (Chung et al., 2023): visit domains from the smallest cap up; each gets min(its cap, the remaining
    budget split evenly over the domains left); minimums are then honoured by projection."""
    k = len(hi)
    w = np.zeros(k)
    budget = 1.0
    for j, i in enumerate(np.argsort(hi, kind="stable")):
        share = budget / (k - j)
        w[i] = min(hi[i], share)
        budget -= w[i]
    return project(w, lo, hi)[0]


def propose(domains: Sequence[str], prior: Mapping[str, float] | Sequence[float] | None = None, n: int = 64,
            seed: int = 0, max_weights: Mapping[str, float] | None = None,
            min_weights: Mapping[str, float] | None = None, temperature: float = 0.5,
            concentration: tuple[float, float] = (0.1, 5.0), min_weight: float = 0.01, decimals: int = 4,
            dedup_decimals: int = 3, include_baselines: bool = True) -> pd.DataFrame:
    """A ratios table: ``natural``, ``uniform``, ``unimax`` (when ``include_baselines``) then ``n`` distinct
    candidates ``r000``, ``r001``, ... (index ``run``; one column per domain, in ``domains`` order; rows sum to 1).

    ``prior``: token shares by domain (uniform when None). ``max_weights``/``min_weights``: per-domain bounds by
    name (caps from token availability x max repetition / final token budget: :func:`caps_from_tokens`).
    """
    domains = [str(d) for d in domains]
    if n < 0:
        raise MixInputError(f"n must be >= 0, got {n}")
    lo, hi = bounds(domains, max_weights, min_weights)
    p = prior_vector(domains, prior)
    p_t = temper(p, temperature)
    rng = np.random.default_rng(seed)

    base = baselines(domains, p, hi, lo, decimals) if include_baselines else pd.DataFrame(columns=domains)
    seen = {tuple(np.round(r, dedup_decimals)) for r in base.to_numpy()}
    found: list[np.ndarray] = []
    batch = max(256, 4 * n)
    attempts = fruitless = 0
    while len(found) < n:
        attempts += 1
        if attempts > 200 or fruitless >= 5:  # 5 batches in a row without a new mixture: the space is exhausted
            raise MixInputError(f"found only {len(found)} distinct mixtures of {n} under these bounds "
                                f"(after {(attempts - 1) * batch} draws): ask for fewer, or loosen the caps, "
                                "min_weight or the dedup precision")
        before = len(found)
        w = project(sample(rng, p_t, batch, concentration), lo, hi)
        w = _zero_small(w, lo, hi, min_weight)
        for row in w:
            r = round_weights(row, decimals, lo, hi)
            key = tuple(np.round(r, dedup_decimals))
            if key in seen:
                continue
            seen.add(key)
            found.append(r)
            if len(found) == n:
                break
        fruitless = fruitless + 1 if len(found) == before else 0
    width = max(3, len(str(max(n - 1, 0))))
    props = pd.DataFrame(np.array(found).reshape(-1, len(domains)), columns=domains,
                         index=[f"r{i:0{width}d}" for i in range(len(found))])
    out = pd.concat([base, props]) if include_baselines else props
    out.index.name = "run"
    out.columns = list(domains)
    return out.astype(float)
