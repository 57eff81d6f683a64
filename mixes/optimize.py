"""Pick the mixture a fitted regressor predicts best, within per-domain bounds, and write it as a mix file.

    minimise   f(w) + lam * KL(w || prior)
    subject to sum(w) = 1,  min_k <= w_k <= max_k          (max_k: availability x max repetition / budget)

``f`` is the fitted prediction of the target (or objective). The KL term keeps the answer near the prior, i.e. in
the region the proxy swarm sampled, instead of at a corner no proxy visited. ``lam`` is in the target's units
(nats of loss per nat of KL): the default 0.05 is Olmix's, and on a loss that is a mild pull (moving to a mixture
at KL 1 from the prior, a large move, must buy 0.05 of predicted loss); 0 turns it off. Domains with a zero prior
are held at zero when ``lam > 0`` (KL would be infinite there).

Methods:

* ``exact`` (linear and log-linear models, and weighted sums of them: an objective fitted per eval set): with
  ``lam = 0`` a linear model or one log-linear law is a linear program (the law ``c + exp(b + t . w)`` is monotone
  in ``t . w``), solved by ``scipy.optimize.linprog`` (HiGHS); otherwise the problem is convex (linear and
  exp-affine terms with positive weights, plus KL) and is solved by SLSQP with analytic gradients from several
  starts (the prior, uniform and, where there is one, the LP vertex blended with the prior, each projected onto
  the bounds).
* ``search`` (any model): RegMix's simulation. ``n_candidates`` (100k) Dirichlet draws around the prior with a
  log-uniform concentration per draw (the proposer's sampler); those within the bounds are kept (if fewer than
  ``10 * top_k`` are, every draw is projected onto the bounds instead); the ``top_k`` (100) with the lowest
  ``f + lam * KL`` are averaged (RegMix averages its top 128). Then ``rounds - 1`` refinement rounds (as Olmix
  iterates its search): ``n_candidates`` more draws around the current average, 10x more concentrated each
  round and projected onto the bounds (so an optimum on a cap is reachable), pooled with the top k so far, and
  averaged again. One round is RegMix's search exactly; three (the default) bring a linear model's answer from
  0.13 to 0.002 above its exact optimum (a vertex) in a 4-domain test. The average is projected onto the bounds (a no-op
  up to rounding: the set is convex). Deterministic for a seed.
* ``auto``: exact where the model allows it, else search.
"""
from __future__ import annotations

import datetime as _dt
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import yaml
from scipy.optimize import linprog, minimize

from mixes.propose import bounds, prior_vector, project, round_weights, sample
from mixes.regressors import LinearRegressor, LogLinearRegressor, MixRegressor, inner
from mixes.tables import MixInputError

DEFAULT_KL = 0.05


@dataclass
class OptimizeResult:
    weights: dict[str, float]          # by domain, in the model's domain order; sums to 1
    predicted: float                   # the model's prediction at ``weights``
    objective: float                   # predicted + kl_penalty * kl
    kl: float                          # KL(weights || prior), nats
    method: str                        # exact-lp | exact-convex | search
    prior: dict[str, float]
    kl_penalty: float
    max_weights: dict[str, float]
    min_weights: dict[str, float]
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"weights": self.weights, "predicted": self.predicted, "objective": self.objective, "kl": self.kl,
                "method": self.method, "prior": self.prior, "kl_penalty": self.kl_penalty,
                "max_weights": self.max_weights, "min_weights": self.min_weights, "details": self.details}


def kl_divergence(w: np.ndarray, q: np.ndarray) -> np.ndarray:
    """KL(w || q) per row, ``0 log 0 = 0``; infinite where w > 0 and q = 0."""
    w = np.atleast_2d(w)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(w > 0, w * (np.log(np.where(w > 0, w, 1.0)) - np.log(np.where(q > 0, q, 1e-300))), 0.0)
        terms = np.where((w > 0) & (q <= 0), np.inf, terms)
    return terms.sum(axis=1)


