"""Train text classifiers from labelled JSONL sources, evaluate them on held-out documents, write the model card.

A quality classifier has two labels and a positive one (``high``: the kind of text to keep); a topic classifier
has one label per domain. Both are built the same way: read each source (one label per source), cap each source
at a sample size, optionally balance the labels by down-sampling, split off a stratified held-out set, train each
backend on the rest with the same text preparation, and evaluate on the held-out set (and on optional
out-of-distribution sets with 0/1 labels).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from classifiers.evaluate import binary_metrics, multiclass_metrics
from classifiers.fasttext_model import FastTextClassifier
from classifiers.model_card import write_model_card
from classifiers.sklearn_model import HashingLogisticClassifier
from classifiers.stacked_model import FastTextStacked, SklearnStacked
from classifiers.text_classifier import TextClassifier, TextPrep
from curation.shards.format import sha256_file

BACKENDS: dict[str, type[TextClassifier]] = {"fasttext": FastTextClassifier, "sklearn": HashingLogisticClassifier,
                                            # binary only: a text model + a head over dense page-shape features
                                            "fasttext-stacked": FastTextStacked, "sklearn-stacked": SklearnStacked}
DEFAULT_BACKENDS = ("fasttext", "sklearn")  # what train_classifiers trains unless told (the stacked ones: binary)
POSITIVE, NEGATIVE = "high", "low"


@dataclass(frozen=True)
class LabeledSource:
    """Every document under ``path`` (file, directory or glob of JSONL, optionally .gz/.zst) has ``label``."""

    label: str
    path: str

    @classmethod
    def parse(cls, spec: str) -> "LabeledSource":
        """``LABEL=PATH``."""
        label, sep, path = spec.partition("=")
        if not sep or not label or not path:
            raise ValueError(f"expected LABEL=PATH, got {spec!r}")
        return cls(label, path)


def jsonl_objects(path: str) -> Iterator[dict]:
    """The JSON objects of every JSONL file under ``path``."""
    from curation.readers.file_source import expand_inputs, open_text_stream

    for file in expand_inputs(path):
        with open_text_stream(file) as stream:
            for raw in stream:
                if raw.strip():
                    yield json.loads(raw)


def read_texts(path: str, text_field: str = "text") -> list[str]:
    """Non-empty texts under ``path``."""
    return [o[text_field] for o in jsonl_objects(path) if isinstance(o.get(text_field), str) and o[text_field].strip()]


@dataclass
class LabeledData:
    texts: list[str]
    labels: np.ndarray  # object array of label strings
    origin: np.ndarray  # index into the source list, per document


def load_sources(sources: list[LabeledSource], max_docs_per_source: int | None, balance: bool,
                 rng: np.random.Generator) -> tuple[LabeledData, list[dict]]:
    """Read, cap and balance; returns the documents and what was taken from each source (for the model card)."""
    texts: list[str] = []
    labels: list[str] = []
    origin: list[int] = []
    report = []
    for i, src in enumerate(sources):
        docs = read_texts(src.path)
        take = np.arange(len(docs))
        if max_docs_per_source is not None and len(docs) > max_docs_per_source:
            take = np.sort(rng.choice(len(docs), max_docs_per_source, replace=False))
        texts += [docs[j] for j in take]
        labels += [src.label] * len(take)
        origin += [i] * len(take)
        report.append({"label": src.label, "path": src.path, "documents": len(docs), "sampled": len(take)})
    data = LabeledData(texts, np.asarray(labels, dtype=object), np.asarray(origin))
    if balance:
        data = balance_labels(data, rng)
    for i, entry in enumerate(report):
        entry["used"] = int(np.sum(data.origin == i))
    return data, report


def balance_labels(data: LabeledData, rng: np.random.Generator) -> LabeledData:
    """Down-sample every label to the size of the smallest (uniformly across its sources)."""
    classes, counts = np.unique(data.labels, return_counts=True)
    keep = np.sort(np.concatenate([rng.choice(np.flatnonzero(data.labels == c), counts.min(), replace=False)
                                   for c in classes]))
    return LabeledData([data.texts[j] for j in keep], data.labels[keep], data.origin[keep])


def stratified_split(labels: np.ndarray, test_fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, test indices): ``test_fraction`` of each label held out (at least one when it has two)."""
    test = []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_test = max(1, int(round(len(idx) * test_fraction))) if len(idx) > 1 and test_fraction > 0 else 0
        test.append(idx[:n_test])
    test_idx = np.sort(np.concatenate(test)) if test else np.array([], dtype=np.int64)
    train_idx = np.setdiff1d(np.arange(len(labels)), test_idx)
    return train_idx, test_idx


