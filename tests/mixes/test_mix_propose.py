"""Candidate mixtures: deterministic, within caps and minimums, baselines present, no duplicates."""
import numpy as np
import pytest

from mixes.propose import (baselines, bounds, caps_from_tokens, project, propose, round_weights, water_fill)
from mixes.tables import MixInputError

DOMAINS = ["web", "wiki", "forum", "books", "papers", "code", "docs"]
PRIOR = {"web": 0.55, "wiki": 0.12, "forum": 0.1, "books": 0.08, "papers": 0.07, "code": 0.05, "docs": 0.03}
CAPS = {"web": 0.45, "books": 0.06, "docs": 0.04}
MINS = {"code": 0.05}


def test_deterministic_for_a_seed_and_different_across_seeds():
    a = propose(DOMAINS, PRIOR, n=40, seed=3, max_weights=CAPS, min_weights=MINS)
    b = propose(DOMAINS, PRIOR, n=40, seed=3, max_weights=CAPS, min_weights=MINS)
    c = propose(DOMAINS, PRIOR, n=40, seed=4, max_weights=CAPS, min_weights=MINS)
    assert a.equals(b)
    assert not a.loc["r000":].equals(c.loc["r000":])


def test_shape_ids_caps_minimums_and_sums():
    t = propose(DOMAINS, PRIOR, n=64, seed=0, max_weights=CAPS, min_weights=MINS)
    assert list(t.columns) == DOMAINS and t.index.name == "run"
    assert list(t.index[:3]) == ["natural", "uniform", "unimax"]
    assert list(t.index[3:6]) == ["r000", "r001", "r002"] and t.index[-1] == "r063" and len(t) == 67
    w = t.to_numpy()
    # sums are 1 exactly as 4-decimal numbers
    assert (np.round(w * 10_000).astype(int).sum(axis=1) == 10_000).all()
    for d, cap in CAPS.items():
        assert (t[d] <= cap + 1e-12).all(), d
    assert (t["code"] >= 0.05 - 1e-12).all()
    # tiny weights are zeroed (code has a minimum, so it is exempt)
    props = t.loc["r000":].drop(columns="code").to_numpy()
    assert not ((props > 0) & (props < 0.01 - 1e-4)).any()
    assert (props == 0).any()  # sparse candidates exist (low concentrations)


def test_no_duplicates_even_when_the_space_is_small():
    t = propose(["a", "b"], {"a": 0.5, "b": 0.5}, n=30, seed=1)
    keys = [tuple(np.round(r, 3)) for r in t.to_numpy()]
    base, props = keys[:3], keys[3:]
    assert len(set(props)) == len(props) == 30 and not set(props) & set(base)
    # two domains with a 0.01 floor and 3-decimal dedup: still distinct; asking for more than exist fails clearly
    with pytest.raises(MixInputError, match="found only .* distinct mixtures"):
        propose(["a", "b"], None, n=50, seed=0, max_weights={"a": 0.51, "b": 0.51}, dedup_decimals=2)


def test_baselines_natural_uniform_unimax():
    b = baselines(DOMAINS, PRIOR, max_weights=CAPS)
    nat = b.loc["natural"]
    # web and books hit their caps; the other 0.49 is shared in the prior's proportions (0.37 of it)
    assert nat["web"] == pytest.approx(0.45) and nat["books"] == pytest.approx(0.06)
    assert nat["docs"] == pytest.approx(0.03 * 0.49 / 0.37, abs=1e-4)
    # natural keeps the prior's proportions among uncapped domains
    assert nat["wiki"] / nat["forum"] == pytest.approx(0.12 / 0.10, rel=1e-3)
    uni = b.loc["uniform"]
    assert uni["books"] == pytest.approx(0.06) and uni["docs"] == pytest.approx(0.04)
    assert uni["web"] == pytest.approx((1 - 0.1) / 5, abs=1e-4)
    assert np.allclose(b.loc["unimax"], uni)  # UniMax is uniform with the epoch caps, water-filled
    no_caps = baselines(DOMAINS, PRIOR)
    assert np.allclose(no_caps.loc["uniform"], 1 / 7, atol=1e-4)
    assert np.allclose(no_caps.loc["natural"], [PRIOR[d] for d in DOMAINS], atol=1e-4)


def test_infeasible_caps_name_domains_and_numbers():
    with pytest.raises(MixInputError) as e:
        propose(["web", "books"], None, n=4, max_weights={"web": 0.5, "books": 0.2})
    msg = str(e.value)
    assert "weights cannot meet the budget" in msg and "0.7 < 1" in msg and "books <= 0.2" in msg
    with pytest.raises(MixInputError, match=r"min weights sum to 1.2 > 1"):
        bounds(["a", "b"], None, {"a": 0.6, "b": 0.6})
    with pytest.raises(MixInputError, match=r"min weight above max weight: a \(min 0.5 > max 0.3\)"):
        bounds(["a", "b"], {"a": 0.3}, {"a": 0.5})
    with pytest.raises(MixInputError, match="max weights: unknown domains webb"):
        propose(["web", "books"], None, n=4, max_weights={"webb": 0.5})
    with pytest.raises(MixInputError, match="sources with no tokens: books"):
        caps_from_tokens({"web": 1e6, "books": 0}, 1e6, 2)


def test_caps_from_tokens():
    caps = caps_from_tokens({"web": 4e6, "books": 1e5}, total_tokens=2e6, max_repetition={"web": 1, "books": 4})
    assert caps == {"web": 2.0, "books": 0.2}


def test_projection_and_rounding_helpers():
    rng = np.random.default_rng(0)
    lo = np.array([0.0, 0.1, 0.0, 0.0])
    hi = np.array([0.3, 1.0, 0.25, 1.0])
    v = rng.normal(0, 1, size=(200, 4))
    w = project(v, lo, hi)
    assert np.allclose(w.sum(axis=1), 1) and (w >= lo - 1e-12).all() and (w <= hi + 1e-12).all()
    # a feasible point projects onto itself
    x = np.array([[0.2, 0.4, 0.1, 0.3]])
    assert np.allclose(project(x, lo, hi), x)
    f = water_fill(np.ones(4), lo, np.array([0.3, 1.0, 0.2, 1.0]))
    assert np.allclose(f, [0.8 / 3, 0.8 / 3, 0.2, 0.8 / 3])
    r = round_weights(np.array([1 / 3, 1 / 3, 1 / 3]), 4)
    assert (np.round(r * 1e4).astype(int).sum()) == 10_000 and np.allclose(r, 1 / 3, atol=1e-4)
