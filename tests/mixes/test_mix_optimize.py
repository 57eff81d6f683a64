"""The optimizer: caps and sums hold, the exact solve agrees with the search, KL pulls toward the prior, and the
mix file is what the shards stage reads (weights summing to 1 exactly as written, plus one provenance key)."""
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
import yaml

from mixes.optimize import kl_divergence, optimize, write_mix_file
from mixes.regressors import LinearRegressor, LogLinearRegressor, make_regressor
from mixes.tables import MixInputError

DOMAINS = ["web", "code", "books", "wiki"]
COEF = np.array([3.0, 2.0, 1.0, 4.0])       # loss of a pure domain: books best, then code, web, wiki
PRIOR = {"web": 0.5, "code": 0.2, "books": 0.1, "wiki": 0.2}


def linear_model() -> LinearRegressor:
    """A linear model fitted (exactly) to a noise-free linear target: a known optimum under caps."""
    X = pd.DataFrame(np.random.default_rng(0).dirichlet(np.ones(4), size=30), columns=DOMAINS)
    return LinearRegressor().fit(X, X.to_numpy() @ COEF)


def kl_closed_form(c, q, lam, hi):
    """argmin c.w + lam*KL(w||q) within 0 <= w <= hi on the simplex: w = min(hi, q*exp(-c/lam)/Z), Z by bisection."""
    base = q * np.exp(-(c - c.min()) / lam)
    lo_z, hi_z = 1e-12, 1e12
    for _ in range(200):
        z = np.sqrt(lo_z * hi_z)
        if np.minimum(hi, base / z).sum() > 1:
            lo_z = z
        else:
            hi_z = z
    return np.minimum(hi, base / z)


def test_exact_lp_hits_the_known_vertex_and_the_search_agrees():
    m = linear_model()
    caps = {"books": 0.3, "code": 0.4}
    exact = optimize(m, PRIOR, max_weights=caps, kl_penalty=0, method="exact")
    assert exact.method == "exact-lp"
    # fill the cheapest domains up to their caps: books 0.3, code 0.4, then web 0.3
    assert exact.weights == pytest.approx({"web": 0.3, "code": 0.4, "books": 0.3, "wiki": 0.0}, abs=1e-9)
    assert exact.predicted == pytest.approx(0.3 * 3 + 0.4 * 2 + 0.3 * 1)
    search = optimize(m, PRIOR, max_weights=caps, kl_penalty=0, method="search", n_candidates=100_000, seed=0)
    assert search.method == "search" and search.details["n_candidates"] == 3 * 100_000
    w = np.array([search.weights[d] for d in DOMAINS])
    assert w.sum() == pytest.approx(1.0) and w[2] <= 0.3 + 1e-12 and w[1] <= 0.4 + 1e-12
    assert search.predicted == pytest.approx(exact.predicted, abs=0.01)
    assert np.abs(w - np.array([0.3, 0.4, 0.3, 0.0])).max() < 0.01
    # one round is RegMix's plain top-k average: feasible, but short of a vertex optimum
    plain = optimize(m, PRIOR, max_weights=caps, kl_penalty=0, method="search", rounds=1)
    assert exact.predicted < search.predicted < plain.predicted < exact.predicted + 0.2


def test_exact_with_kl_matches_the_closed_form_and_pulls_toward_the_prior():
    m = linear_model()
    q = np.array([PRIOR[d] for d in DOMAINS])
    hi = np.array([1.0, 0.4, 0.3, 1.0])
    caps = dict(zip(DOMAINS, hi))
    kls = []
    for lam in (0.0, 0.2, 1.0, 5.0, 50.0):
        r = optimize(m, PRIOR, max_weights=caps, kl_penalty=lam)
        w = np.array([r.weights[d] for d in DOMAINS])
        assert w.sum() == pytest.approx(1.0, abs=1e-12) and (w <= hi + 1e-12).all() and (w >= 0).all()
        if lam > 0:
            assert r.method == "exact-convex"
            assert np.allclose(w, kl_closed_form(COEF, q, lam, hi), atol=2e-4)
            assert r.objective == pytest.approx(r.predicted + lam * r.kl)
        kls.append(r.kl)
    assert all(a >= b - 1e-6 for a, b in zip(kls, kls[1:]))  # more penalty, closer to the prior
    assert kls[-1] < 0.01 and kls[0] > 0.3
    # the search with the same penalty lands near the exact answer
    s = optimize(m, PRIOR, max_weights=caps, kl_penalty=1.0, method="search", n_candidates=100_000)
    e = optimize(m, PRIOR, max_weights=caps, kl_penalty=1.0, method="exact")
    assert s.objective == pytest.approx(e.objective, abs=0.01) and s.objective >= e.objective - 1e-9


