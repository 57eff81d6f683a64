"""The regressor interface every mixture regressor implements (scikit-learn style ``fit`` / ``predict`` / ``score``,
JSON round trip), and the scores they are judged by. The regressors themselves are in :mod:`mixes.regressors`."""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from mixes.tables import MixInputError, _few

def scores(y_true, y_pred) -> dict[str, float]:
    """Spearman and Pearson correlation, mean absolute error (NaN correlations when either side is constant)."""
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    n = len(y_true)
    if n >= 2 and np.ptp(y_true) > 0 and np.ptp(y_pred) > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rho = float(stats.spearmanr(y_pred, y_true).statistic)
            r = float(stats.pearsonr(y_pred, y_true).statistic)
    else:
        rho = r = float("nan")
    return {"spearman": rho, "pearson": r, "mae": float(np.mean(np.abs(y_pred - y_true))) if n else float("nan"),
            "n": n}


class MixRegressor:
    """Base: domain bookkeeping (by name), ``score`` and the JSON form; subclasses implement ``_fit``/``_predict``
    on a float matrix whose columns are in ``self.domains_`` order."""

    name: ClassVar[str] = ""

    def __init__(self) -> None:
        self.domains_: list[str] | None = None

    # -- subclass hooks --
    def _fit(self, W: np.ndarray, y: np.ndarray) -> None:
        raise NotImplementedError

    def _predict(self, W: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def get_params(self) -> dict[str, Any]:
        return {}

    def _state(self) -> dict[str, Any]:
        raise NotImplementedError

    def _load_state(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    # -- public interface --
    def fit(self, X, y) -> MixRegressor:
        W, domains = _as_matrix(X, None)
        y = np.asarray(y, dtype=float).ravel()
        if len(y) != len(W):
            raise MixInputError(f"{len(W)} mixtures but {len(y)} target values")
        if not len(y):
            raise MixInputError("no runs to fit")
        if not np.isfinite(y).all():
            raise MixInputError("the target has missing or infinite values")
        self.domains_ = domains
        self._fit(W, y)
        return self

    def predict(self, X) -> np.ndarray:
        self._check_fitted()
        W, _ = _as_matrix(X, self.domains_)
        return self._predict(W)

    def score(self, X, y) -> dict[str, float]:
        return scores(y, self.predict(X))

    def to_dict(self) -> dict[str, Any]:
        self._check_fitted()
        return {"name": self.name, "params": self.get_params(), "domains": list(self.domains_), **self._state()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MixRegressor:
        model = cls(**d.get("params", {}))
        model.domains_ = list(d["domains"])
        model._load_state(d)
        return model

    def _check_fitted(self) -> None:
        if self.domains_ is None:
            raise MixInputError(f"the {self.name} regressor is not fitted")

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


def _as_matrix(X, domains: Sequence[str] | None) -> tuple[np.ndarray, list[str]]:
    """Weights as a float matrix in ``domains`` order (a DataFrame is reordered by column name; an array must
    already be in that order). Without ``domains`` (at fit) the DataFrame's own column order is taken."""
    if isinstance(X, pd.Series):
        X = X.to_frame().T
    if isinstance(X, pd.DataFrame):
        cols = [str(c) for c in X.columns]
        if domains is None:
            if len(set(cols)) != len(cols):
                raise MixInputError("duplicate domain columns")
            W = X.to_numpy(dtype=float)
            domains = cols
        else:
            missing = [d for d in domains if d not in cols]
            if missing:
                raise MixInputError(f"the mixtures lack domains the model was fitted on: {_few(missing)}")
            extra = [c for c in cols if c not in domains]
            Xn = X.copy()
            Xn.columns = cols
            if extra and (Xn[extra].to_numpy(dtype=float) != 0).any():
                raise MixInputError(f"the mixtures give weight to domains the model was not fitted on: {_few(extra)}")
            W = Xn[list(domains)].to_numpy(dtype=float)
    else:
        W = np.atleast_2d(np.asarray(X, dtype=float))
        if domains is None:
            domains = [f"d{i}" for i in range(W.shape[1])]
        elif W.shape[1] != len(domains):
            raise MixInputError(f"the mixtures have {W.shape[1]} columns; the model has {len(domains)} domains")
    if not np.isfinite(W).all():
        raise MixInputError("the mixtures have missing or infinite weights")
    return W, list(domains)
