"""A text model plus a logistic-regression head over [its logit, dense quality features] (binary only).

The base model (fastText or the scikit-learn hashing model) reads the words of a document's opening; the head
adds how the whole page is written (:mod:`classifiers.quality_features`: length, function words, line shape,
boilerplate, repetition) and maps both to one probability. :meth:`fit` trains the base and fits the head on the
base's out-of-fold scores (so the head does not learn to trust a base that has seen the document);
:meth:`fit_head` refits only the head on another labelled set, e.g. a few hundred human labels, which also
calibrates the score to that set's judgement.

Saved without pickle: ``<backend>.json`` (preparation, labels, parameters), ``<backend>-head.json`` (feature names,
standardisation, weights) and the base model's own files renamed ``<backend>-base.<ext>``.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import ClassVar, Sequence

import numpy as np

from classifiers.fasttext_model import FastTextClassifier
from classifiers.quality_features import FEATURE_NAMES, dense_features
from classifiers.sklearn_model import HashingLogisticClassifier
from classifiers.text_classifier import TextClassifier, TextPrep

LOGIT_CLIP = 1e-6


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), LOGIT_CLIP, 1 - LOGIT_CLIP)
    return np.log(p / (1 - p))


def fit_logistic_head(features: np.ndarray, y: np.ndarray, C: float, seed: int = 0) -> dict:
    """Standardise ``features`` and fit an L2 logistic regression of ``y`` (bool); the head as plain numbers."""
    from sklearn.linear_model import LogisticRegression

    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=C, max_iter=5000, random_state=seed)
    lr.fit((features - mean) / scale, np.asarray(y, dtype=bool))
    return {"mean": mean.tolist(), "scale": scale.tolist(), "coef": lr.coef_[0].tolist(),
            "intercept": float(lr.intercept_[0])}


def apply_head(head: dict, features: np.ndarray) -> np.ndarray:
    """P(positive) of each row of ``features`` under a head from :func:`fit_logistic_head`."""
    z = (features - np.asarray(head["mean"])) / np.asarray(head["scale"]) @ np.asarray(head["coef"])
    return 1.0 / (1.0 + np.exp(-(z + head["intercept"])))


class StackedQualityClassifier(TextClassifier):
    """Base text classifier + logistic head over [base logit, :data:`FEATURE_NAMES`]. Subclasses set the base."""

    base_class: ClassVar[type[TextClassifier]] = TextClassifier

    def __init__(self, prep: TextPrep | None = None, seed: int = 0, base: dict | None = None, head_C: float = 0.1,
                 head_folds: int = 3):
        super().__init__(prep, seed)
        self.base_params = {k: v for k, v in (base or {}).items() if k != "seed"}
        self.head_C, self.head_folds = head_C, head_folds
        self.base = self.base_class(self.prep, seed=seed, **self.base_params)
        self.head: dict | None = None
        self.head_source = ""  # what the head was fitted on (recorded in the head file)

    @classmethod
    def base_files(cls) -> dict[str, str]:
        """The base model's file names -> their names in the model directory."""
        return {name: f"{cls.backend}-base{os.path.splitext(name)[1]}" for name in cls.base_class.files}

    def params(self) -> dict:
        base = {k: v for k, v in self.base.params().items() if k != "seed"}
        return {"seed": self.seed, "base": base, "head_C": self.head_C, "head_folds": self.head_folds}

    # -- features ---------------------------------------------------------------------------------------------
    def head_features(self, texts) -> np.ndarray:
        """[base logit of ``classes_[1]``, dense features] per document (the head's input)."""
        base_p = self.base.predict_proba(texts)[:, 1]
        return np.column_stack([logit(base_p), dense_features(texts)])

    # -- training ---------------------------------------------------------------------------------------------
    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> "StackedQualityClassifier":
        labels = np.asarray(labels, dtype=object)
        classes = sorted(set(labels.tolist()))
        if len(classes) != 2:
            raise ValueError(f"a stacked quality classifier needs exactly two labels, got {classes}")
        texts = texts.to_pylist() if hasattr(texts, "to_pylist") else list(texts)
        y = labels == classes[1]
        # Out-of-fold base scores: the head learns how far to trust the base on documents it has not seen.
        rng = np.random.default_rng(self.seed)
        folds = np.empty(len(texts), dtype=np.int64)
        for value in (False, True):
            idx = rng.permutation(np.flatnonzero(y == value))
            folds[idx] = np.arange(len(idx)) % self.head_folds
        oof = np.zeros(len(texts))
        for k in range(self.head_folds):
            train, held = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
            fold_base = self.base_class(self.prep, seed=self.seed, **self.base_params)
            fold_base.fit([texts[i] for i in train], labels[train])
            oof[held] = fold_base.predict_proba([texts[i] for i in held])[:, fold_base.classes_.index(classes[1])]
        self.base.fit(texts, labels)
        self.classes_ = [str(c) for c in classes]
        features = np.column_stack([logit(oof), dense_features(texts)])
        self.head = fit_logistic_head(features, y, self.head_C, self.seed)
        self.head_source = f"out-of-fold base scores on its {len(texts)} training documents"
        return self

    def fit_head(self, texts, labels: Sequence[str], source: str = "") -> "StackedQualityClassifier":
        """Refit only the head (base unchanged) on other labelled documents (labels from ``classes_``)."""
        labels = np.asarray(labels, dtype=object)
        unknown = set(labels.tolist()) - set(self.classes_)
        if unknown:
            raise ValueError(f"labels {sorted(unknown)} are not this classifier's {self.classes_}")
        self.head = fit_logistic_head(self.head_features(texts), labels == self.classes_[1], self.head_C, self.seed)
        self.head_source = source or f"{len(labels)} labelled documents"
        return self

    # -- scoring ----------------------------------------------------------------------------------------------
    def predict_proba(self, texts) -> np.ndarray:
        p1 = apply_head(self.head, self.head_features(texts))
        return np.column_stack([1.0 - p1, p1])

    def _predict_proba_prepared(self, lines: list[str]) -> np.ndarray:
        raise TypeError("a stacked classifier reads raw texts: call predict_proba")

    # -- files ------------------------------------------------------------------------------------------------
    def _save_weights(self, model_dir: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            self.base.save(tmp)
            for name, saved_as in self.base_files().items():
                shutil.copyfile(os.path.join(tmp, name), os.path.join(model_dir, saved_as))
        head = {"features": ["base_logit", *FEATURE_NAMES], "fitted_on": self.head_source, **self.head}
        with open(os.path.join(model_dir, f"{self.backend}-head.json"), "w") as f:
            json.dump(head, f, indent=2)

    def _load_weights(self, model_dir: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            for name, saved_as in self.base_files().items():
                os.symlink(os.path.abspath(os.path.join(model_dir, saved_as)), os.path.join(tmp, name))
            self.base = self.base_class.load(tmp)
        with open(os.path.join(model_dir, f"{self.backend}-head.json")) as f:
            head = json.load(f)
        if head["features"] != ["base_logit", *FEATURE_NAMES]:
            raise ValueError(f"{model_dir}: head features {head['features']} differ from this version's")
        self.head_source = head.get("fitted_on", "")
        self.head = {k: head[k] for k in ("mean", "scale", "coef", "intercept")}


class FastTextStacked(StackedQualityClassifier):
    backend = "fasttext-stacked"
    base_class = FastTextClassifier
    files = ("fasttext-stacked.json", "fasttext-stacked-head.json", "fasttext-stacked-base.json",
             "fasttext-stacked-base.bin")


class SklearnStacked(StackedQualityClassifier):
    backend = "sklearn-stacked"
    base_class = HashingLogisticClassifier
    files = ("sklearn-stacked.json", "sklearn-stacked-head.json", "sklearn-stacked-base.json",
             "sklearn-stacked-base.npz")