def test_loglinear_exact_and_search_agree_within_caps_and_minimums():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.dirichlet(np.ones(4), size=50), columns=DOMAINS)
    y = 2.0 + np.exp(X.to_numpy() @ np.array([0.2, -0.5, -1.0, 0.6]))
    m = LogLinearRegressor().fit(X, y)
    caps, mins = {"books": 0.25, "code": 0.5}, {"wiki": 0.05}
    for lam in (0.0, 0.05):
        e = optimize(m, PRIOR, max_weights=caps, min_weights=mins, kl_penalty=lam)
        s = optimize(m, PRIOR, max_weights=caps, min_weights=mins, kl_penalty=lam, method="search",
                     n_candidates=100_000)
        for r in (e, s):
            assert sum(r.weights.values()) == pytest.approx(1.0, abs=1e-12)
            assert r.weights["books"] <= 0.25 + 1e-12 and r.weights["code"] <= 0.5 + 1e-12
            assert r.weights["wiki"] >= 0.05 - 1e-12
        assert e.objective <= s.objective + 1e-9 and s.objective - e.objective < 0.005
    assert e.method == "exact-convex"
    assert e.weights == pytest.approx({"web": 0.2, "code": 0.5, "books": 0.25, "wiki": 0.05}, abs=0.05)


def test_search_for_lightgbm_respects_caps_and_is_seeded():
    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.dirichlet(np.ones(4), size=120), columns=DOMAINS)
    m = make_regressor("lightgbm").fit(X, X.to_numpy() @ COEF)
    caps = {"books": 0.2, "code": 0.3}
    a = optimize(m, PRIOR, max_weights=caps, n_candidates=20_000, seed=5)
    b = optimize(m, PRIOR, max_weights=caps, n_candidates=20_000, seed=5)
    assert a.method == "search" and a.weights == b.weights
    assert a.weights["books"] <= 0.2 + 1e-12 and a.weights["code"] <= 0.3 + 1e-12
    assert sum(a.weights.values()) == pytest.approx(1.0, abs=1e-12)
    assert a.predicted < a.details["predicted_at_prior"]
    with pytest.raises(MixInputError, match="no exact solve for the lightgbm regressor"):
        optimize(m, PRIOR, method="exact")


def test_optimize_errors():
    m = linear_model()
    with pytest.raises(MixInputError, match="weights cannot meet the budget: the max weights sum to 0.9 < 1"):
        optimize(m, PRIOR, max_weights={"web": 0.3, "code": 0.2, "books": 0.2, "wiki": 0.2})
    with pytest.raises(MixInputError, match="prior: unknown domains forum"):
        optimize(m, {**PRIOR, "forum": 0.1})
    with pytest.raises(MixInputError, match="kl_penalty must be >= 0"):
        optimize(m, PRIOR, kl_penalty=-1)


def test_kl_divergence():
    q = np.array([0.5, 0.5, 0.0])
    assert kl_divergence(np.array([0.5, 0.5, 0.0]), q)[0] == 0.0
    assert kl_divergence(np.array([1.0, 0.0, 0.0]), q)[0] == pytest.approx(np.log(2))
    assert np.isinf(kl_divergence(np.array([0.5, 0.0, 0.5]), q)[0])


def test_write_mix_file(tmp_path):
    w = {"web": 1 / 3, "code": 1 / 3, "books": 1 / 3, "wiki": 0.0}
    path = tmp_path / "mixes" / "tuned.yaml"
    written = write_mix_file(path, w, max_repetition={"web": 2, "books": 4}, total_tokens=2_000_000,
                             provenance={"predicted": np.float64(2.5), "regressor": "loglinear",
                                         "cv": [{"regressor": "loglinear", "spearman": 0.97, "pearson": np.nan}]},
                             max_weights={"books": 0.3333})
    text = path.read_text()
    doc = yaml.safe_load(text)
    assert list(doc) == ["weights", "total_tokens", "max_repetition", "provenance"]
    assert doc["weights"] == written and list(doc["weights"]) == ["web", "code", "books", "wiki"]
    assert sum(Decimal(str(v)) for v in doc["weights"].values()) == Decimal(1)
    assert all(len(str(v).split(".")[-1]) <= 4 for v in doc["weights"].values())
    assert doc["weights"]["books"] <= 0.3333 and doc["weights"]["wiki"] == 0.0
    assert doc["total_tokens"] == 2_000_000 and doc["max_repetition"] == {"web": 2.0, "books": 4.0}
    assert doc["provenance"]["predicted"] == 2.5 and doc["provenance"]["cv"][0]["pearson"] is None
    plain = write_mix_file(tmp_path / "m.yaml", {"a": 0.12345, "b": 0.87655}, max_repetition=2)
    assert plain == {"a": 0.1235, "b": 0.8765} or plain == {"a": 0.1234, "b": 0.8766}
    assert "total_tokens" not in yaml.safe_load((tmp_path / "m.yaml").read_text())
    with pytest.raises(MixInputError, match="not all zero"):
        write_mix_file(tmp_path / "z.yaml", {"a": 0.0})
