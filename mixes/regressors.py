"""Regressors from mixture weights to a target (a loss), one interface (scikit-learn style):

    model = make_regressor("loglinear").fit(X, y)      # X: DataFrame, one column per domain; y: array
    model.predict(X2)                                  # X2 reordered by domain *name*, never by position
    model.score(X2, y2)                                # {"spearman", "pearson", "mae", "n"}
    regressor_from_dict(json.loads(json.dumps(model.to_dict())))   # JSON round trip; never pickle

* ``linear``: ordinary least squares ``y = a + c . w`` (least-squares solution of minimum norm: the weights sum to
  one, so the intercept and the coefficients are collinear; the minimum-norm split is unique and predictions on
  the simplex do not depend on it).
* ``loglinear``: Olmix's mixing law ``y = c + exp(b + t . w)``, by nonlinear least squares. On the simplex ``b`` and
  a shift of all ``t`` are the same thing (``b + t . w = (t + b) . w`` when ``sum(w) = 1``), so the fit uses
  ``c + exp(t . w)`` and reports ``b = mean(t)`` with ``t`` centred (``t_k``: a domain's effect on the log of the
  reducible part of the loss, relative to the others). Starts: ``c0 = min(y) - d`` for a few gaps ``d`` spread
  over the target's range, each with ``t0`` from an ordinary least-squares fit of ``log(y - c0)`` on ``w`` (exact
  when ``c0`` is right), plus seeded perturbations; ``scipy.optimize.least_squares`` (Levenberg-Marquardt,
  analytic Jacobian) from each; the lowest residual wins.
* ``lightgbm``: gradient-boosted trees as in RegMix (``objective=regression``, ``num_leaves=31``); learning rate
  0.05 (RegMix: 0.01 with 1000 rounds; the same fit in a quarter of the trees); ``min_child_samples =
  max(2, n // 20)`` so a 64-run swarm can still split. The number of rounds is chosen by early stopping (20 rounds
  of patience, at most 2000) on a seeded 20% of the *training* rows, then the model is refitted on all of them
  with the rounds scaled by n / n_train. (RegMix stopped early on its test set; here test rows never steer a fit.)
  Deterministic: ``seed``, ``deterministic=True``, row-wise histograms, ``n_jobs`` threads (default 1).
* ``auto``: k-fold cross-validation (default 5 folds, seeded) of each of the above on the training rows; the one
  with the best cross-validated Spearman is refitted on all rows.
"""
from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from mixes.regressor_base import MixRegressor, _as_matrix, scores  # noqa: F401 (scores: re-exported)
from mixes.tables import MixInputError

NAMES = ("linear", "loglinear", "lightgbm")


# ---- linear ----


class LinearRegressor(MixRegressor):
    name = "linear"

    def __init__(self, ridge: float = 0.0) -> None:
        super().__init__()
        self.ridge = float(ridge)

    def get_params(self) -> dict[str, Any]:
        return {"ridge": self.ridge}

    def _fit(self, W: np.ndarray, y: np.ndarray) -> None:
        A = np.column_stack([np.ones(len(W)), W])
        if self.ridge > 0:  # penalise the coefficients, not the intercept
            P = math.sqrt(self.ridge) * np.eye(A.shape[1])[1:]
            A = np.vstack([A, P])
            y = np.concatenate([y, np.zeros(len(P))])
        sol = np.linalg.lstsq(A, y, rcond=None)[0]
        self.intercept_ = float(sol[0])
        self.coef_ = sol[1:].astype(float)

    def _predict(self, W: np.ndarray) -> np.ndarray:
        return self.intercept_ + W @ self.coef_

    def _state(self) -> dict[str, Any]:
        return {"intercept": self.intercept_, "coef": dict(zip(self.domains_, map(float, self.coef_)))}

    def _load_state(self, d: dict[str, Any]) -> None:
        self.intercept_ = float(d["intercept"])
        self.coef_ = np.array([float(d["coef"][k]) for k in self.domains_])


# ---- log-linear mixing law ----


