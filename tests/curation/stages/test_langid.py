"""Language ID with lid.176: labels and scores on real sentences, selection by language list and minimum score."""
import pytest

from curation.pipeline.stage import StageContext
from curation.schema import doc_schema, rows_to_batch
from curation.stages.langid import LangIdParams, LangIdStage, identify, load_model, rejection

TEXTS = {
    "en": "The committee will publish its final report on the state of the river next spring.",
    "de": "Der Ausschuss wird seinen Abschlussbericht über den Zustand des Flusses im nächsten Frühjahr vorlegen.",
    "fr": "Le comité publiera son rapport final sur l'état de la rivière au printemps prochain.",
}


@pytest.fixture(scope="module")
def model():
    return load_model()


def test_identify_labels_scores_and_empty_texts(model):
    texts = [TEXTS["en"], TEXTS["de"], "", None, TEXTS["fr"] + "\n" + TEXTS["fr"]]
    langs, scores = identify(texts, model)
    assert langs == ["en", "de", None, None, "fr"]
    assert all(s > 0.8 for s in (scores[0], scores[1], scores[4])) and scores[2] == scores[3] == 0.0


def test_rejection_reasons():
    assert rejection("en", 0.9, ["en", "de"], 0.5) is None
    assert rejection("fr", 0.9, ["en", "de"], 0.5) == "langid: language fr not selected"
    assert rejection("en", 0.3, None, 0.5) == "langid: score below 0.5"
    assert rejection(None, 0.0, None, 0.0) is None


def test_langid_stage_annotates_and_selects(spark):
    rows = [{"id": k, "text": t} for k, t in TEXTS.items()] + [{"id": "empty", "text": ""}]
    df = spark.createDataFrame(rows_to_batch(rows, doc_schema()).to_pandas())
    ctx = StageContext(spark=spark, out="unused", stage_name="langid")
    out = LangIdStage(LangIdParams(languages=["en", "de"], min_score=0.5)).apply(df, ctx).combined
    got = {r["id"]: (r["lang"], r["lang_score"], r["reason"]) for r in out.collect()}
    assert got["en"][0] == "en" and got["en"][2] is None and got["en"][1] > 0.8
    assert got["de"][0] == "de" and got["de"][2] is None
    assert got["fr"][2] == "langid: language fr not selected"
    assert got["empty"][:2] == (None, 0.0) and got["empty"][2] == "langid: language None not selected"
    assert out.columns == doc_schema().names + ["reason"]
