"""Fit a regressor from a swarm's tables, cross-validate it, save/load it as JSON (+ LightGBM's model text), and
predict new mixtures.

    result = fit_tables("ratios.csv", "metrics.csv", target="metric/the_pile_pile_cc_val_loss")
    result = fit_tables(r, m, targets={"eval/web/loss": 0.5, "eval/code/loss": 0.5})   # an objective
    save_fit(result, "runs/fit");  fit = load_fit("runs/fit")
    predict_table(fit, "candidates.csv")        # DataFrame: run, predicted

``fit.json`` holds the domains in order, the target (column or weighted objective), the chosen regressor's name,
parameters and state (a LightGBM model's text goes beside it in ``lightgbm.txt``), the cross-validation table and
the number of runs. Nothing is pickled.
"""
from __future__ import annotations

import json
import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mixes.regressors import (REGRESSORS, AutoRegressor, MixRegressor, cross_validate, inner,
                              make_regressor, regressor_from_dict, scores)
from mixes.tables import (MixInputError, TableLike, join, load_metrics, load_ratios, target_name,
                          target_values)

FIT_FILE = "fit.json"
FORMAT = 1


@dataclass
class FitResult:
    domains: list[str]                    # the one ordered domain list
    targets: dict[str, float]             # {metric column: weight}; one column with weight 1 for a plain target
    model: MixRegressor                   # fitted on all runs (for ``auto``: the regressor it chose)
    requested: str                        # linear | loglinear | lightgbm | auto
    cv: pd.DataFrame                      # one row per regressor tried: spearman, pearson, mae, fold spread, time
    n_runs: int
    folds: int
    seed: int
    oof: pd.DataFrame | None = None       # per run: actual, predicted out-of-fold (k-fold) by the chosen model
    target_stats: dict[str, float] = field(default_factory=dict)

    @property
    def target(self) -> str:
        return target_name(self.targets)

    @property
    def regressor(self) -> str:
        """The name of the regressor that predicts (``auto`` resolved to its choice; for an objective over several
        columns, the regressor fitted to each column)."""
        core = inner(self.model)
        return getattr(core, "base", core.name)

    def cv_summary(self) -> list[dict[str, Any]]:
        return _records(self.cv)

    def predict(self, ratios: TableLike | pd.DataFrame) -> np.ndarray:
        return predict_table(self, ratios)["predicted"].to_numpy()


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in df.to_dict(orient="records"):
        out.append({k: (None if isinstance(v, float) and not np.isfinite(v) else
                        (float(v) if isinstance(v, (np.floating,)) else (int(v) if isinstance(v, np.integer) else v)))
                    for k, v in rec.items()})
    return out


def fit_tables(ratios: TableLike, metrics: TableLike, target: str | Mapping[str, float] | None = None,
               regressor: str = "auto", folds: int = 5, seed: int = 0,
               targets: Mapping[str, float] | None = None) -> FitResult:
    """Fit ``regressor`` (``linear``, ``loglinear``, ``lightgbm`` or ``auto``) from the ratios to the target.

    ``target``: a metric column, or ``targets={column: weight}`` for an objective (a weighted sum of columns),
    which is fitted column by column and predicted as the weighted sum of the columns' models
    (:mod:`mixes.per_target`).
    The k-fold figures (``folds`` >= 2, seeded) are computed for each regressor tried (every candidate for
    ``auto``, which keeps the simplest within one standard error of the best cross-validated Spearman); ``folds=0``
    skips them for a named regressor.
    The returned model is fitted on all runs.
    """
    if regressor not in REGRESSORS:
        raise MixInputError(f"unknown regressor {regressor!r}; choose one of {', '.join(REGRESSORS)}")
    X, y, spec = join(ratios, metrics, target, targets)
    n = len(y)
    if n < 3:
        raise MixInputError(f"{n} runs: too few to fit a regression (at least 3, ideally dozens)")
    if regressor == "auto" and folds < 2:
        raise MixInputError("regressor 'auto' chooses by cross-validation: folds must be >= 2")
    if len(spec) > 1:
        from mixes.per_target import fit_per_target

        m = load_metrics(metrics)
        columns = {c: target_values(m, {c: 1.0}, X.index).to_numpy() for c in spec}
        model, rows, oof = fit_per_target(regressor, X, columns, spec, folds=folds, seed=seed)
        cv = pd.DataFrame(rows)
    elif regressor == "auto":
        auto = AutoRegressor(folds=folds, seed=seed).fit(X, y)
        cv = pd.DataFrame(auto.cv_)
        model = auto.best_
        oof = auto.oof_[auto.chosen_]
    else:
        rows = [] if folds < 2 else [cross_validate(regressor, X, y, folds=folds, seed=seed)]
        cv = pd.DataFrame([{k: v for k, v in r.items() if k != "oof"} for r in rows])
        model = make_regressor(regressor, seed=seed).fit(X, y)
        oof = rows[0]["oof"] if rows else None
    yv = y.to_numpy()
    oof_table = pd.DataFrame({"actual": yv, "predicted": oof if oof is not None else np.nan}, index=X.index)
    return FitResult(domains=list(X.columns), targets=spec, model=model, requested=regressor, cv=cv, n_runs=n,
                     folds=folds, seed=seed, oof=oof_table,
                     target_stats={"min": float(yv.min()), "max": float(yv.max()), "mean": float(yv.mean()),
                                   "std": float(yv.std())})