class LogLinearRegressor(MixRegressor):
    name = "loglinear"

    def __init__(self, restarts: int = 2, seed: int = 0, ridge: float = 0.0) -> None:
        super().__init__()
        self.restarts = int(restarts)
        self.seed = int(seed)
        self.ridge = float(ridge)

    def get_params(self) -> dict[str, Any]:
        return {"restarts": self.restarts, "seed": self.seed, "ridge": self.ridge}

    def _fit(self, W: np.ndarray, y: np.ndarray) -> None:
        n, k = W.shape
        # below k + 1 runs the law is not identified: a little ridge on t picks the smallest effects
        ridge = self.ridge if self.ridge > 0 else (1e-3 if n <= k + 1 else 0.0)
        scale = max(float(np.ptp(y)), 1e-6 * max(1.0, abs(float(y.mean()))))
        sq = math.sqrt(ridge * n) if ridge > 0 else 0.0

        def resid(p):
            r = p[0] + np.exp(np.clip(W @ p[1:], -50, 50)) - y
            if sq:
                t = p[1:] - p[1:].mean()
                return np.concatenate([r, sq * t])
            return r

        def jac(p):
            e = np.exp(np.clip(W @ p[1:], -50, 50))
            J = np.column_stack([np.ones(n), W * e[:, None]])
            if sq:
                C = np.eye(k) - 1.0 / k
                J = np.vstack([J, np.column_stack([np.zeros(k), sq * C])])
            return J

        starts = []
        for gap in (0.1, 1.0, 10.0):
            c0 = float(y.min()) - gap * scale
            t0 = np.linalg.lstsq(W, np.log(y - c0), rcond=None)[0]
            starts.append(np.concatenate([[c0], t0]))
        rng = np.random.default_rng(self.seed)
        results = [least_squares(resid, x0, jac=jac, method="lm", x_scale="jac", max_nfev=2000) for x0 in starts]
        best = min(results, key=lambda r: r.cost)
        for _ in range(self.restarts):  # perturbations of the best start: a shallower or deeper floor c
            x0 = best.x.copy()
            x0[0] -= rng.uniform(-0.5, 1.0) * scale
            x0[1:] += rng.normal(0, 0.1, size=k)
            r = least_squares(resid, x0, jac=jac, method="lm", x_scale="jac", max_nfev=2000)
            if r.cost < best.cost:
                best = r
        self.c_ = float(best.x[0])
        t = best.x[1:]
        self.b_ = float(t.mean())
        self.t_ = (t - t.mean()).astype(float)
        self.cost_ = float(best.cost)

    def _predict(self, W: np.ndarray) -> np.ndarray:
        return self.c_ + np.exp(np.clip(self.b_ + W @ self.t_, -50, 50))

    def _state(self) -> dict[str, Any]:
        return {"law": "y = c + exp(b + t . w)", "c": self.c_, "b": self.b_,
                "t": dict(zip(self.domains_, map(float, self.t_)))}

    def _load_state(self, d: dict[str, Any]) -> None:
        self.c_ = float(d["c"])
        self.b_ = float(d["b"])
        self.t_ = np.array([float(d["t"][k]) for k in self.domains_])


# ---- LightGBM ----


