"""`curate classifier score`: score documents with a trained quality model and, where they carry labels, measure
how well the score agrees with them (ROC-AUC with a bootstrap interval, precision / recall at the model's
threshold, the score histogram per class)."""
from __future__ import annotations

import os
import time

import numpy as np
import pyarrow as pa

from classifiers.evaluate import HISTOGRAM_BINS, binary_metrics
from classifiers.labelled_data import auc_with_ci, read_documents
from classifiers.model_card import CARD_JSON, read_model_card

DEFAULT_THRESHOLD = 0.5
SCORE_BATCH = 2048  # documents per predict_proba call (the quality stage's Arrow batch size)
BAR = 24  # widest histogram bar, characters


class ScoreError(ValueError):
    """A user-facing problem with the model directory or the options."""


def load_quality_model(model_dir: str, backend: str | None = None):
    """(classifier, model card, backend name) of a binary model directory."""
    from classifiers.train import BACKENDS

    if not os.path.isdir(model_dir):
        raise ScoreError(f"model directory not found: {model_dir}")
    if not os.path.exists(os.path.join(model_dir, CARD_JSON)):
        raise ScoreError(f"{model_dir}: no {CARD_JSON} (not written by `curate classifier train`)")
    card = read_model_card(model_dir)
    if card.get("task") != "binary":
        raise ScoreError(f"{model_dir} is a {card.get('task')} classifier; score needs a quality (binary) one")
    backend = backend or card.get("default_backend") or next(iter(card["models"]))
    if backend not in card["models"] or backend not in BACKENDS:
        raise ScoreError(f"{model_dir} has no {backend!r} model (has {', '.join(card['models'])})")
    try:
        clf = BACKENDS[backend].load(model_dir)
    except (OSError, ValueError, KeyError) as exc:
        raise ScoreError(f"{model_dir}: cannot load the {backend} model ({exc})") from None
    return clf, card, backend


def predict_scores(clf, texts: list[str], positive_label: str) -> np.ndarray:
    column = clf.classes_.index(positive_label)
    parts = [clf.predict_proba(pa.array(texts[i:i + SCORE_BATCH], type=pa.string()))[:, column]
             for i in range(0, len(texts), SCORE_BATCH)]
    return np.concatenate(parts) if parts else np.zeros(0)


def score_files(model_dir: str, inputs: list[str], backend: str | None = None, label_field: str | None = "label",
                text_field: str = "text", id_field: str = "id", split: str = "all", threshold: float | None = None,
                n_boot: int = 2000, seed: int = 0) -> tuple[dict, list[dict]]:
    """(report, one row per document: id, score, label). ``split`` dev/test keeps the documents whose id is /
    is not in the dev split recorded by a web-quality model's card."""
    clf, card, backend = load_quality_model(model_dir, backend)
    positive = card["positive_label"]
    docs = read_documents(inputs, text_field=text_field, label_field=label_field, id_field=id_field,
                          positive_label=positive)
    if split != "all":
        human_split = (card.get("data") or {}).get("human_split") or {}
        if "dev_ids" not in human_split:
            raise ScoreError(f"--split {split}: {model_dir} records no dev split (only web-quality models with "
                             f"human labels do)")
        in_dev = np.isin(np.asarray(docs.ids, dtype=object), np.asarray(human_split["dev_ids"], dtype=object))
        docs = docs.subset(in_dev if split == "dev" else ~in_dev)
    if not docs.texts:
        raise ScoreError(f"no documents with a {text_field!r} text in {', '.join(inputs)}"
                         + (f" (split {split})" if split != "all" else ""))
    threshold = threshold if threshold is not None else card["models"][backend].get("threshold", DEFAULT_THRESHOLD)
    predict_scores(clf, docs.texts[:8], positive)  # warm-up (first-call costs), kept out of the throughput
    start = time.process_time()
    scores = predict_scores(clf, docs.texts, positive)
    cpu = max(time.process_time() - start, 1e-9)
    edges = np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)
    report: dict = {
        "model": model_dir, "backend": backend, "inputs": docs.paths, "split": split, "documents": len(docs.texts),
        "docs_per_cpu_second": round(len(docs.texts) / cpu), "threshold": threshold,
        "score_quantiles": {f"p{q}": round(float(v), 4)
                            for q, v in zip((10, 25, 50, 75, 90), np.percentile(scores, [10, 25, 50, 75, 90]))},
        "score_histogram": {"bin_edges": [round(float(e), 2) for e in edges],
                            "all": np.histogram(scores, bins=edges)[0].tolist()},
        "labelled": int(docs.has_labels.sum()),
    }
    if report["labelled"]:
        y = docs.labels[docs.has_labels] == 1
        s = scores[docs.has_labels]
        metrics = binary_metrics(y, s, threshold)
        auc, lo, hi = auc_with_ci(y, s, n_boot, seed)
        metrics["roc_auc"] = None if np.isnan(auc) else round(auc, 4)
        metrics["roc_auc_ci95"] = None if np.isnan(lo) else [round(lo, 4), round(hi, 4)]
        metrics["bootstrap"] = n_boot
        report["metrics"] = metrics
        report["score_histogram"] = {**metrics.pop("score_histogram"), "all": report["score_histogram"]["all"],
                                     "bin_edges": report["score_histogram"]["bin_edges"]}
    rows = [{"id": i, "score": round(float(s), 6), "label": None if np.isnan(lab) else int(lab)}
            for i, s, lab in zip(docs.ids, scores, docs.labels)]
    return report, rows