def evaluation(clf: TextClassifier, texts: list[str], labels: np.ndarray, positive_label: str | None) -> dict:
    proba = clf.predict_proba(texts)
    if positive_label is None:
        return multiclass_metrics(labels, proba, clf.classes_)
    return binary_metrics(labels == positive_label, proba[:, clf.classes_.index(positive_label)])


def read_ood(path: str) -> tuple[list[str], np.ndarray]:
    """Out-of-distribution check set: JSONL with ``text`` and a 0/1 ``label`` (1 = the positive kind)."""
    objs = [o for o in jsonl_objects(path) if isinstance(o.get("text"), str)]
    return [o["text"] for o in objs], np.asarray([POSITIVE if int(o["label"]) == 1 else NEGATIVE for o in objs],
                                                dtype=object)


def train_classifiers(sources: list[LabeledSource], out_dir: str, *, positive_label: str | None = None,
                      backends: dict[str, dict] | None = None, prep: TextPrep | None = None,
                      max_docs_per_source: int | None = None, balance: bool = True, test_fraction: float = 0.2,
                      seed: int = 0, ood: dict[str, str] | None = None, log=print) -> dict:
    """Train every backend in ``backends`` (name -> constructor parameters) into ``out_dir``; return the card.

    ``positive_label`` makes it a binary (quality) classifier evaluated with precision/recall/F1/ROC-AUC of that
    label; without it, a multi-class (topic) classifier. ``ood`` maps a name to a JSONL file with 0/1 labels
    (binary only).
    """
    prep = prep or TextPrep()
    backends = backends if backends is not None else {name: {} for name in DEFAULT_BACKENDS}
    rng = np.random.default_rng(seed)
    data, source_report = load_sources(sources, max_docs_per_source, balance, rng)
    classes = sorted(set(data.labels))
    if positive_label is not None and (positive_label not in classes or len(classes) != 2):
        raise ValueError(f"a binary classifier needs two labels including {positive_label!r}; got {classes}")
    train_idx, test_idx = stratified_split(data.labels, test_fraction, rng)
    train_texts = [data.texts[j] for j in train_idx]
    test_texts = [data.texts[j] for j in test_idx]
    log(f"{len(data.texts)} documents ({', '.join(f'{c}: {int(np.sum(data.labels == c))}' for c in classes)}); "
        f"train {len(train_idx)}, held out {len(test_idx)}")
    ood_sets = {name: read_ood(path) for name, path in (ood or {}).items()}

    models = {}
    for name, params in backends.items():
        start = time.process_time()
        clf = BACKENDS[name](prep, seed=seed, **params).fit(train_texts, data.labels[train_idx])
        train_cpu = time.process_time() - start
        clf.save(out_dir)
        entry = {
            "params": clf.params(),
            "files": {f: sha256_file(os.path.join(out_dir, f)) for f in clf.files},
            "train_cpu_seconds": round(train_cpu, 2),
            "held_out": evaluation(clf, test_texts, data.labels[test_idx], positive_label),
        }
        if ood_sets:
            entry["out_of_distribution"] = {n: {"path": ood[n], **evaluation(clf, t, y, positive_label)}
                                            for n, (t, y) in ood_sets.items()}
        models[name] = entry
        auc = entry["held_out"].get("roc_auc", entry["held_out"].get("roc_auc_ovr_macro"))
        log(f"{name}: held-out ROC-AUC {auc}" + "".join(
            f", {n} ROC-AUC {m['roc_auc']}" for n, m in entry.get("out_of_distribution", {}).items()))

    card = {
        "task": "binary" if positive_label is not None else "multiclass",
        "classes": classes,
        "positive_label": positive_label,
        "prep": prep.model_dump(),
        "data": {
            "sources": source_report,
            "max_docs_per_source": max_docs_per_source,
            "balance": balance,
            "test_fraction": test_fraction,
            "seed": seed,
            "train": {c: int(np.sum(data.labels[train_idx] == c)) for c in classes},
            "held_out": {c: int(np.sum(data.labels[test_idx] == c)) for c in classes},
        },
        "models": models,
    }
    write_model_card(out_dir, card)
    return card
