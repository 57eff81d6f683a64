"""What every text classifier here shares: the text preparation (identical at training and scoring) and the
scikit-learn style interface (``fit`` / ``predict_proba`` / ``predict`` / ``score``, ``save`` / ``load``).
"""
from __future__ import annotations

import json
import os
from typing import ClassVar, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict


class TextPrep(BaseModel):
    """Turns raw documents into one classifier line each, with Arrow kernels (no per-document Python).

    Keeps the first ``max_chars`` characters (scores depend on the opening of a document; this bounds the cost of
    very long ones: fastText's cost is linear in tokens), optionally lowercases, optionally sets punctuation apart
    from words (fastText splits on whitespace only; this regex pass costs about a third of the scoring throughput)
    and turns newlines into spaces (fastText reads one line per example; it splits on other whitespace itself).
    """

    model_config = ConfigDict(extra="forbid")

    max_chars: int = 1000
    lowercase: bool = True
    split_punctuation: bool = False

    def apply(self, texts: pa.Array | pa.ChunkedArray | Sequence[str | None]) -> list[str]:
        arr = texts if isinstance(texts, (pa.Array, pa.ChunkedArray)) else pa.array(texts, type=pa.string())
        arr = pc.fill_null(arr, "")
        arr = pc.utf8_slice_codeunits(arr, 0, self.max_chars)
        if self.lowercase:
            arr = pc.utf8_lower(arr)
        if self.split_punctuation:
            arr = pc.replace_substring_regex(arr, r"([^\w\s])", r" \1 ")
        return pc.replace_substring(arr, "\n", " ").to_pylist()


class TextClassifier:
    """Base class. Subclasses implement ``params``, ``fit``, ``_predict_proba_prepared`` and the weight files.

    ``classes_`` are the labels in column order of :meth:`predict_proba` (sorted). Inputs are raw texts; the
    classifier applies its ``prep`` itself. A saved model is ``<backend>.json`` (preparation, labels, constructor
    parameters) plus the backend's weight file, in one directory.
    """

    backend: ClassVar[str] = ""
    # Files a saved model consists of inside its model directory (shipped to executors by the scoring stage).
    files: ClassVar[tuple[str, ...]] = ()

    def __init__(self, prep: TextPrep | None = None, seed: int = 0):
        self.prep = prep or TextPrep()
        self.seed = seed
        self.classes_: list[str] = []

    def params(self) -> dict:
        """Constructor parameters (seed included): what rebuilds this classifier, and the model card's record."""
        raise NotImplementedError

    def _save_weights(self, model_dir: str) -> None:
        raise NotImplementedError

    def _load_weights(self, model_dir: str) -> None:
        raise NotImplementedError

    def save(self, model_dir: str) -> None:
        os.makedirs(model_dir, exist_ok=True)
        self._save_weights(model_dir)
        meta = {"prep": self.prep.model_dump(), "classes": self.classes_, "params": self.params()}
        with open(os.path.join(model_dir, f"{self.backend}.json"), "w") as f:
            json.dump(meta, f, indent=2)

    @classmethod
    def load(cls, model_dir: str) -> "TextClassifier":
        with open(os.path.join(model_dir, f"{cls.backend}.json")) as f:
            meta = json.load(f)
        clf = cls(TextPrep(**meta["prep"]), **meta["params"])
        clf.classes_ = meta["classes"]
        clf._load_weights(model_dir)
        return clf

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> "TextClassifier":
        raise NotImplementedError

    def _predict_proba_prepared(self, lines: list[str]) -> np.ndarray:
        raise NotImplementedError

    def predict_proba(self, texts) -> np.ndarray:
        """(n_docs, n_classes) probabilities, columns in ``classes_`` order."""
        return self._predict_proba_prepared(self.prep.apply(texts))

    def predict(self, texts) -> np.ndarray:
        return np.asarray(self.classes_, dtype=object)[self.predict_proba(texts).argmax(axis=1)]

    def score(self, texts, labels: Sequence[str]) -> float:
        """Accuracy."""
        return float(np.mean(self.predict(texts) == np.asarray(labels, dtype=object)))
