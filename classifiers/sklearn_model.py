"""scikit-learn baseline: hashed word n-grams (``HashingVectorizer``) + ``LogisticRegression``.

Saved without pickle: ``sklearn.json`` (text preparation, vectorizer parameters, labels, training parameters) and
``sklearn.npz`` (coefficients and intercepts, read with ``allow_pickle=False``). A hashing vectorizer has no fitted
state, so these two files rebuild the model exactly; a model file from an untrusted path can hold numbers only.
"""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from classifiers.text_classifier import TextClassifier, TextPrep


class HashingLogisticClassifier(TextClassifier):
    backend = "sklearn"
    files = ("sklearn.json", "sklearn.npz")

    def __init__(self, prep: TextPrep | None = None, seed: int = 0, n_features: int = 1 << 18,
                 ngram_max: int = 2, C: float = 10.0, max_iter: int = 1000):
        super().__init__(prep, seed)
        self.n_features, self.ngram_max, self.C, self.max_iter = n_features, ngram_max, C, max_iter
        self.coef_ = np.zeros((0, n_features), dtype=np.float32)
        self.intercept_ = np.zeros(0, dtype=np.float32)

    def params(self) -> dict:
        return {"n_features": self.n_features, "ngram_max": self.ngram_max, "C": self.C, "max_iter": self.max_iter,
                "seed": self.seed}

    def _vectorizer(self):
        from sklearn.feature_extraction.text import HashingVectorizer

        # lowercase is TextPrep's job, so training and scoring see identical tokens.
        return HashingVectorizer(n_features=self.n_features, ngram_range=(1, self.ngram_max), alternate_sign=False,
                                 lowercase=False, norm="l2", dtype=np.float32)

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> "HashingLogisticClassifier":
        from sklearn.linear_model import LogisticRegression

        X = self._vectorizer().transform(self.prep.apply(texts))
        # saga: several times faster than lbfgs on wide sparse hashed features.
        lr = LogisticRegression(C=self.C, solver="saga", max_iter=self.max_iter, random_state=self.seed)
        lr.fit(X, np.asarray(labels, dtype=object))
        self.classes_ = [str(c) for c in lr.classes_]
        self.coef_ = lr.coef_.astype(np.float32)
        self.intercept_ = lr.intercept_.astype(np.float32)
        return self

    def _predict_proba_prepared(self, lines: list[str]) -> np.ndarray:
        logits = np.asarray(self._vectorizer().transform(lines) @ self.coef_.T, dtype=np.float64) + self.intercept_
        if len(self.classes_) == 2:  # binary logistic regression has one weight row, for classes_[1]
            p1 = 1.0 / (1.0 + np.exp(-logits[:, 0]))
            return np.stack([1.0 - p1, p1], axis=1)
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    def _save_weights(self, model_dir: str) -> None:
        np.savez_compressed(os.path.join(model_dir, "sklearn.npz"), coef=self.coef_, intercept=self.intercept_)

    def _load_weights(self, model_dir: str) -> None:
        with np.load(os.path.join(model_dir, "sklearn.npz"), allow_pickle=False) as arrays:
            self.coef_, self.intercept_ = arrays["coef"], arrays["intercept"]
