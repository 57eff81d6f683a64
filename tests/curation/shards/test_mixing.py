"""Mix files and mix planning (pure, no Spark) on the token counts of real documents."""
import math

import numpy as np
import pytest

from curation.shards.mixing import Mix, MixError, copy_order_keys, doc_keys, eval_mask, load_mix, plan_mix
from curation.shards.tokenizer import encode_texts, load_tokenizer, tokenizer_info
from tests.paths import REPO


@pytest.fixture(scope="module")
def docs(rows, tokenizer_path):
    """(sources, ids, n_tokens) of the real sample documents."""
    info = tokenizer_info(tokenizer_path)
    _, offsets = encode_texts(load_tokenizer(tokenizer_path), [r["text"] for r in rows], info.eos_id)
    return [r["source"] for r in rows], [r["id"] for r in rows], np.diff(offsets)


def available(docs):
    sources, _, n_tokens = docs
    return {s: int(sum(n for src, n in zip(sources, n_tokens) if src == s)) for s in set(sources)}


def plan(docs, mix, seed=0):
    sources, ids, n_tokens = docs
    return plan_mix(mix, sources, doc_keys(sources, ids, seed), n_tokens)


def test_achieved_shares_are_within_one_percent_when_sampling_down_and_up(docs):
    have = available(docs)
    total = sum(have.values())
    # web is upsampled about 2x, code cut to a fraction, the others in between
    weights = {"web": 2.0 * have["web"] / total, "code": 0.3 * have["code"] / total, "forum": 0.2, "wiki": 0.1,
               "papers": 0.05, "docs": 0.15}
    mix = Mix(weights=weights, total_tokens=total, max_repetition=3)
    p = plan(docs, mix)
    report = p.report()
    assert set(report) == set(weights)
    assert p.max_share_error() < 0.01
    for source, r in report.items():  # sources of many documents also hit their own token target within 1%
        if r["available_docs"] >= 100:
            assert abs(r["achieved_tokens"] - r["target_tokens"]) / r["target_tokens"] < 0.01
    assert p.sources["web"].base_copies == 1 and report["web"]["repetition"] > 1.5
    assert report["code"]["document_copies"] < report["code"]["available_docs"]
    sources, ids, n_tokens = docs
    copies = p.copies(sources, doc_keys(sources, ids, 0))
    assert copies.max() <= math.ceil(3)
    assert int((copies * n_tokens).sum()) == p.achieved_tokens  # copies and the report agree


def test_plan_is_deterministic_and_the_seed_changes_the_sample(docs):
    mix = Mix(weights={"forum": 1, "web": 1}, total_tokens=200_000)
    sources, ids, _ = docs
    a = plan(docs, mix, seed=1).copies(sources, doc_keys(sources, ids, 1))
    b = plan(docs, mix, seed=1).copies(sources, doc_keys(sources, ids, 1))
    c = plan(docs, mix, seed=2).copies(sources, doc_keys(sources, ids, 2))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert plan(docs, mix, seed=2).max_share_error() < 0.01
    # sources left out of the mix get no copies
    assert not a[np.asarray(sources) == "code"].any()


def test_mix_asking_more_than_availability_times_repetition_is_refused_naming_the_source(docs):
    have = available(docs)
    mix = Mix(weights={"wiki": 0.5, "web": 0.5}, total_tokens=4 * have["wiki"], max_repetition={"wiki": 1.5, "web": 9})
    with pytest.raises(MixError) as err:
        plan(docs, mix)
    message = str(err.value)
    assert "'wiki'" in message and "'web'" not in message and f"{have['wiki']:,} available" in message
    with pytest.raises(MixError, match="'missing'"):
        plan(docs, Mix(weights={"missing": 1, "web": 1}, total_tokens=1000))


def test_mix_without_a_budget_takes_the_largest_the_data_allows(docs):
    have = available(docs)
    p = plan(docs, Mix(weights={"web": 1, "forum": 3}, max_repetition={"web": 2, "forum": 1}))
    report = p.report()
    # forum (1 repetition for 3/4 of the tokens) binds: it is used whole, web fills its quarter
    assert report["forum"]["achieved_tokens"] == have["forum"] and report["web"]["repetition"] <= 2
    assert p.max_share_error() < 0.01


def test_no_mix_uses_every_document_once(docs):
    sources, ids, n_tokens = docs
    p = plan(docs, None)
    assert np.all(p.copies(sources, doc_keys(sources, ids, 0)) == 1)
    assert p.achieved_tokens == int(n_tokens.sum()) and p.max_share_error() == 0


def test_mix_files_load_and_errors_name_the_key(tmp_path):
    demo = load_mix(str(REPO / "mixes" / "demo.yaml"))
    assert abs(sum(demo.shares().values()) - 1) < 1e-9 and demo.total_tokens is None
    bad = tmp_path / "bad.yaml"
    bad.write_text("weights: {web: 1}\ntotal_tokens: 10\nmax_repetitions: 2\n")
    with pytest.raises(MixError, match="max_repetitions"):
        load_mix(str(bad))
    bad.write_text("weights: {web: -1}\ntotal_tokens: 10\n")
    with pytest.raises(MixError, match="weights"):
        load_mix(str(bad))


def test_eval_split_and_shuffle_keys(docs):
    sources, ids, _ = docs
    held = eval_mask(sources, ids, 0.1)
    assert 0.05 < held.mean() < 0.15
    assert np.array_equal(held, eval_mask(sources, ids, 0.1))
    assert not eval_mask(sources, ids, 0.0).any()
    keys = doc_keys(sources, ids, 0)
    order = np.concatenate([copy_order_keys(keys, np.full(len(keys), c)) for c in range(3)])
    assert len(np.unique(order)) == 3 * len(keys)