def _bar(count: int, peak: int) -> str:
    return "#" * (int(round(BAR * count / peak)) if peak else 0)


def render_report(report: dict) -> str:
    """The report as text, at most 80 columns wide."""
    files = report["inputs"]
    lines = [f"model      {report['model']} ({report['backend']})",
             f"input      {len(files)} file{'s' if len(files) != 1 else ''}, {report['documents']} documents"
             + (f" (split {report['split']})" if report["split"] != "all" else "")
             + f", {report['docs_per_cpu_second']} docs/CPU-s"]
    metrics = report.get("metrics")
    if metrics:
        lines.append(f"labelled   {report['labelled']} ({metrics['n_positive']} positive)")
        if metrics["roc_auc"] is None:
            lines.append("ROC-AUC    undefined: the labelled documents are all of one class")
        else:
            lo, hi = metrics["roc_auc_ci95"]
            lines.append(f"ROC-AUC    {metrics['roc_auc']:.3f}  95% CI [{lo:.3f}, {hi:.3f}] "
                         f"({metrics['bootstrap']} bootstrap resamples)")
        lines.append(f"at score >= {report['threshold']}: precision {metrics['precision']:.3f}  recall "
                     f"{metrics['recall']:.3f}  F1 {metrics['f1']:.3f}  accuracy {metrics['accuracy']:.3f}")
    else:
        lines.append("labelled   none (no label field): scores only")
    q = report["score_quantiles"]
    lines.append("quantiles  " + "  ".join(f"{k} {v:.3f}" for k, v in q.items()))
    hist = report["score_histogram"]
    edges = hist["bin_edges"]
    if metrics:
        peak = max(hist["positive"] + hist["negative"])
        lines.append(f"{'score':<9}  {'positive':>{BAR + 6}}  {'negative':>{BAR + 6}}")
        for j in range(len(edges) - 1):
            p, n = hist["positive"][j], hist["negative"][j]
            lines.append(f"{edges[j]:.1f}-{edges[j + 1]:.1f}  {p:>5} {_bar(p, peak):<{BAR}}  {n:>5} {_bar(n, peak)}")
    else:
        peak = max(hist["all"])
        lines.append(f"{'score':<9}  documents")
        for j in range(len(edges) - 1):
            lines.append(f"{edges[j]:.1f}-{edges[j + 1]:.1f}  {hist['all'][j]:>5} {_bar(hist['all'][j], peak)}")
    return "\n".join(lines)
