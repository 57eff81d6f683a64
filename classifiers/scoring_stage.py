"""Spark stages that apply a trained classifier: ``quality`` (score, optional selection) and ``topic`` (label).

The model's files are shipped with the job (``SparkContext.addFile``, under names carrying their content hash, so
two models with the same file names never clash) and loaded once per Python worker; each Arrow batch is scored
in one call. Spec::

    quality:
      model: models/quality        # a directory written by `curate classifier train`, on the driver's disk
      backend: fasttext            # or sklearn; or sklearn-stacked / fasttext-stacked (web-quality preset)
      keep_top: 0.3                # optional: keep the best 30% (cutoff from the score distribution)
      # min_score: 0.5             # optional instead: keep score >= 0.5
    topic:
      model: models/topic

Selection choice: without ``keep_top`` / ``min_score`` the quality stage only annotates ``quality_score`` and a
later ``select`` may use any fixed threshold. A top-percentile cutoff depends on the scores of the whole input, so
the stage computes it itself (``approxQuantile`` over the scored documents, persisted so they are scored once)
and rejects the rest with a reason naming the cutoff; the cutoff is in ``stats.json`` (``extra.quality``).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import partial
from typing import Callable, Literal

import numpy as np
import pyarrow as pa
from pydantic import Field, model_validator

from classifiers.model_card import read_model_card
from classifiers.text_classifier import TextClassifier
from classifiers.train import BACKENDS
from curation.pipeline.stage import Stage, StageContext, StageParams, StageResult
from curation.schema import ANNOTATIONS
from curation.shards.format import sha256_file

QUANTILE_ERROR = 1e-4


def model_key(model_dir: str, backend: str) -> str:
    """Content hash of a saved model's files."""
    digest = hashlib.sha256()
    for name in BACKENDS[backend].files:
        digest.update(sha256_file(os.path.join(model_dir, name)).encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class ShippedModel:
    """A saved model registered with the Spark job; :meth:`load` runs on executors (once per Python worker)."""

    backend: str
    key: str

    def shipped_name(self, file_name: str) -> str:
        return f"{self.key}-{file_name}"

    def load(self) -> TextClassifier:
        from curation.runtime.batches import worker_cached

        return worker_cached(("classifier", self.key), self._load_from_spark_files)

    def _load_from_spark_files(self) -> TextClassifier:
        from pyspark import SparkFiles

        model_dir = tempfile.mkdtemp(prefix=f"classifier-{self.key}-")
        for name in BACKENDS[self.backend].files:
            os.symlink(SparkFiles.get(self.shipped_name(name)), os.path.join(model_dir, name))
        return BACKENDS[self.backend].load(model_dir)


def ship_model(spark, model_dir: str, backend: str) -> ShippedModel:
    """Register a local model directory's files with the job under content-addressed names."""
    model = ShippedModel(backend, model_key(model_dir, backend))
    staging = os.path.join(tempfile.gettempdir(), "curation-models", model.key)
    os.makedirs(staging, exist_ok=True)
    for name in BACKENDS[backend].files:
        staged = os.path.join(staging, model.shipped_name(name))
        if not os.path.exists(staged):
            shutil.copyfile(os.path.join(model_dir, name), staged + ".part")
            os.replace(staged + ".part", staged)
        spark.sparkContext.addFile(staged)
    return model


def append_columns(batch: pa.RecordBatch, columns: dict[str, np.ndarray | list]) -> pa.RecordBatch:
    for name, values in columns.items():
        batch = batch.append_column(pa.field(name, ANNOTATIONS[name]), pa.array(values, type=ANNOTATIONS[name]))
    return batch


def quality_batch(batch: pa.RecordBatch, classifier: TextClassifier, positive_label: str) -> pa.RecordBatch:
    """``batch`` with ``quality_score`` = P(positive label) appended."""
    proba = classifier.predict_proba(batch.column("text"))
    return append_columns(batch, {"quality_score": proba[:, classifier.classes_.index(positive_label)]})


def topic_batch(batch: pa.RecordBatch, classifier: TextClassifier) -> pa.RecordBatch:
    """``batch`` with ``topic`` (most probable label) and ``topic_score`` (its probability) appended."""
    proba = classifier.predict_proba(batch.column("text"))
    best = proba.argmax(axis=1)
    return append_columns(batch, {"topic": np.asarray(classifier.classes_, dtype=object)[best].tolist(),
                                  "topic_score": proba[np.arange(len(best)), best]})


def _with_shipped_model(batch: pa.RecordBatch, *, model: ShippedModel, annotate: Callable, **kwargs) -> pa.RecordBatch:
    return annotate(batch, model.load(), **kwargs)


def annotate_with_model(df, model: ShippedModel, annotate: Callable, columns: list[str], **kwargs):
    """``df`` with ``columns`` (re)computed by ``annotate(batch, classifier, **kwargs)`` on executors."""
    from pyspark.sql.pandas.types import to_arrow_schema

    from curation.runtime.batches import map_batches

    df = df.drop(*[c for c in columns if c in df.columns])
    schema = to_arrow_schema(df.schema)
    for name in columns:
        schema = schema.append(pa.field(name, ANNOTATIONS[name]))
    return map_batches(df, partial(_with_shipped_model, model=model, annotate=annotate, **kwargs), schema)


class ModelParams(StageParams):
    model: str = Field(description="a model directory written by `curate classifier train`")
    backend: Literal["fasttext", "sklearn", "fasttext-stacked", "sklearn-stacked"] = Field(
        "fasttext", description="which of the directory's models scores (*-stacked: web-quality preset, quality only)")


class QualityScoreParams(ModelParams):
    min_score: float | None = Field(None, ge=0, le=1, description="reject documents scoring below this")
    keep_top: float | None = Field(None, gt=0, le=1, description="keep this share of documents, the best scored "
                                                                 "(instead of min_score)")

    @model_validator(mode="after")
    def _one_selection(self):
        if self.min_score is not None and self.keep_top is not None:
            raise ValueError("give min_score or keep_top, not both")
        return self


class ModelStage(Stage):
    """Shared by the quality and topic stages: the model card check and the model fingerprint."""

    task: str = ""

    def card(self) -> dict:
        card = read_model_card(self.params.model)
        if card["task"] != self.task:
            raise ValueError(f"{self.params.model} is a {card['task']} classifier; the {self.type_name} stage "
                             f"needs a {self.task} one")
        if self.params.backend not in card["models"]:
            raise ValueError(f"{self.params.model} has no {self.params.backend} model (has {sorted(card['models'])})")
        return card

    def fingerprint_extra(self, ctx: StageContext) -> str:
        return model_key(self.params.model, self.params.backend)


class QualityScoreStage(ModelStage):
    """Annotates ``quality_score``; with ``min_score`` or ``keep_top`` also rejects documents below the cutoff."""

    type_name = "quality"
    Params = QualityScoreParams
    task = "binary"

    def apply(self, df, ctx: StageContext) -> StageResult:
        from pyspark import StorageLevel
        from pyspark.sql import functions as F

        p = self.params
        card = self.card()
        model = ship_model(ctx.spark, p.model, p.backend)
        scored = annotate_with_model(df, model, quality_batch, ["quality_score"],
                                     positive_label=card["positive_label"])
        stats = {"model": p.model, "backend": p.backend, "model_key": model.key}
        if p.min_score is None and p.keep_top is None:
            return StageResult(kept=scored, after_write=partial(_score_stats, stats))
        if p.keep_top is not None:
            scored = scored.persist(StorageLevel.DISK_ONLY)
            quantile = scored.approxQuantile("quality_score", [1.0 - p.keep_top], QUANTILE_ERROR)
            cutoff = quantile[0] if quantile else 0.0
            reason = f"quality: not in top {p.keep_top:.0%} (score < {cutoff:.4f})"
        else:
            cutoff = p.min_score
            reason = f"quality: score < {cutoff}"
        stats["cutoff"] = cutoff
        combined = scored.withColumn("reason", F.when(F.col("quality_score") < F.lit(cutoff), F.lit(reason)))

        def after_write(kept, rejected, artifacts_dir):
            scored.unpersist()
            return _score_stats(stats, kept, rejected, artifacts_dir)

        return StageResult(combined=combined, after_write=after_write)


def _score_stats(stats: dict, kept, rejected, _artifacts_dir) -> dict:
    scores = kept.select("quality_score")
    if rejected is not None:
        scores = scores.unionByName(rejected.select("quality_score"))
    probs = [0.1, 0.25, 0.5, 0.75, 0.9]
    values = scores.approxQuantile("quality_score", probs, QUANTILE_ERROR)
    quantiles = {f"p{int(q * 100)}": round(v, 4) for q, v in zip(probs, values)}
    return {"quality": {**stats, "score_quantiles": quantiles}}


class TopicStage(ModelStage):
    """Annotates ``topic`` and ``topic_score`` with a topic (domain) classifier; select on them afterwards."""

    type_name = "topic"
    Params = ModelParams
    task = "multiclass"

    def apply(self, df, ctx: StageContext) -> StageResult:
        self.card()
        model = ship_model(ctx.spark, self.params.model, self.params.backend)
        labelled = annotate_with_model(df, model, topic_batch, ["topic", "topic_score"])

        def after_write(kept, _rejected, _artifacts_dir):
            counts = {r["topic"]: r["count"] for r in kept.groupBy("topic").count().collect()}
            return {"topic": {"model": self.params.model, "backend": self.params.backend, "model_key": model.key,
                              "documents_per_topic": dict(sorted(counts.items(), key=lambda kv: str(kv[0])))}}

        return StageResult(kept=labelled, after_write=after_write)
