"""Held-out evaluation of a classifier: binary (quality) and multi-class (topic) metrics, as plain dicts."""
from __future__ import annotations

from typing import Sequence

import numpy as np

HISTOGRAM_BINS = 10


def binary_metrics(is_positive: Sequence[bool], scores: Sequence[float], threshold: float = 0.5) -> dict:
    """Precision, recall and F1 of ``score >= threshold``; ROC-AUC; and a score histogram per class
    (counts in ``HISTOGRAM_BINS`` equal bins over [0, 1])."""
    from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

    y = np.asarray(is_positive, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    predicted = s >= threshold
    precision, recall, f1, _ = precision_recall_fscore_support(y, predicted, average="binary", zero_division=0)
    edges = np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)
    return {
        "n": int(y.size),
        "n_positive": int(y.sum()),
        "threshold": threshold,
        "precision": round(float(precision), 4),
        "recall": round(float(recall), 4),
        "f1": round(float(f1), 4),
        "accuracy": round(float(np.mean(predicted == y)), 4),
        "roc_auc": round(float(roc_auc_score(y, s)), 4) if 0 < y.sum() < y.size else None,
        "score_histogram": {
            "bin_edges": [round(float(e), 2) for e in edges],
            "positive": np.histogram(s[y], bins=edges)[0].tolist(),
            "negative": np.histogram(s[~y], bins=edges)[0].tolist(),
        },
    }


def multiclass_metrics(labels: Sequence[str], proba: np.ndarray, classes: Sequence[str]) -> dict:
    """Accuracy, macro F1, one-vs-rest macro ROC-AUC and per-class precision / recall / F1 / support."""
    from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

    y = np.asarray(labels, dtype=object)
    classes = list(classes)
    predicted = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
    precision, recall, f1, support = precision_recall_fscore_support(y, predicted, labels=classes, zero_division=0)
    present = [j for j, c in enumerate(classes) if 0 < np.sum(y == c) < y.size]
    aucs = [roc_auc_score(y == classes[j], proba[:, j]) for j in present]
    return {
        "n": int(y.size),
        "accuracy": round(float(np.mean(predicted == y)), 4),
        "macro_f1": round(float(np.mean(f1)), 4),
        "roc_auc_ovr_macro": round(float(np.mean(aucs)), 4) if aucs else None,
        "per_class": {c: {"precision": round(float(precision[j]), 4), "recall": round(float(recall[j]), 4),
                          "f1": round(float(f1[j]), 4), "support": int(support[j])} for j, c in enumerate(classes)},
    }