def _model_of(model) -> MixRegressor:
    m = getattr(model, "model", model)  # a FitResult carries its regressor as .model
    if not isinstance(m, MixRegressor):
        raise MixInputError(f"optimize needs a fitted regressor or fit result, got {type(model).__name__}")
    m._check_fitted()
    return m


def optimize(model, prior: Mapping[str, float] | Sequence[float] | None = None,
             max_weights: Mapping[str, float] | None = None, min_weights: Mapping[str, float] | None = None,
             kl_penalty: float = DEFAULT_KL, method: str = "auto", n_candidates: int = 100_000, top_k: int = 100,
             seed: int = 0, concentration: tuple[float, float] = (0.1, 5.0), rounds: int = 3) -> OptimizeResult:
    """The mixture minimising ``prediction + kl_penalty * KL(w || prior)`` within the bounds (see the module doc).

    ``model``: a fitted regressor (or a :class:`mixes.fit.FitResult`); its domain list orders everything, the
    bounds and the prior are matched to it by name. ``prior``: token shares (uniform when None).
    """
    model = _model_of(model)
    domains = list(model.domains_)
    if kl_penalty < 0 or not math.isfinite(kl_penalty):
        raise MixInputError(f"kl_penalty must be >= 0, got {kl_penalty}")
    lo, hi = bounds(domains, max_weights, min_weights)
    q = prior_vector(domains, prior)
    if kl_penalty > 0 and (q == 0).any():
        need = [d for d, a, p in zip(domains, lo, q) if p == 0 and a > 0]
        if need:
            raise MixInputError(f"domains with a minimum weight but no prior share (KL would be infinite): {need}")
        hi = np.where(q == 0, 0.0, hi)
        if hi.sum() < 1 - 1e-9:
            raise MixInputError("with the KL penalty, domains without prior share are held at 0 and the others' "
                                f"max weights sum to {hi.sum():.4g} < 1; give them a prior share or set kl_penalty 0")
    core = inner(model)
    exact_ok = _gradient(core) is not None
    if method not in ("auto", "exact", "search"):
        raise MixInputError(f"unknown method {method!r}: auto, exact or search")
    if method == "exact" and not exact_ok:
        raise MixInputError(f"no exact solve for the {core.name} regressor; use method='search'")
    use_exact = exact_ok and method in ("auto", "exact")

    def objective(W: np.ndarray) -> np.ndarray:
        pred = model._predict(np.atleast_2d(W))
        return pred + kl_penalty * kl_divergence(W, q) if kl_penalty > 0 else pred

    details: dict[str, Any] = {}
    if use_exact:
        w, how = _exact(core, q, lo, hi, kl_penalty, objective)
    else:
        w, details = _search(objective, q, lo, hi, n_candidates, top_k, seed, concentration, rounds)
        how = "search"
    w = project(w, lo, hi)[0]
    w = np.where(w < 1e-12, 0.0, w)
    w = project(w, lo, hi)[0]
    pred = float(model._predict(w[None, :])[0])
    kl = float(kl_divergence(w, q)[0])
    details["predicted_at_prior"] = float(model._predict(project(q, lo, hi))[0])
    return OptimizeResult(
        weights=dict(zip(domains, map(float, w))), predicted=pred,
        objective=pred + kl_penalty * kl if kl_penalty > 0 else pred, kl=kl, method=how,
        prior=dict(zip(domains, map(float, q))), kl_penalty=float(kl_penalty),
        max_weights=dict(zip(domains, map(float, hi))), min_weights=dict(zip(domains, map(float, lo))),
        details=details)


# ---- exact ----


def _gradient(core: MixRegressor):
    """``w -> grad f(w)`` for the models with a convex prediction (linear, log-linear, positive sums of them);
    None for the others."""
    if isinstance(core, LinearRegressor):
        return lambda w: core.coef_
    if isinstance(core, LogLinearRegressor):
        return lambda w: math.exp(min(core.b_ + float(w @ core.t_), 50.0)) * core.t_
    parts = getattr(core, "components_", None)
    if not parts or any(weight < 0 for weight, _ in parts.values()):
        return None
    grads = [(weight, _gradient(m)) for weight, m in parts.values()]
    if any(g is None for _, g in grads):
        return None
    return lambda w: sum(weight * g(w) for weight, g in grads)


