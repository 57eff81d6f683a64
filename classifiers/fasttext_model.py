"""fastText supervised classifier (the DCLM / FineWeb-Edu style quality filter).

Saved as ``fasttext.bin`` (fastText's own format, not a pickle) plus ``fasttext.json`` (text preparation, labels,
parameters). Trained with softmax loss, one thread and a fixed seed, so training is deterministic.
"""
from __future__ import annotations

import os
import tempfile
from typing import Sequence

import numpy as np

from classifiers.text_classifier import TextClassifier, TextPrep

LABEL_PREFIX = "__label__"


class FastTextClassifier(TextClassifier):
    backend = "fasttext"
    files = ("fasttext.json", "fasttext.bin")

    def __init__(self, prep: TextPrep | None = None, seed: int = 0, dim: int = 32, epoch: int = 25,
                 lr: float = 0.3, word_ngrams: int = 2, min_count: int = 2, bucket: int = 1 << 18):
        super().__init__(prep, seed)
        self.dim, self.epoch, self.lr = dim, epoch, lr
        self.word_ngrams, self.min_count, self.bucket = word_ngrams, min_count, bucket
        self.model = None

    def params(self) -> dict:
        return {"dim": self.dim, "epoch": self.epoch, "lr": self.lr, "word_ngrams": self.word_ngrams,
                "min_count": self.min_count, "bucket": self.bucket, "seed": self.seed}

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> "FastTextClassifier":
        import fasttext

        lines = self.prep.apply(texts)
        with tempfile.TemporaryDirectory() as tmp:
            train_file = os.path.join(tmp, "train.txt")
            with open(train_file, "w", encoding="utf-8") as f:
                for label, line in zip(labels, lines):
                    f.write(f"{LABEL_PREFIX}{label} {line}\n")
            self.model = fasttext.train_supervised(
                input=train_file, dim=self.dim, epoch=self.epoch, lr=self.lr, wordNgrams=self.word_ngrams,
                minCount=self.min_count, bucket=self.bucket, loss="softmax", thread=1, seed=self.seed, verbose=0)
        self.classes_ = sorted(label[len(LABEL_PREFIX):] for label in self.model.labels)
        return self

    def _predict_proba_prepared(self, lines: list[str]) -> np.ndarray:
        k = len(self.classes_)
        column = {LABEL_PREFIX + c: j for j, c in enumerate(self.classes_)}
        labels, probs = self.model.predict(lines, k=k)
        out = np.zeros((len(lines), k), dtype=np.float64)
        if lines:
            # A label whose probability underflows to 0 may be left out of a line's answer: it stays 0.
            per_line = np.fromiter(map(len, labels), dtype=np.int64, count=len(lines))
            cols = np.fromiter((column[label] for doc in labels for label in doc), dtype=np.int64)
            out[np.repeat(np.arange(len(lines)), per_line), cols] = np.concatenate(probs)
        # fastText's softmax outputs can exceed 1 by rounding; keep them probabilities.
        return np.clip(out, 0.0, 1.0)

    def _save_weights(self, model_dir: str) -> None:
        self.model.save_model(os.path.join(model_dir, "fasttext.bin"))

    def _load_weights(self, model_dir: str) -> None:
        import fasttext

        self.model = fasttext.load_model(os.path.join(model_dir, "fasttext.bin"))