def save_fit(result: FitResult, directory: str | os.PathLike[str]) -> str:
    """Write ``fit.json`` (and ``lightgbm.txt`` for a LightGBM model) into ``directory``; returns fit.json's path."""
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    state = inner(result.model).to_dict()
    if "model" in state and isinstance(state["model"], str):  # LightGBM's model text, beside the JSON
        model_file = f"{state['name']}.txt"
        with open(os.path.join(directory, model_file), "w", encoding="utf-8") as f:
            f.write(state.pop("model"))
        state["model_file"] = model_file
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for pkg in ("numpy", "scipy", "scikit-learn", "lightgbm"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    doc = {
        "format": FORMAT,
        "domains": list(result.domains),
        "target": result.target,
        "targets": dict(result.targets),
        "requested": result.requested,
        "regressor": state,
        "cv": result.cv_summary(),
        "folds": result.folds,
        "seed": result.seed,
        "n_runs": result.n_runs,
        "target_stats": result.target_stats,
        "oof": None if result.oof is None else {
            "run": [str(r) for r in result.oof.index],
            "actual": [float(v) for v in result.oof["actual"]],
            "predicted": [None if not np.isfinite(v) else float(v) for v in result.oof["predicted"]]},
        "versions": {"python": platform.python_version(), **versions},
    }
    path = os.path.join(directory, FIT_FILE)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, allow_nan=False)
        f.write("\n")
    os.replace(tmp, path)
    return path


def load_fit(directory: str | os.PathLike[str]) -> FitResult:
    """Read a fit saved by :func:`save_fit` (a directory, or the path of its fit.json)."""
    directory = os.fspath(directory)
    path = directory if directory.endswith(".json") else os.path.join(directory, FIT_FILE)
    if not os.path.isfile(path):
        raise MixInputError(f"no fit at {directory} (expected {path}; write one with `curate mix fit`)")
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        state = dict(doc["regressor"])
        if "model_file" in state:
            with open(os.path.join(os.path.dirname(path), state.pop("model_file")), encoding="utf-8") as f:
                state["model"] = f.read()
        model = regressor_from_dict(state)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MixInputError(f"{path}: not a readable fit ({type(exc).__name__}: {exc})") from None
    if list(model.domains_) != list(doc["domains"]):
        raise MixInputError(f"{path}: the model's domains differ from the fit's domain list")
    cv = pd.DataFrame(doc.get("cv") or [])
    oof = None
    if doc.get("oof"):
        o = doc["oof"]
        oof = pd.DataFrame({"actual": o["actual"], "predicted": [np.nan if v is None else v for v in o["predicted"]]},
                           index=pd.Index(o["run"], name="run"), dtype=float)
    return FitResult(domains=list(doc["domains"]), targets={k: float(v) for k, v in doc["targets"].items()},
                     model=model, requested=doc.get("requested", model.name), cv=cv, n_runs=int(doc["n_runs"]),
                     folds=int(doc.get("folds", 0)), seed=int(doc.get("seed", 0)), oof=oof,
                     target_stats=doc.get("target_stats", {}))


def predict_table(fit: FitResult, ratios: TableLike) -> pd.DataFrame:
    """Predictions for every run of a ratios table: a DataFrame with columns ``run`` and ``predicted``.

    The ratios are normalised per row and matched to the fit's domains by name (missing domains are an error;
    extra domains are an error unless their weights are all zero)."""
    w = load_ratios(ratios)
    pred = fit.model.predict(w)
    return pd.DataFrame({"run": w.index.to_list(), "predicted": pred})


def score_table(fit: FitResult, ratios: TableLike, metrics: TableLike) -> dict[str, float]:
    """Spearman, Pearson and MAE of the fit's predictions against the measured target of the ratios' runs."""
    w = load_ratios(ratios)
    label = "metrics" if isinstance(metrics, pd.DataFrame) else os.fspath(metrics)
    y = target_values(load_metrics(metrics), fit.targets, w.index, label)
    return scores(y.to_numpy(), fit.model.predict(w))


__all__ = ["FitResult", "fit_tables", "save_fit", "load_fit", "predict_table", "score_table"]
