"""The web-quality preset (quality score that agrees with human labels on web text), its dense page-shape
features, the stacked models (save/load, per-batch scoring, the quality stage) and `curate classifier score`."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from classifiers.cli import app
from classifiers.labelled_data import auc_with_ci, dev_test_split, read_documents
from classifiers.model_card import read_model_card
from classifiers.quality_features import FEATURE_NAMES, dense_features
from classifiers.scoring_stage import QualityScoreStage, quality_batch
from classifiers.stacked_model import FastTextStacked, SklearnStacked
from classifiers.train import BACKENDS, read_texts

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("CURATION_SHARED", REPO.parent / "shared")) / "data"
BACKEND_NAMES = ["sklearn-stacked", "fasttext-stacked"]


def shared(*parts: str) -> str:
    p = DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"shared data not available: {p}")
    return str(p)


def human_labels() -> str:
    return shared("web", "quality", "dclm_human_labels.jsonl.gz")


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(app, list(args), env=env)


def one_error_line(result) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    """The preset on a 400-document sample of the shared web text, both backends, timed."""
    out = str(tmp_path_factory.mktemp("web-quality-small"))
    start = time.time()
    result = invoke("train", "--preset", "web-quality", "--out", out, "--max-docs", "400",
                    "--web", shared("web", "jsonl"), "--human-labels", human_labels())
    assert result.exit_code == 0, result.output
    return out, time.time() - start


@pytest.fixture(scope="module")
def full_model(tmp_path_factory):
    """The preset exactly as documented (all shared web documents, default paths)."""
    out = str(tmp_path_factory.mktemp("web-quality"))
    result = invoke("train", "--preset", "web-quality", "--out", out, env={"CURATION_SHARED": str(DATA.parent)})
    assert result.exit_code == 0, result.output
    return out


# -- features ---------------------------------------------------------------------------------------------------
def test_dense_features_are_finite_and_the_same_per_batch_or_whole():
    texts = read_texts(shared("corpora", "web.jsonl.zst"))[:300] + [None, "", "   \n\n ", "x" * 20_000, "Ünïcødé ok."]
    whole = dense_features(texts)
    assert whole.shape == (len(texts), len(FEATURE_NAMES)) and np.isfinite(whole).all()
    batches = np.vstack([dense_features(pa.array(texts[i:i + 64])) for i in range(0, len(texts), 64)])
    chunked = dense_features(pa.chunked_array([pa.array(texts[:100]), pa.array(texts[100:])]))
    assert np.array_equal(whole, batches) and np.array_equal(whole, chunked)
    n = len(texts)
    assert np.all(whole[n - 5:n - 3] == 0) and np.all(whole[n - 3, 1:] == 0)  # None, empty; blank: length only
    assert dense_features([]).shape == (0, len(FEATURE_NAMES))


def test_features_say_how_a_page_is_written():
    prose = ("The committee met on Tuesday to discuss the budget. It was agreed that the funds would be "
             "spent on the new library, which has been planned for years.\n") * 3
    menu = "Home\nAbout Us\nContact Us\nPrivacy Policy\n© 2019 All rights reserved\nShare on Facebook\n"
    f = dict(zip(FEATURE_NAMES, dense_features([prose, menu]).T))
    assert f["stop_word_frac"][0] > 0.3 > f["stop_word_frac"][1]
    assert f["line_end_punct_frac"][0] == 1 and f["line_end_punct_frac"][1] == 0
    assert f["boilerplate_line_frac"][1] > 0.6 and f["boilerplate_line_frac"][0] == 0
    assert f["dup_line_frac"][0] > 0.5  # the repeated paragraph, from the Gopher repetition rules


def test_pure_layers_import_no_spark():
    code = ("import sys; import classifiers.quality_features as q, classifiers.stacked_model, "
            "classifiers.web_quality, classifiers.score, classifiers.labelled_data; "
            "q.dense_features(['One line.\\nTwo lines.']); print('pyspark' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- labelled data ----------------------------------------------------------------------------------------------
def test_split_is_fixed_by_ids_and_stratified():
    docs = read_documents(human_labels())
    dev = dev_test_split(docs, 0.4, "issue-23")
    assert (dev.sum(), (~dev).sum()) == (113, 168)
    assert docs.labels[dev].sum() == round(152 * 0.4) and (docs.labels[dev] == 0).sum() == round(129 * 0.4)
    order = np.random.default_rng(1).permutation(len(docs.texts))
    shuffled = docs.subset(np.ones(len(order), bool))
    shuffled.texts = [docs.texts[i] for i in order]
    shuffled.ids = [docs.ids[i] for i in order]
    shuffled.labels = docs.labels[order]
    again = dev_test_split(shuffled, 0.4, "issue-23")
    assert set(np.asarray(shuffled.ids)[again]) == set(np.asarray(docs.ids)[dev])


def test_auc_interval_brackets_the_auc():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.random(200) < 0.5
    s = y + rng.normal(0, 1, 200)
    auc, lo, hi = auc_with_ci(y, s, n_boot=500)
    assert auc == pytest.approx(roc_auc_score(y, s)) and lo < auc < hi and hi - lo < 0.2


# -- the preset -------------------------------------------------------------------------------------------------
def test_preset_trains_on_a_sample_in_reasonable_time(small_model):
    out, seconds = small_model
    assert seconds < 60, seconds
    card = read_model_card(out)
    assert card["preset"] == "web-quality" and card["default_backend"] in BACKEND_NAMES
    assert card["data"]["web"]["used"] == 400
    assert card["data"]["human_split"]["dev"] == 113 and card["data"]["human_split"]["test"] == 168
    for name in BACKEND_NAMES:
        model = card["models"][name]
        assert model["held_out"]["roc_auc"] > 0.8, model["held_out"]  # in distribution (pseudo-labels)
        human = model["human_labels"]
        assert human["test"]["n"] == 168 and human["test"]["roc_auc"] >= 0.75, human["test"]
        lo, hi = human["test"]["roc_auc_ci95"]
        assert lo <= human["test"]["roc_auc"] <= hi
        assert set(model["files"]) == set(BACKENDS[name].files)
    md = open(os.path.join(out, "MODEL_CARD.md")).read()
    assert "human-label ROC-AUC" in md and "in-distribution ROC-AUC" in md and "test split" in md


@pytest.mark.slow
def test_documented_preset_agrees_with_human_labels_on_the_test_split(full_model):
    card = read_model_card(full_model)
    assert card["data"]["human_split"]["salt"] == "issue-23"
    for name in BACKEND_NAMES:
        human = card["models"][name]["human_labels"]
        # the acceptance figure: documents never trained or tuned on
        assert human["test"]["roc_auc"] >= 0.75, (name, human["test"])
        assert human["dev_cross_validated"]["roc_auc"] >= 0.75, (name, human["dev_cross_validated"])


def test_preset_without_shared_data_fails_with_one_line(tmp_path):
    line = one_error_line(invoke("train", "--preset", "web-quality", "--out", str(tmp_path / "m"),
                                 env={"CURATION_SHARED": str(tmp_path / "absent")}))
    assert "web text not found" in line and "CURATION_SHARED" in line
    web = shared("web", "jsonl")
    line = one_error_line(invoke("train", "--preset", "web-quality", "--out", str(tmp_path / "m"), "--web", web,
                                 env={"CURATION_SHARED": str(tmp_path / "absent")}))
    assert "human labels not found" in line
    assert "unknown preset" in one_error_line(invoke("train", "--preset", "nope", "--out", str(tmp_path)))
    assert "not --positive" in one_error_line(invoke("train", "--preset", "web-quality", "--out", str(tmp_path),
                                                     "--positive", web))
    assert "belong to --preset" in one_error_line(invoke("train", "--out", str(tmp_path), "--web", web))


# -- models: save/load, per batch, the quality stage ------------------------------------------------------------
@pytest.mark.parametrize("cls", [SklearnStacked, FastTextStacked])
def test_stacked_model_round_trip_scores_identically(tmp_path, cls):
    web = read_texts(shared("corpora", "web.jsonl.zst"))
    forum = read_texts(shared("corpora", "forum.jsonl.zst"))[:150]
    texts, labels = web[:150] + forum, ["low"] * 150 + ["high"] * len(forum)
    clf = cls(seed=3).fit(texts, labels)
    check = read_texts(shared("corpora", "docs.jsonl.zst"))[:40] + web[300:340]
    before = clf.predict_proba(check)
    clf.save(str(tmp_path))
    loaded = cls.load(str(tmp_path))
    assert loaded.classes_ == ["high", "low"] and loaded.params() == clf.params()
    assert np.array_equal(loaded.predict_proba(check), before)
    assert sorted(os.listdir(tmp_path)) == sorted(cls.files)
    for name in cls.files:  # no pickle anywhere: JSON, numpy without pickle, fastText's own format
        if name.endswith(".json"):
            json.loads((tmp_path / name).read_text())
        elif name.endswith(".npz"):
            np.load(tmp_path / name, allow_pickle=False).close()
    batch = pa.RecordBatch.from_pydict({"id": [str(i) for i in range(len(check))], "text": check})
    scored = quality_batch(batch, loaded, "high")
    assert np.array_equal(scored.column("quality_score").to_numpy(), before[:, 0])


def test_quality_stage_accepts_the_preset_backends(small_model):
    out, _ = small_model
    for name in BACKEND_NAMES:
        stage = QualityScoreStage(QualityScoreStage.Params(model=out, backend=name, keep_top=0.5))
        assert stage.card()["preset"] == "web-quality"


def test_quality_stage_on_spark_scores_like_the_local_model(spark, small_model, tmp_path):
    from curation.pipeline.stage import StageContext

    out, _ = small_model
    texts = read_texts(shared("corpora", "web.jsonl.zst"))[:120]
    df = spark.createDataFrame([(str(i), t) for i, t in enumerate(texts)], "id string, text string")
    stage = QualityScoreStage(QualityScoreStage.Params(model=out, backend="sklearn-stacked"))
    result = stage.apply(df, StageContext(spark=spark, out=str(tmp_path), stage_name="quality"))
    rows = sorted(result.kept.select("id", "text", "quality_score").collect(), key=lambda r: int(r["id"]))
    local = SklearnStacked.load(out).predict_proba([r["text"] for r in rows])[:, 0]
    assert np.allclose([r["quality_score"] for r in rows], local, atol=1e-9)


# -- curate classifier score ------------------------------------------------------------------------------------
def test_score_reports_auc_on_a_labelled_file(small_model, tmp_path):
    out, _ = small_model
    scores = tmp_path / "scores.jsonl"
    result = invoke("score", out, human_labels(), "--split", "test", "--json", "--out", str(scores))
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    m = report["metrics"]
    assert report["documents"] == report["labelled"] == 168 and m["n_positive"] == 91
    card = read_model_card(out)
    assert m["roc_auc"] == card["models"][card["default_backend"]]["human_labels"]["test"]["roc_auc"]
    assert m["roc_auc_ci95"][0] <= m["roc_auc"] <= m["roc_auc_ci95"][1]
    assert 0 < m["precision"] <= 1 and 0 < m["recall"] <= 1 and report["threshold"] == 0.5
    hist = report["score_histogram"]
    assert sum(hist["positive"]) + sum(hist["negative"]) == sum(hist["all"]) == 168
    rows = [json.loads(line) for line in scores.read_text().splitlines()]
    assert len(rows) == 168 and {"id", "score", "label"} == set(rows[0])
    text = invoke("score", out, human_labels(), "--backend", "sklearn-stacked")
    assert text.exit_code == 0 and "ROC-AUC" in text.stdout and "precision" in text.stdout
    assert max(map(len, text.stdout.splitlines())) <= 80


def test_score_reads_parquet_with_and_without_labels(small_model, tmp_path):
    out, _ = small_model
    docs = read_documents(human_labels())
    take = np.r_[np.flatnonzero(docs.labels == 0)[:30], np.flatnonzero(docs.labels == 1)[:30]]
    path = tmp_path / "sample.parquet"
    pq.write_table(pa.table({"body": [docs.texts[i] for i in take], "good": [bool(docs.labels[i]) for i in take]}),
                   path)
    result = invoke("score", out, str(path), "--text-field", "body", "--label-field", "good", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["labelled"] == 60 and report["metrics"]["n_positive"] == 30
    assert report["metrics"]["roc_auc"] > 0.75
    one_class = tmp_path / "one_class.parquet"
    pq.write_table(pa.table({"body": [docs.texts[i] for i in take[:30]], "good": [False] * 30}), one_class)
    result = invoke("score", out, str(one_class), "--text-field", "body", "--label-field", "good")
    assert result.exit_code == 0 and "undefined" in result.stdout
    unlabelled = invoke("score", out, str(path), "--text-field", "body")
    assert unlabelled.exit_code == 0 and "no label field" in unlabelled.stdout


def test_score_bad_inputs_give_one_line(small_model, tmp_path):
    out, _ = small_model
    labels = human_labels()
    assert "model directory not found" in one_error_line(invoke("score", str(tmp_path / "nope"), labels))
    assert "no model_card.json" in one_error_line(invoke("score", str(tmp_path), labels))
    assert "matches no files" in one_error_line(invoke("score", out, str(tmp_path / "missing.jsonl")))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine", "label": 1}\n{not json\n')
    assert "bad.jsonl:2" in one_error_line(invoke("score", out, str(bad)))
    odd = tmp_path / "odd.jsonl"
    odd.write_text('{"text": "fine", "label": "maybe"}\n')
    assert "maybe" in one_error_line(invoke("score", out, str(odd)))
    assert "no 'nope' model" in one_error_line(invoke("score", out, labels, "--backend", "nope"))
    assert "--split" in one_error_line(invoke("score", out, labels, "--split", "train"))
    notext = tmp_path / "notext.jsonl"
    notext.write_text('{"body": "x"}\n')
    assert "no document has a string 'text'" in one_error_line(invoke("score", out, str(notext)))
    plain = str(tmp_path / "plain")  # a model trained the old way records no human-label split
    corpora = shared("corpora")
    trained = invoke("train", "--out", plain, "--backend", "fasttext", "--max-docs-per-source", "40",
                     "--positive", f"{corpora}/wiki.jsonl.zst", "--negative", f"{corpora}/web.jsonl.zst")
    assert trained.exit_code == 0, trained.output
    assert "records no dev split" in one_error_line(invoke("score", plain, labels, "--split", "test"))
    assert invoke("score", plain, labels).exit_code == 0
