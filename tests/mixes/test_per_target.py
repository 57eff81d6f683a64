"""An objective over several eval sets is fitted one eval set at a time: on a swarm whose eval losses each follow their
own mixing law, the per-set sum ranks held-out mixtures better than one law fitted to the sum, saves and loads as
JSON, and the optimizer solves it exactly (convex) at an interior mixture no sampled candidate beats."""
import json

import numpy as np
import pandas as pd

from mixes.fit import fit_tables, load_fit, predict_table, save_fit
from mixes.optimize import kl_divergence, optimize
from mixes.per_target import WeightedSumRegressor
from mixes.propose import project
from mixes.regressor_base import scores

DOMAINS = ["web", "code", "books", "wiki"]
# each eval set's loss falls with its own domain's share (diminishing returns) and a little with the others'
LAWS = {"loss/web": (3.0, 0.6, [-2.5, 0.2, 0.1, -0.3]), "loss/code": (2.0, 0.9, [0.3, -3.5, 0.2, 0.1]),
        "loss/wiki": (2.5, 0.5, [-0.4, 0.2, -0.2, -2.8])}
WEIGHTS = {col: 1 / 3 for col in LAWS}


def swarm(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ratios = pd.DataFrame(rng.dirichlet(np.full(len(DOMAINS), 1.0), size=n), columns=DOMAINS,
                          index=pd.Index([f"r{i:03d}" for i in range(n)], name="run"))
    return ratios


def losses(ratios: pd.DataFrame, seed: int, noise: float = 0.01) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    W = ratios[DOMAINS].to_numpy()
    return pd.DataFrame({col: c + np.exp(b + W @ np.array(t)) + rng.normal(0, noise, len(W))
                         for col, (c, b, t) in LAWS.items()}, index=ratios.index)


def objective(metrics: pd.DataFrame) -> np.ndarray:
    return sum(w * metrics[col].to_numpy() for col, w in WEIGHTS.items())


def test_per_eval_laws_rank_held_out_mixtures_better_than_one_law_on_the_sum(tmp_path):
    train, test = swarm(48, seed=1), swarm(300, seed=2)
    m_train, m_test = losses(train, seed=3), losses(test, seed=4, noise=0.0)
    per_eval = fit_tables(train, m_train, targets=WEIGHTS, regressor="loglinear", folds=5, seed=0)
    assert isinstance(per_eval.model, WeightedSumRegressor) and per_eval.regressor == "loglinear"
    assert set(per_eval.model.components_) == set(LAWS) and bool(per_eval.cv["per_target"].iloc[0])
    summed = m_train.assign(objective=objective(m_train))
    one_law = fit_tables(train, summed, target="objective", regressor="loglinear", folds=5, seed=0)
    truth = objective(m_test)
    rho_per_eval = scores(truth, per_eval.predict(test))["spearman"]
    rho_one = scores(truth, one_law.predict(test))["spearman"]
    assert rho_per_eval >= 0.98 and rho_per_eval > rho_one + 0.02, (rho_per_eval, rho_one)
    assert per_eval.cv["spearman"].iloc[0] > one_law.cv["spearman"].iloc[0]

    path = save_fit(per_eval, tmp_path / "fit")
    doc = json.loads(open(path).read())
    assert doc["regressor"]["name"] == "weighted_sum" and doc["regressor"]["params"]["base"] == "loglinear"
    back = load_fit(tmp_path / "fit")
    assert np.array_equal(predict_table(back, test)["predicted"].to_numpy(),
                          predict_table(per_eval, test)["predicted"].to_numpy())


def test_auto_chooses_among_per_eval_fits():
    train = swarm(48, seed=5)
    fit = fit_tables(train, losses(train, seed=6), targets=WEIGHTS, regressor="auto", folds=5, seed=0)
    assert set(fit.cv["regressor"]) == {"linear", "loglinear", "lightgbm"}
    assert fit.regressor == "loglinear"  # the data follow per-eval laws exactly, up to the noise


def test_the_optimum_of_a_sum_of_laws_is_exact_and_interior():
    train = swarm(48, seed=7)
    fit = fit_tables(train, losses(train, seed=8), targets=WEIGHTS, regressor="loglinear", folds=0)
    prior = {d: 0.25 for d in DOMAINS}
    caps = {"web": 0.6, "code": 0.5, "books": 0.6, "wiki": 0.4}
    for lam in (0.0, 0.05):
        res = optimize(fit, prior=prior, max_weights=caps, kl_penalty=lam)
        assert res.method == "exact-convex"
        w = np.array([res.weights[d] for d in DOMAINS])
        assert w[[0, 1, 3]].min() > 0.05  # every eval set keeps its own domain: no corner
        # no candidate of a large seeded sample within the caps does better
        rng = np.random.default_rng(lam > 0)
        lo, hi = np.zeros(4), np.array([caps[d] for d in DOMAINS])
        cands = project(rng.dirichlet(np.ones(4), size=20000), lo, hi)
        q = np.full(4, 0.25)
        vals = fit.model._predict(cands) + (lam * kl_divergence(cands, q) if lam else 0)
        assert res.objective <= vals.min() + 1e-6, (res.objective, vals.min())
