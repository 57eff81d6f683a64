"""Training, evaluation, saving and loading of the quality and topic classifiers on the shared corpora."""
import json
import os

import numpy as np
import pyarrow as pa
import pytest

from classifiers.fasttext_model import FastTextClassifier
from classifiers.model_card import read_model_card
from classifiers.sklearn_model import HashingLogisticClassifier
from classifiers.text_classifier import TextPrep
from classifiers.train import NEGATIVE, POSITIVE, LabeledSource, read_texts, stratified_split, train_classifiers
from tests.paths import shared_path


def corpus(domain: str) -> str:
    return str(shared_path("corpora", f"{domain}.jsonl.zst"))


@pytest.fixture(scope="module")
def quality_model(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("quality"))
    sources = [LabeledSource(POSITIVE, corpus(d)) for d in ("wiki", "papers", "docs")]
    sources.append(LabeledSource(NEGATIVE, corpus("web")))
    card = train_classifiers(sources, out, positive_label=POSITIVE, max_docs_per_source=200, seed=1,
                             ood={"dclm": str(shared_path("web", "quality", "dclm_human_labels.jsonl.gz"))},
                             log=lambda _: None)
    return out, card


def test_text_prep_truncates_lowercases_and_makes_one_line():
    prep = TextPrep(max_chars=12)
    assert prep.apply(["Hello World\nSecond line", None]) == ["hello world ", ""]
    assert TextPrep(split_punctuation=True).apply(pa.array(["Stop. Go!"])) == ["stop .  go ! "]


def test_quality_classifiers_separate_curated_text_from_raw_web(quality_model):
    out, card = quality_model
    assert card["task"] == "binary" and card["classes"] == ["high", "low"]
    assert card["data"]["balance"] and card["data"]["train"]["high"] == card["data"]["train"]["low"]
    for name in ("fasttext", "sklearn"):
        held_out = card["models"][name]["held_out"]
        assert held_out["roc_auc"] > 0.95, (name, held_out)
        assert 0 < held_out["precision"] <= 1 and 0 < held_out["recall"] <= 1
        hist = held_out["score_histogram"]
        assert sum(hist["positive"]) + sum(hist["negative"]) == held_out["n"]
        ood = card["models"][name]["out_of_distribution"]["dclm"]
        assert ood["n"] == 281 and ood["n_positive"] == 152 and ood["roc_auc"] > 0.6, (name, ood)
    assert read_model_card(out) == json.loads(json.dumps(card))
    md = open(os.path.join(out, "MODEL_CARD.md")).read()
    assert "roc_auc" in md and "dclm" in md and "wiki.jsonl.zst" in md


def test_saved_models_load_to_identical_scores_without_pickle(quality_model):
    out, _ = quality_model
    texts = read_texts(corpus("forum"))[:50]
    for cls in (FastTextClassifier, HashingLogisticClassifier):
        clf = cls.load(out)
        proba = clf.predict_proba(texts)
        assert proba.shape == (50, 2) and np.allclose(proba.sum(axis=1), 1, atol=1e-4)
        assert np.array_equal(cls.load(out).predict_proba(texts), proba)
        assert set(clf.predict(texts)) <= {"high", "low"}
    with np.load(os.path.join(out, "sklearn.npz"), allow_pickle=False) as arrays:
        assert set(arrays.files) == {"coef", "intercept"}


def test_fasttext_training_is_deterministic():
    texts = read_texts(corpus("wiki"))[:60] + read_texts(corpus("code"))[:60]
    labels = ["wiki"] * 60 + ["code"] * 60
    a = FastTextClassifier(seed=3, epoch=5).fit(texts, labels).predict_proba(texts)
    b = FastTextClassifier(seed=3, epoch=5).fit(texts, labels).predict_proba(texts)
    assert np.array_equal(a, b)
    assert FastTextClassifier(seed=3, epoch=5).fit(texts, labels).score(texts, labels) > 0.9


def test_topic_classifier_labels_the_mix_domains(tmp_path):
    domains = ("code", "forum", "wiki", "web")
    card = train_classifiers([LabeledSource(d, corpus(d)) for d in domains], str(tmp_path),
                             max_docs_per_source=100, balance=False, log=lambda _: None)
    assert card["task"] == "multiclass" and card["classes"] == sorted(domains)
    for name in ("fasttext", "sklearn"):
        held_out = card["models"][name]["held_out"]
        assert held_out["accuracy"] > 0.8 and held_out["roc_auc_ovr_macro"] > 0.9, (name, held_out)
        assert set(held_out["per_class"]) == set(domains)


def test_stratified_split_holds_out_each_label():
    labels = np.array(["a"] * 10 + ["b"] * 5 + ["c"], dtype=object)
    train, test = stratified_split(labels, 0.2, np.random.default_rng(0))
    assert sorted(labels[test]) == ["a", "a", "b"]
    assert len(set(train) | set(test)) == 16 and not set(train) & set(test)


def test_cli_trains_and_rejects_bad_arguments(tmp_path):
    from typer.testing import CliRunner

    from curation.cli.app import app

    runner = CliRunner()
    bad = runner.invoke(app, ["classifier", "train", "--out", str(tmp_path), "--positive", corpus("wiki")])
    assert bad.exit_code == 2 and "--negative" in bad.output
    ok = runner.invoke(app, ["classifier", "train", "--out", str(tmp_path), "--backend", "sklearn", "--max-docs-per-source", "80",
                             "--source", f"code={corpus('code')}", "--source", f"forum={corpus('forum')}"])
    assert ok.exit_code == 0, ok.output
    assert read_model_card(str(tmp_path))["models"].keys() == {"sklearn"}
