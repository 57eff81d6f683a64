"""An objective over several eval sets, fitted one eval set at a time.

    model = fit_per_target("loglinear", X, {"loss/web": y_web, "loss/code": y_code}, {"loss/web": .5, ...})
    model.predict(X2)          # sum_e weight_e * law_e(w)

Each eval set's loss follows its own mixing law (Data Mixing Laws; RegMix fits per domain too): more of a source
lowers the loss on the eval sets like it, with diminishing returns. Summed into an equal-weight objective, those
effects largely cancel, so one law fitted to the sum sees a flat, noisy target and extrapolates badly (on the seven
shared corpora one log-linear law on the mean loss ranks held-out runs at Spearman 0.76 and puts its optimum where
one eval set's loss explodes; six per-eval laws summed rank them at 0.95). A linear model is the same either way.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mixes.regressor_base import MixRegressor
from mixes.regressors import (NAMES, _one_standard_error_choice, _rank_key, kfold_figures, make_regressor,
                              regressor_from_dict)
from mixes.tables import MixInputError


class WeightedSumRegressor(MixRegressor):
    """``sum_e weight_e * model_e(w)``: one fitted ``base`` regressor per target column."""

    name = "weighted_sum"

    def __init__(self, base: str = "loglinear", seed: int = 0) -> None:
        super().__init__()
        if base not in NAMES:
            raise MixInputError(f"unknown regressor {base!r}; choose one of {', '.join(NAMES)}")
        self.base = base
        self.seed = int(seed)
        self.components_: dict[str, tuple[float, MixRegressor]] = {}

    def get_params(self) -> dict[str, Any]:
        return {"base": self.base, "seed": self.seed}

    def fit_columns(self, X: pd.DataFrame, columns: Mapping[str, np.ndarray], weights: Mapping[str, float]
                    ) -> WeightedSumRegressor:
        self.components_ = {c: (float(weights[c]), make_regressor(self.base, seed=self.seed).fit(X, columns[c]))
                            for c in weights}
        self.domains_ = next(iter(self.components_.values()))[1].domains_
        return self

    def _fit(self, W: np.ndarray, y: np.ndarray) -> None:
        raise MixInputError("a weighted sum is fitted column by column: use fit_columns")

    def _predict(self, W: np.ndarray) -> np.ndarray:
        return sum(w * m._predict(W) for w, m in self.components_.values())

    def _state(self) -> dict[str, Any]:
        return {"components": {c: {"weight": w, "model": m.to_dict()} for c, (w, m) in self.components_.items()}}

    def _load_state(self, d: dict[str, Any]) -> None:
        self.components_ = {c: (float(v["weight"]), regressor_from_dict(v["model"]))
                            for c, v in d["components"].items()}


def cross_validate_columns(base: str, X: pd.DataFrame, columns: Mapping[str, np.ndarray],
                           weights: Mapping[str, float], folds: int = 5, seed: int = 0) -> dict[str, Any]:
    """k-fold figures of the per-column sum (the same seeded folds for every column, so each held-out run's
    prediction comes from models that never saw it), in :func:`mixes.regressors.cross_validate`'s shape."""
    cols = {c: np.asarray(columns[c], dtype=float) for c in weights}
    y = sum(weights[c] * cols[c] for c in weights)

    def fit_rows(tr):
        return WeightedSumRegressor(base, seed=seed).fit_columns(X.iloc[tr], {c: v[tr] for c, v in cols.items()},
                                                                 weights)

    return {**kfold_figures(base, X, y, fit_rows, folds, seed), "per_target": True}


def fit_per_target(regressor: str, X: pd.DataFrame, columns: Mapping[str, np.ndarray],
                   weights: Mapping[str, float], folds: int = 5, seed: int = 0
                   ) -> tuple[WeightedSumRegressor, list[dict[str, Any]], np.ndarray | None]:
    """(the fitted sum, the k-fold rows of every regressor tried (best first for ``auto``), the chosen one's
    out-of-fold predictions). ``auto`` tries every base and keeps the simplest within one standard error of the
    best k-fold Spearman."""
    candidates = list(NAMES) if regressor == "auto" else [regressor]
    rows = [] if folds < 2 else [cross_validate_columns(c, X, columns, weights, folds, seed) for c in candidates]
    if regressor == "auto":
        rows.sort(key=_rank_key)
        chosen = _one_standard_error_choice(rows)
    else:
        chosen = regressor
    oof = next((r["oof"] for r in rows if r["regressor"] == chosen), None)
    model = WeightedSumRegressor(chosen, seed=seed).fit_columns(X, columns, weights)
    return model, [{k: v for k, v in r.items() if k != "oof"} for r in rows], oof
