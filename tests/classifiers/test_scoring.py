"""The quality and topic stages on Spark: model shipped to executors, scores equal local prediction, selection."""
import numpy as np
import pytest

from classifiers.fasttext_model import FastTextClassifier
from classifiers.scoring_stage import QualityScoreStage, TopicStage, quality_batch
from classifiers.sklearn_model import HashingLogisticClassifier
from classifiers.train import NEGATIVE, POSITIVE, LabeledSource, train_classifiers
from curation.pipeline.stage import StageContext
from curation.readers.file_source import read_files
from curation.readers.jsonl import jsonl_records
from curation.schema import DOC_SCHEMA
from tests.paths import shared_path


def corpus(domain: str) -> str:
    return str(shared_path("corpora", f"{domain}.jsonl.zst"))


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    quality = str(tmp_path_factory.mktemp("quality"))
    train_classifiers([LabeledSource(POSITIVE, corpus("wiki")), LabeledSource(POSITIVE, corpus("docs")),
                       LabeledSource(NEGATIVE, corpus("web"))], quality, positive_label=POSITIVE,
                      max_docs_per_source=150, log=lambda _: None)
    topic = str(tmp_path_factory.mktemp("topic"))
    train_classifiers([LabeledSource(d, corpus(d)) for d in ("web", "code", "forum")], topic,
                      max_docs_per_source=100, log=lambda _: None)
    return quality, topic


@pytest.fixture(scope="module")
def docs(spark):
    frames = [read_files(spark, [corpus(d)], jsonl_records, {}, d, "jsonl") for d in ("web", "wiki", "code")]
    df = frames[0].unionByName(frames[1]).unionByName(frames[2]).where("reason IS NULL").select(*DOC_SCHEMA.names)
    return df.cache()


def ctx(spark, tmp_path):
    return StageContext(spark=spark, out=str(tmp_path), stage_name="quality")


@pytest.mark.parametrize("backend, cls", [("fasttext", FastTextClassifier), ("sklearn", HashingLogisticClassifier)])
def test_quality_stage_scores_like_the_local_model(spark, tmp_path, models, docs, backend, cls):
    stage = QualityScoreStage(QualityScoreStage.Params(model=models[0], backend=backend))
    result = stage.apply(docs, ctx(spark, tmp_path))
    assert result.rejected is None and result.combined is None
    rows = result.kept.select("text", "quality_score").collect()
    local = cls.load(models[0]).predict_proba([r["text"] for r in rows])[:, 0]  # classes: high, low
    assert np.allclose([r["quality_score"] for r in rows], local, atol=1e-6)
    stats = result.after_write(result.kept, None, str(tmp_path))["quality"]
    assert stats["backend"] == backend and len(stats["model_key"]) == 16
    assert 0 <= stats["score_quantiles"]["p10"] <= stats["score_quantiles"]["p90"] <= 1


def test_keep_top_selects_by_the_score_distribution(spark, tmp_path, models, docs):
    stage = QualityScoreStage(QualityScoreStage.Params(model=models[0], keep_top=0.3))
    result = stage.apply(docs, ctx(spark, tmp_path))
    rows = result.combined.select("quality_score", "reason").collect()
    kept = [r["quality_score"] for r in rows if r["reason"] is None]
    rejected = [r for r in rows if r["reason"] is not None]
    assert abs(len(kept) / len(rows) - 0.3) < 0.01
    assert min(kept) > max(r["quality_score"] for r in rejected)
    stats = result.after_write(result.combined.where("reason IS NULL"), result.combined.where("reason IS NOT NULL"),
                               str(tmp_path))["quality"]
    assert rejected[0]["reason"] == f"quality: not in top 30% (score < {stats['cutoff']:.4f})"


def test_min_score_rejects_below_a_fixed_threshold(spark, tmp_path, models, docs):
    result = QualityScoreStage(QualityScoreStage.Params(model=models[0], min_score=0.5)).apply(docs, ctx(spark, tmp_path))
    rows = result.combined.select("quality_score", "reason").collect()
    assert {r["reason"] for r in rows} == {None, "quality: score < 0.5"}
    assert all((r["reason"] is None) == (r["quality_score"] >= 0.5) for r in rows)


def test_min_score_and_keep_top_are_exclusive(models):
    with pytest.raises(ValueError):
        QualityScoreStage.Params(model=models[0], min_score=0.5, keep_top=0.3)


def test_topic_stage_labels_domains(spark, tmp_path, models, docs):
    result = TopicStage(TopicStage.Params(model=models[1], backend="sklearn")).apply(docs, ctx(spark, tmp_path))
    rows = result.kept.select("meta.source_path", "topic", "topic_score").collect()
    code = [r for r in rows if r["source_path"].endswith("code.jsonl.zst")]
    assert len(code) > 500
    assert np.mean([r["topic"] == "code" for r in code]) > 0.8
    assert all(r["topic"] in {"web", "code", "forum"} and 0 < r["topic_score"] <= 1 for r in rows)
    stats = result.after_write(result.kept, None, str(tmp_path))["topic"]
    assert sum(stats["documents_per_topic"].values()) == len(rows)


def test_stage_refuses_a_model_of_the_wrong_task(spark, tmp_path, models, docs):
    with pytest.raises(ValueError, match="multiclass"):
        QualityScoreStage(QualityScoreStage.Params(model=models[1])).apply(docs, ctx(spark, tmp_path))


def test_quality_batch_is_a_pure_function_over_arrow(models):
    import pyarrow as pa

    from curation.schema import doc_schema, rows_to_batch

    batch = rows_to_batch([{"id": "a", "text": "def f(x):\n    return x"}, {"id": "b", "text": None}], doc_schema())
    out = quality_batch(batch, FastTextClassifier.load(models[0]), POSITIVE)
    assert out.schema.names == batch.schema.names + ["quality_score"]
    assert out.column("quality_score").type == pa.float64() and out.num_rows == 2