def _lp_direction(core: MixRegressor) -> np.ndarray | None:
    """The cost vector whose linear program is the model's exact optimum without KL (None: not linear in effect)."""
    if isinstance(core, LinearRegressor):
        return core.coef_.copy()
    if isinstance(core, LogLinearRegressor):
        return core.t_.copy()  # exp(b + t.w) is monotone in t.w
    parts = getattr(core, "components_", None)
    if parts and all(isinstance(m, LinearRegressor) for _, m in parts.values()):
        return sum(weight * m.coef_ for weight, m in parts.values())
    return None


def _exact(core: MixRegressor, q: np.ndarray, lo: np.ndarray, hi: np.ndarray, lam: float, objective
           ) -> tuple[np.ndarray, str]:
    c = _lp_direction(core)
    w_lp = None
    if c is not None:
        lp = linprog(c, A_eq=np.ones((1, len(c))), b_eq=[1.0], bounds=list(zip(lo, hi)), method="highs")
        if lp.status != 0:
            raise MixInputError(f"the linear program found no mixture within the bounds: {lp.message}")
        w_lp = np.asarray(lp.x, dtype=float)
        if lam <= 0:
            return w_lp, "exact-lp"

    keep = hi > 0
    lo_s = np.maximum(lo, np.where(keep, 1e-12, 0.0))
    free = np.flatnonzero(keep)
    grad_f = _gradient(core)

    def fun(x):
        w = np.zeros(len(q))
        w[free] = x
        return float(objective(w)[0])

    def jac(x):
        w = np.zeros(len(q))
        w[free] = x
        g = grad_f(w)
        if lam > 0:
            g = g + lam * (np.log(np.maximum(w, 1e-300)) - np.log(np.maximum(q, 1e-300)) + 1.0)
        return g[free]

    starts = [q, np.full(len(q), 1.0 / len(q))] + ([0.5 * (w_lp + q)] if w_lp is not None else [])
    best = None
    for s in starts:
        x0 = project(s, lo_s, hi)[0][free]
        res = minimize(fun, x0, jac=jac, method="SLSQP", bounds=list(zip(lo_s[free], hi[free])),
                       constraints=[{"type": "eq", "fun": lambda x: x.sum() - 1.0,
                                     "jac": lambda x: np.ones_like(x)}],
                       options={"ftol": 1e-13, "maxiter": 1000})
        w = np.zeros(len(q))
        w[free] = res.x
        w = project(w, lo_s, hi)[0]
        val = float(objective(w)[0])
        if best is None or val < best[1]:
            best = (w, val)
    return best[0], "exact-convex"


# ---- search ----