class LightGBMRegressor(MixRegressor):
    name = "lightgbm"

    def __init__(self, learning_rate: float = 0.05, num_leaves: int = 31, min_child_samples: int | None = None,
                 max_rounds: int = 2000, patience: int = 20, valid_fraction: float = 0.2, seed: int = 0,
                 n_jobs: int = 1) -> None:
        super().__init__()
        self.learning_rate = float(learning_rate)
        self.num_leaves = int(num_leaves)
        self.min_child_samples = min_child_samples
        self.max_rounds = int(max_rounds)
        self.patience = int(patience)
        self.valid_fraction = float(valid_fraction)
        self.seed = int(seed)
        self.n_jobs = int(n_jobs)

    def get_params(self) -> dict[str, Any]:
        return {"learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
                "min_child_samples": self.min_child_samples, "max_rounds": self.max_rounds,
                "patience": self.patience, "valid_fraction": self.valid_fraction, "seed": self.seed,
                "n_jobs": self.n_jobs}

    def _lgb_params(self, n: int) -> dict[str, Any]:
        mcs = self.min_child_samples if self.min_child_samples is not None else max(2, n // 20)
        return {"objective": "regression", "boosting_type": "gbdt", "learning_rate": self.learning_rate,
                "num_leaves": self.num_leaves, "min_data_in_leaf": int(mcs), "min_data_in_bin": min(3, int(mcs)),
                "feature_pre_filter": False, "seed": self.seed, "deterministic": True, "force_row_wise": True,
                "num_threads": self.n_jobs, "verbosity": -1}

    def _fit(self, W: np.ndarray, y: np.ndarray) -> None:
        import lightgbm as lgb

        n = len(y)
        params = self._lgb_params(n)
        n_valid = int(round(n * self.valid_fraction))
        if n_valid >= 4 and n - n_valid >= 8 and self.patience > 0:
            perm = np.random.default_rng(self.seed).permutation(n)
            va, tr = perm[:n_valid], perm[n_valid:]
            dtr = lgb.Dataset(W[tr], y[tr], params={"verbosity": -1}, free_raw_data=False)
            dva = lgb.Dataset(W[va], y[va], reference=dtr)
            probe = lgb.train(params, dtr, num_boost_round=self.max_rounds, valid_sets=[dva],
                              callbacks=[lgb.early_stopping(self.patience, verbose=False)],
                              keep_training_booster=True)  # skips a text round trip of the model
            best = probe.best_iteration or self.max_rounds
            rounds = max(1, min(self.max_rounds, int(round(best * n / len(tr)))))
        else:  # too few runs to hold any out: a fixed budget
            rounds = min(self.max_rounds, 200)
        self.rounds_ = rounds
        self.booster_ = lgb.train(params, lgb.Dataset(W, y, params={"verbosity": -1}), num_boost_round=rounds,
                                  keep_training_booster=True)

    def _predict(self, W: np.ndarray) -> np.ndarray:
        return self.booster_.predict(W, num_threads=self.n_jobs)

    def _state(self) -> dict[str, Any]:
        return {"rounds": self.rounds_, "model": self.booster_.model_to_string()}

    def _load_state(self, d: dict[str, Any]) -> None:
        import lightgbm as lgb

        self.rounds_ = int(d.get("rounds", 0))
        self.booster_ = lgb.Booster(model_str=d["model"])


# ---- cross-validation and the automatic choice ----


def make_regressor(name: str, seed: int = 0, **params) -> MixRegressor:
    """A fresh regressor by name (``linear``, ``loglinear``, ``lightgbm``, ``auto``); ``seed`` where it has one."""
    if name not in REGRESSORS:
        raise MixInputError(f"unknown regressor {name!r}; choose one of {', '.join(REGRESSORS)}")
    cls = REGRESSORS[name]
    if name in ("loglinear", "lightgbm", "auto"):
        params.setdefault("seed", seed)
    return cls(**params)


def cross_validate(name: str, X: pd.DataFrame, y, folds: int = 5, seed: int = 0, **params) -> dict[str, Any]:
    """k-fold (shuffled, seeded) figures of one regressor on the given rows: Spearman, Pearson and MAE of the pooled
    out-of-fold predictions, the mean and spread of the per-fold Spearman, and the fit time."""
    y = np.asarray(y, dtype=float).ravel()
    return kfold_figures(name, X, y, lambda tr: make_regressor(name, seed=seed, **params).fit(X.iloc[tr], y[tr]),
                         folds, seed)


def kfold_figures(name: str, X: pd.DataFrame, y: np.ndarray, fit_rows, folds: int, seed: int) -> dict[str, Any]:
    """:func:`cross_validate`'s figures for any model: ``fit_rows(train row indexes)`` returns a fitted model whose
    ``predict`` scores the held-out rows; ``y`` is what its predictions are judged against."""
    from sklearn.model_selection import KFold

    n = len(y)
    k = min(int(folds), n)
    if k < 2:
        raise MixInputError(f"cross-validation needs at least 2 folds and 2 runs (folds={folds}, runs={n})")
    oof = np.empty(n)
    per_fold = []
    t0 = time.perf_counter()
    for tr, te in KFold(n_splits=k, shuffle=True, random_state=seed).split(np.arange(n)):
        oof[te] = fit_rows(tr).predict(X.iloc[te])
        per_fold.append(scores(y[te], oof[te])["spearman"])
    seconds = time.perf_counter() - t0
    s = scores(y, oof)
    pf = np.array(per_fold, dtype=float)
    return {"regressor": name, "folds": k, "spearman": s["spearman"], "pearson": s["pearson"], "mae": s["mae"],
            "fold_spearman_mean": float(np.nanmean(pf)) if np.isfinite(pf).any() else float("nan"),
            "fold_spearman_std": float(np.nanstd(pf)) if np.isfinite(pf).any() else float("nan"),
            "cv_seconds": round(seconds, 3), "oof": oof}


def _rank_key(row: dict[str, Any]) -> tuple:
    rho = row["spearman"]
    return (-(rho if np.isfinite(rho) else -2.0), row["mae"], NAMES.index(row["regressor"]))


def _one_standard_error_choice(rows: list[dict[str, Any]]) -> str:
    """The simplest candidate (``NAMES`` order) whose pooled Spearman is within one standard error of the best's
    (its fold Spearmans' std / sqrt(folds)): a tree model that ranks held-out runs no better than a linear law
    beyond the folds' noise predicts a step function, whose optimum is a blurred average of training mixtures,
    while the simpler law extrapolates smoothly (RegMix: linear regression picks the best mixture)."""
    best = rows[0]
    spread = best.get("fold_spearman_std")
    se = spread / np.sqrt(best["folds"]) if spread is not None and np.isfinite(spread) else 0.0
    close = [r for r in rows if np.isfinite(r["spearman"]) and r["spearman"] >= best["spearman"] - se]
    return min(close, key=lambda r: NAMES.index(r["regressor"]))["regressor"] if close else best["regressor"]


class AutoRegressor(MixRegressor):
    """Cross-validates each candidate on the training rows and keeps the simplest whose pooled out-of-fold Spearman
    is within one standard error of the best (:func:`_one_standard_error_choice`), refitted on all rows. ``cv_``
    holds every candidate's figures, best first."""

    name = "auto"

    def __init__(self, candidates: Sequence[str] = NAMES, folds: int = 5, seed: int = 0) -> None:
        super().__init__()
        unknown = [c for c in candidates if c not in NAMES]
        if unknown:
            raise MixInputError(f"unknown regressors {unknown}; choose from {', '.join(NAMES)}")
        self.candidates = list(candidates)
        self.folds = int(folds)
        self.seed = int(seed)

    def get_params(self) -> dict[str, Any]:
        return {"candidates": list(self.candidates), "folds": self.folds, "seed": self.seed}

    def fit(self, X, y) -> AutoRegressor:
        W, domains = _as_matrix(X, None)
        Xf = pd.DataFrame(W, columns=domains)
        y = np.asarray(y, dtype=float).ravel()
        rows = [cross_validate(c, Xf, y, folds=self.folds, seed=self.seed) for c in self.candidates]
        rows.sort(key=_rank_key)
        self.cv_ = [{k: v for k, v in r.items() if k != "oof"} for r in rows]
        self.oof_ = {r["regressor"]: r["oof"] for r in rows}  # out-of-fold predictions, in the rows' order
        self.chosen_ = _one_standard_error_choice(rows)
        self.best_ = make_regressor(self.chosen_, seed=self.seed).fit(Xf, y)
        self.domains_ = domains
        return self

    def _predict(self, W: np.ndarray) -> np.ndarray:
        return self.best_._predict(W)

    def _state(self) -> dict[str, Any]:
        return {"chosen": self.chosen_, "cv": self.cv_, "model": self.best_.to_dict()}

    def _load_state(self, d: dict[str, Any]) -> None:
        self.chosen_ = d["chosen"]
        self.cv_ = d.get("cv", [])
        self.best_ = regressor_from_dict(d["model"])


REGRESSORS: dict[str, type[MixRegressor]] = {
    "linear": LinearRegressor,
    "loglinear": LogLinearRegressor,
    "lightgbm": LightGBMRegressor,
    "auto": AutoRegressor,
}


def regressor_from_dict(d: dict[str, Any]) -> MixRegressor:
    name = d.get("name")
    if name == "weighted_sum":  # an objective fitted per eval set (mixes/per_target.py)
        from mixes.per_target import WeightedSumRegressor

        return WeightedSumRegressor.from_dict(d)
    if name not in REGRESSORS:
        raise MixInputError(f"unknown regressor {name!r} in a saved model")
    return REGRESSORS[name].from_dict(d)


def inner(model: MixRegressor) -> MixRegressor:
    """The model that actually predicts (an ``auto`` regressor's chosen one)."""
    return model.best_ if isinstance(model, AutoRegressor) else model
