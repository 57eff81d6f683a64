"""Acceptance on a paper's data: RegMix's released swarm (512 training runs of 1M-parameter proxies, 256 test
mixtures trained at 1M and 60M parameters, 17 Pile domains), target Pile-CC validation loss.

Every model sees the training tables only (early stopping and the choice of regressor included); the test tables
are read after fitting, to score.
"""
import json
import os

import numpy as np
import pytest

from mixes.fit import fit_tables, load_fit, predict_table, save_fit, score_table
from mixes.regressors import AutoRegressor, make_regressor
from mixes.tables import join, load_metrics, load_ratios, target_values

TARGET = "metric/the_pile_pile_cc_val_loss"


@pytest.fixture(scope="module")
def data(regmix):
    X, y, _ = join(regmix / "train_mixture_1m.csv", regmix / "train_pile_loss_1m.csv", TARGET)
    Xt = load_ratios(regmix / "test_mixture_1m.csv")
    assert load_ratios(regmix / "test_mixture_60m.csv").equals(Xt)  # the same 256 mixtures at both sizes
    spec = {TARGET: 1.0}
    y1 = target_values(load_metrics(regmix / "test_pile_loss_1m.csv"), spec, Xt.index).to_numpy()
    y60 = target_values(load_metrics(regmix / "test_pile_loss_60m.csv"), spec, Xt.index).to_numpy()
    return X, y.to_numpy(), Xt, y1, y60


@pytest.fixture(scope="module")
def auto_fit(regmix):
    return fit_tables(regmix / "train_mixture_1m.csv", regmix / "train_pile_loss_1m.csv", TARGET, regressor="auto",
                      folds=5, seed=0)


@pytest.mark.parametrize("name,threshold", [("linear", 0.89), ("loglinear", 0.95), ("lightgbm", 0.98)])
def test_each_regressor_on_the_1m_test_set(data, name, threshold):
    X, y, Xt, y1, _ = data
    s = make_regressor(name, seed=0).fit(X, y).score(Xt, y1)
    assert s["n"] == 256
    assert s["spearman"] >= threshold, (name, s)


def test_best_regressor_by_cv_on_the_60m_test_set(data, auto_fit):
    _, _, Xt, _, y60 = data
    assert auto_fit.requested == "auto" and auto_fit.n_runs == 512
    assert set(auto_fit.cv["regressor"]) == {"linear", "loglinear", "lightgbm"}
    best_cv = auto_fit.cv.sort_values("spearman", ascending=False).iloc[0]["regressor"]
    assert auto_fit.regressor == best_cv == "lightgbm"
    s = auto_fit.model.score(Xt, y60)
    assert s["spearman"] >= 0.95, s
    assert auto_fit.oof is not None and len(auto_fit.oof) == 512 and auto_fit.oof["predicted"].notna().all()


def test_64_run_swarms_choose_by_cv_and_still_rank(data):
    X, y, Xt, y1, _ = data
    rng = np.random.default_rng(0)
    rhos, chosen = [], []
    for s in range(5):
        rows = rng.choice(len(X), size=64, replace=False)
        m = AutoRegressor(folds=5, seed=s).fit(X.iloc[rows], y[rows])
        chosen.append(m.chosen_)
        rhos.append(m.score(Xt, y1)["spearman"])
    assert np.mean(rhos) >= 0.90, (rhos, chosen)


def test_save_load_round_trip_predicts_identically(regmix, auto_fit, tmp_path):
    path = save_fit(auto_fit, tmp_path / "fit")
    doc = json.loads(open(path).read())
    assert doc["domains"][0] == "train_the_pile_arxiv" and len(doc["domains"]) == 17
    assert doc["target"] == TARGET and doc["n_runs"] == 512 and doc["requested"] == "auto"
    assert doc["regressor"]["name"] == "lightgbm" and doc["regressor"]["model_file"] == "lightgbm.txt"
    assert os.path.isfile(tmp_path / "fit" / "lightgbm.txt") and len(doc["cv"]) == 3
    back = load_fit(tmp_path / "fit")
    a = predict_table(auto_fit, regmix / "test_mixture_60m.csv")
    b = predict_table(back, regmix / "test_mixture_60m.csv")
    assert list(a.columns) == ["run", "predicted"] and a["run"].iloc[0] == "1"
    assert np.array_equal(a["predicted"].to_numpy(), b["predicted"].to_numpy())
    s = score_table(back, regmix / "test_mixture_60m.csv", regmix / "test_pile_loss_60m.csv")
    assert s["spearman"] >= 0.95
    assert back.oof.equals(auto_fit.oof.rename_axis("run"))