def _search(objective, q: np.ndarray, lo: np.ndarray, hi: np.ndarray, n: int, top_k: int, seed: int,
            concentration: tuple[float, float], rounds: int) -> tuple[np.ndarray, dict[str, Any]]:
    if n < top_k or top_k < 1:
        raise MixInputError(f"the search needs n_candidates >= top_k >= 1 (got {n}, {top_k})")
    if rounds < 1:
        raise MixInputError(f"the search needs rounds >= 1, got {rounds}")
    rng = np.random.default_rng(seed)
    tol = 1e-9
    chunk = 50_000

    def draw(center: np.ndarray, conc: tuple[float, float]) -> np.ndarray:
        return np.concatenate([sample(rng, center, min(chunk, n - i), conc) for i in range(0, n, chunk)])

    def score(W: np.ndarray) -> np.ndarray:
        return np.concatenate([objective(W[i:i + chunk]) for i in range(0, len(W), chunk)])

    # round 1 (RegMix): around the prior; keep the draws within the bounds
    W = draw(q, concentration)
    inside = ((W >= lo - tol) & (W <= hi + tol)).all(axis=1)
    n_inside = int(inside.sum())
    projected = n_inside < 10 * top_k
    W = project(W, lo, hi) if projected else W[inside]
    vals = score(W)
    history = []
    for r in range(1, rounds + 1):
        order = np.argsort(vals, kind="stable")[:top_k]
        w = W[order].mean(axis=0)
        history.append(float(vals[order].mean()))
        if r == rounds:
            break
        # refinement (as Olmix's iterated search): draws around the current top-k mean, 10x more concentrated
        # each round, projected onto the bounds so a optimum on a cap stays reachable; pooled with the others
        scale = 10.0 ** r
        center = np.maximum(w, 1e-6)
        Wr = project(draw(center / center.sum(), (concentration[0] * scale, concentration[1] * scale)), lo, hi)
        W = np.concatenate([W[order], Wr])
        vals = np.concatenate([vals[order], score(Wr)])
    details = {"n_candidates": int(n) * rounds, "rounds": int(rounds), "n_within_bounds_round1": n_inside,
               "projected_round1": projected, "top_k": int(top_k), "seed": int(seed),
               "concentration": list(concentration), "top_k_objective_mean_per_round": history,
               "best_candidate_objective": float(vals.min())}
    return w, details


# ---- the mix file ----


def _plain(x):
    """YAML-safe plain Python values (numpy scalars/arrays, tuples, NaN -> None)."""
    if isinstance(x, Mapping):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return [_plain(v) for v in x.tolist()]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return None if not math.isfinite(v) else v
    if isinstance(x, (np.bool_,)):
        return bool(x)
    if isinstance(x, (_dt.datetime, _dt.date)):
        return x.isoformat()
    return x


def write_mix_file(path: str | os.PathLike[str], weights: Mapping[str, float], max_repetition: float |
                   Mapping[str, float] = 1.0, total_tokens: int | None = None,
                   provenance: Mapping[str, Any] | None = None, max_weights: Mapping[str, float] | None = None,
                   decimals: int = 4) -> dict[str, float]:
    """Write a mix file the ``shards`` stage reads: ``weights``, ``total_tokens`` (when given), ``max_repetition``
    and one extra key, ``provenance`` (predicted objective, regressor, CV figures, inputs...).

    Weights are rounded to ``decimals`` so that, as written, they sum to 1 exactly (largest remainder), staying
    within ``max_weights`` when given. Returns the weights as written.
    """
    names = [str(k) for k in weights]
    w = np.array([float(weights[k]) for k in weights], dtype=float)
    if not len(w) or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise MixInputError("mix weights must be finite, >= 0 and not all zero")
    w = w / w.sum()
    hi = None
    if max_weights is not None:
        hi = np.array([min(float(max_weights.get(k, 1.0)), 1.0) for k in names])
        w = project(w, np.zeros(len(w)), hi)[0] if hi.sum() >= 1 else w
    r = round_weights(w, decimals, None, hi)
    if not np.allclose(r, np.round(r, decimals)):  # no grid point within the caps: round without them
        r = round_weights(w, decimals)
    written = {k: round(float(v), decimals) for k, v in zip(names, r)}
    doc: dict[str, Any] = {"weights": written}
    if total_tokens is not None:
        if int(total_tokens) <= 0:
            raise MixInputError(f"total_tokens must be > 0, got {total_tokens}")
        doc["total_tokens"] = int(total_tokens)
    if isinstance(max_repetition, Mapping):
        doc["max_repetition"] = {str(k): float(v) for k, v in max_repetition.items()}
    else:
        doc["max_repetition"] = float(max_repetition)
    if provenance:
        doc["provenance"] = _plain(dict(provenance))
    path = os.fspath(path)
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("# Data mixture written by `curate mix optimize`: token share per source, read by the shards stage.\n"
                "# `provenance` records how it was chosen (the regressor, its cross-validated fit, the prediction).\n")
        yaml.safe_dump(doc, f, sort_keys=False, default_flow_style=False, width=120)
    return written
