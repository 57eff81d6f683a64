"""Regressors on synthetic swarms with known laws: fit/predict/score, domain order by name, JSON round trips."""
import json

import numpy as np
import pandas as pd
import pytest

from mixes.regressors import (AutoRegressor, LinearRegressor, LogLinearRegressor, cross_validate, make_regressor,
                              regressor_from_dict, scores)
from mixes.tables import MixInputError

DOMAINS = ["web", "code", "books", "wiki", "papers"]


def swarm(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.dirichlet(np.full(len(DOMAINS), 0.7), size=n), columns=DOMAINS)


def law(X: pd.DataFrame) -> np.ndarray:
    """A mixing law y = c + exp(b + t . w) with a known floor and effects."""
    t = np.array([-1.2, 0.4, -0.3, 0.2, 0.9])
    return 2.0 + np.exp(0.1 + X.to_numpy() @ t)


def test_linear_recovers_a_linear_target_and_orders_by_name():
    X = swarm(40)
    coef = np.array([3.0, 2.5, 4.0, 3.5, 3.2])
    y = X.to_numpy() @ coef
    m = LinearRegressor().fit(X, y)
    # on the simplex the intercept and the coefficients are collinear: predictions are what is identified
    assert np.allclose(m.predict(X), y)
    assert np.allclose(m.intercept_ + m.coef_, coef)
    shuffled = X[DOMAINS[::-1]]
    assert np.allclose(m.predict(shuffled), y)  # columns matched by name, not by position
    with pytest.raises(MixInputError, match="lack domains the model was fitted on: papers"):
        m.predict(X.drop(columns="papers"))
    with pytest.raises(MixInputError, match="not fitted on: forum"):
        m.predict(X.assign(forum=0.1))
    assert np.allclose(m.predict(X.assign(forum=0.0)), y)  # an extra all-zero column is harmless


def test_loglinear_recovers_the_mixing_law():
    X = swarm(60, seed=1)
    y = law(X)
    m = LogLinearRegressor().fit(X, y)
    assert m.c_ == pytest.approx(2.0, abs=1e-4)
    t = np.array([-1.2, 0.4, -0.3, 0.2, 0.9])
    assert np.allclose(m.t_, t - t.mean(), atol=1e-3) and m.b_ == pytest.approx(0.1 + t.mean(), abs=1e-3)
    Xt = swarm(30, seed=2)
    assert np.allclose(m.predict(Xt), law(Xt), atol=1e-4)


def test_lightgbm_deterministic_and_ranks_well():
    X = swarm(200, seed=3)
    y = law(X) + np.random.default_rng(3).normal(0, 0.01, size=len(X))
    a = make_regressor("lightgbm", seed=0).fit(X, y)
    b = make_regressor("lightgbm", seed=0).fit(X, y)
    Xt = swarm(100, seed=4)
    assert np.array_equal(a.predict(Xt), b.predict(Xt))
    s = a.score(Xt, law(Xt))
    assert s["spearman"] > 0.9 and set(s) == {"spearman", "pearson", "mae", "n"}
    assert a.get_params()["min_child_samples"] is None and a._lgb_params(200)["min_data_in_leaf"] == 10
    assert a._lgb_params(64)["min_data_in_leaf"] == 3


@pytest.mark.parametrize("name", ["linear", "loglinear", "lightgbm"])
def test_json_round_trip_predicts_identically(name):
    X = swarm(80, seed=5)
    y = law(X)
    m = make_regressor(name).fit(X, y)
    d = json.loads(json.dumps(m.to_dict()))
    assert d["name"] == name and d["domains"] == DOMAINS
    back = regressor_from_dict(d)
    Xt = swarm(50, seed=6)
    assert np.array_equal(back.predict(Xt), m.predict(Xt))


def test_auto_picks_by_cross_validation_and_round_trips():
    X = swarm(60, seed=7)
    y = law(X) + np.random.default_rng(7).normal(0, 0.002, size=len(X))
    m = AutoRegressor(folds=4, seed=0).fit(X, y)
    assert m.chosen_ == "loglinear"  # the data follow the law exactly
    assert [r["regressor"] for r in m.cv_][0] == "loglinear" and len(m.cv_) == 3
    assert all({"spearman", "pearson", "mae", "fold_spearman_mean", "cv_seconds"} <= set(r) for r in m.cv_)
    back = regressor_from_dict(json.loads(json.dumps(m.to_dict())))
    assert np.array_equal(back.predict(X), m.predict(X))


def test_cross_validate_is_seeded_and_uses_only_given_rows():
    X = swarm(50, seed=8)
    y = law(X)
    a = cross_validate("linear", X, y, folds=5, seed=1)
    b = cross_validate("linear", X, y, folds=5, seed=1)
    assert np.array_equal(a["oof"], b["oof"]) and a["folds"] == 5
    assert a["spearman"] == pytest.approx(scores(y, a["oof"])["spearman"])


def test_scores_and_errors():
    s = scores([1, 2, 3, 4], [1.1, 1.9, 3.2, 3.9])
    assert s["spearman"] == 1.0 and s["mae"] == pytest.approx(0.125)
    assert np.isnan(scores([1, 2, 3], [5, 5, 5])["spearman"])
    with pytest.raises(MixInputError, match="unknown regressor 'gp'"):
        make_regressor("gp")
    with pytest.raises(MixInputError, match="not fitted"):
        LinearRegressor().predict(swarm(3))
    with pytest.raises(MixInputError, match="3 mixtures but 2 target values"):
        LinearRegressor().fit(swarm(3), [1.0, 2.0])


def test_auto_keeps_the_simplest_within_one_standard_error_of_the_best():
    from mixes.regressors import _one_standard_error_choice

    def row(name, rho, std):
        return {"regressor": name, "folds": 5, "spearman": rho, "fold_spearman_std": std}

    # our 67-run swarm's figures: LightGBM 0.865 (fold std 0.051), linear 0.863: one standard error is 0.023
    assert _one_standard_error_choice([row("lightgbm", 0.865, 0.051), row("linear", 0.863, 0.073),
                                       row("loglinear", 0.761, 0.227)]) == "linear"
    # RegMix-like: the tree model ahead by more than its standard error keeps its place
    assert _one_standard_error_choice([row("lightgbm", 0.99, 0.004), row("loglinear", 0.966, 0.01),
                                       row("linear", 0.902, 0.02)]) == "lightgbm"
    assert _one_standard_error_choice([row("loglinear", 0.95, 0.02), row("lightgbm", 0.94, 0.02),
                                       row("linear", 0.90, 0.03)]) == "loglinear"
