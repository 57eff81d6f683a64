"""Labelled documents for checking a classifier: reading JSONL (.gz/.zst) or Parquet files with a text and an
optional 0/1 label, a fixed dev/test split of a labelled set, and ROC-AUC with a bootstrap interval.

The split is a pure function of each document's id (the SHA-1 of its text when it has none) and a salt: the same
file and salt give the same split on any machine, whatever the order of its lines. A web-quality model card records
the rule, the salt and the dev ids, so ``curate classifier score --split test`` scores exactly the test part.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np

PARQUET_SUFFIXES = (".parquet", ".pq")
TRUE_LABELS = {"1", "true", "yes", "high", "pos", "positive"}
FALSE_LABELS = {"0", "false", "no", "low", "neg", "negative"}


class DataError(ValueError):
    """A user-facing problem with an input file (missing, unreadable, no text field, bad label)."""


@dataclass
class Documents:
    texts: list[str]
    ids: list[str]
    labels: np.ndarray  # float: 1.0 / 0.0, NaN where a document has no label
    paths: list[str] = field(default_factory=list)

    @property
    def has_labels(self) -> np.ndarray:
        return ~np.isnan(self.labels)

    def subset(self, mask: np.ndarray) -> "Documents":
        idx = np.flatnonzero(mask)
        return Documents([self.texts[i] for i in idx], [self.ids[i] for i in idx], self.labels[idx], self.paths)


def parse_label(value, positive_label: str = "high") -> float:
    """1.0 / 0.0 for a 0/1, boolean or named label (``positive_label`` or high/low, true/false, yes/no); NaN
    for a missing one. Anything else is an error."""
    if value is None:
        return float("nan")
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        if value in (0, 1):
            return float(value)
        raise DataError(f"label {value!r} is not 0 or 1")
    text = str(value).strip().lower()
    if text == positive_label.lower() or text in TRUE_LABELS:
        return 1.0
    if text in FALSE_LABELS:
        return 0.0
    raise DataError(f"label {value!r} is neither 0/1, true/false nor {positive_label!r}")


def _parquet_rows(path: str, fields: list[str]):
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    table = pq.read_table(path, columns=[f for f in fields if f in schema.names])
    return table.to_pylist()


def _jsonl_rows(path: str):
    from curation.readers.file_source import open_text_stream

    with open_text_stream(path) as stream:
        for line_no, raw in enumerate(stream, 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{line_no}: not JSON ({exc.msg})") from None
            if not isinstance(obj, dict):
                raise DataError(f"{path}:{line_no}: not a JSON object")
            yield obj


def input_files(path: str) -> list[str]:
    from curation.readers.file_source import InputError, expand_inputs

    try:
        return expand_inputs(path)
    except InputError as exc:
        raise DataError(str(exc)) from None


def read_documents(paths: list[str] | str, text_field: str = "text", label_field: str | None = "label",
                   id_field: str = "id", positive_label: str = "high") -> Documents:
    """Documents with a string ``text_field`` from JSONL(.gz/.zst) or Parquet files (a path, directory or glob
    each). Rows without text are skipped; a file with no text field at all is an error."""
    texts: list[str] = []
    ids: list[str] = []
    labels: list[float] = []
    files = [f for p in ([paths] if isinstance(paths, str) else paths) for f in input_files(p)]
    for file in files:
        rows = (_parquet_rows(file, [text_field, label_field or "", id_field])
                if file.endswith(PARQUET_SUFFIXES) else _jsonl_rows(file))
        seen_text = False
        for i, row in enumerate(rows):
            text = row.get(text_field)
            if not isinstance(text, str):
                continue
            seen_text = True
            if not text.strip():
                continue
            try:
                labels.append(parse_label(row.get(label_field), positive_label) if label_field else float("nan"))
            except DataError as exc:
                raise DataError(f"{file}: document {i + 1}: {exc}") from None
            doc_id = row.get(id_field)
            ids.append(str(doc_id) if doc_id is not None else "sha1:" + hashlib.sha1(text.encode("utf-8")).hexdigest())
            texts.append(text)
        if not seen_text:
            raise DataError(f"{file}: no document has a string {text_field!r} field")
    return Documents(texts, ids, np.asarray(labels, dtype=np.float64), files)


def _split_key(salt: str, doc_id: str) -> str:
    return hashlib.sha256(f"{salt}{doc_id}".encode("utf-8")).hexdigest()


def dev_test_split(docs: Documents, dev_fraction: float, salt: str) -> np.ndarray:
    """Boolean mask of the dev part: per label, the ``round(dev_fraction * n)`` documents with the smallest
    ``sha256(salt + id)`` (hex); the rest (and unlabelled documents) are the test part."""
    dev = np.zeros(len(docs.texts), dtype=bool)
    for value in (0.0, 1.0):
        idx = np.flatnonzero(docs.labels == value)
        order = sorted(idx, key=lambda i: _split_key(salt, docs.ids[i]))
        dev[order[:int(round(len(idx) * dev_fraction))]] = True
    return dev


def roc_auc(y: np.ndarray, s: np.ndarray) -> float:
    """ROC-AUC (ties count half); NaN when one class is missing."""
    auc = _weighted_aucs(np.asarray(y, dtype=bool), np.asarray(s, dtype=np.float64), None)
    return float(auc[0])


def _weighted_aucs(y: np.ndarray, s: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """ROC-AUC under each row of ``weights`` (document multiplicities, shape (B, n); None = all ones): the
    weighted share of (positive, negative) pairs ranked right, ties counting half. O(B n) after one sort."""
    order = np.argsort(s, kind="stable")
    s, y = s[order], y[order]
    w = np.ones((1, len(s))) if weights is None else np.asarray(weights, dtype=np.float64)[:, order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]]) if len(s) else np.zeros(0, dtype=np.int64)
    pos = np.add.reduceat(w * y, starts, axis=1) if len(s) else np.zeros((len(w), 0))
    neg = np.add.reduceat(w * ~y, starts, axis=1) if len(s) else np.zeros((len(w), 0))
    below = np.cumsum(neg, axis=1) - neg  # negatives scored lower than each group of equal scores
    pairs = pos.sum(axis=1) * neg.sum(axis=1)
    right = (pos * (below + 0.5 * neg)).sum(axis=1)
    return np.divide(right, pairs, out=np.full(len(w), np.nan), where=pairs > 0)


def auc_with_ci(y, s, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> tuple[float, float, float]:
    """(ROC-AUC, lower, upper): percentile bootstrap over documents (resamples missing a class are skipped)."""
    y = np.asarray(y, dtype=bool)
    s = np.asarray(s, dtype=np.float64)
    auc = roc_auc(y, s)
    if np.isnan(auc) or n_boot <= 0:
        return auc, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    n = len(y)
    chunk = max(1, min(n_boot, 2_000_000 // n))  # resamples per step: bounds memory to ~16 MB per array
    samples = []
    for done in range(0, n_boot, chunk):
        rows = min(chunk, n_boot - done)
        picks = rng.integers(0, n, (rows, n)) + np.arange(rows)[:, None] * n
        counts = np.bincount(picks.ravel(), minlength=rows * n).reshape(rows, n)
        samples.append(_weighted_aucs(y, s, counts))
    samples = np.concatenate(samples)
    samples = samples[~np.isnan(samples)]
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(samples, [tail, 100 - tail])
    return auc, float(lo), float(hi)
