"""The ``web-quality`` preset: a quality classifier whose score agrees with people on web text, not with the
source domain.

Trained on wiki/books/papers/docs against web, a classifier learns what those domains look like: it ranks fresh
web pages with ROC-AUC 0.65 against human labels. This recipe never shows it another domain:

1. Pseudo-labels from within web text: English pages (lid.176) that pass every heuristic rule (Gopher quality and
   repetition, C4, FineWeb, the project's rule sets) are ``high``; pages failing ``negative_min_fails`` or more
   are ``low``; the rest are left out. A stratified ``held_out_fraction`` is kept aside (in-distribution AUC).
2. A base text model (hashed word n-grams + logistic regression, or fastText) on those labels, and a logistic
   head over [base logit, 24 dense page-shape features] (:mod:`classifiers.quality_features`) fitted on the base's
   out-of-fold scores.
3. With human labels: they are split once into dev and test (``dev_fraction``, by a salted hash of each
   document, :func:`classifiers.labelled_data.dev_test_split`). The head is refitted on the dev part only, which
   calibrates the score to human judgement; the dev AUC is cross-validated within dev; the test part is scored
   only for the figures (test ROC-AUC with a bootstrap 95% interval). Documents in the human-labelled file are
   removed from the pseudo-labelled pool, so none is ever trained on by the base.
"""
from __future__ import annotations

import hashlib
import os
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from classifiers.evaluate import binary_metrics
from classifiers.labelled_data import DataError, Documents, auc_with_ci, dev_test_split, read_documents, roc_auc
from classifiers.model_card import write_model_card
from classifiers.stacked_model import FastTextStacked, SklearnStacked, StackedQualityClassifier, apply_head
from classifiers.stacked_model import fit_logistic_head
from classifiers.text_classifier import TextPrep
from curation.shards.format import sha256_file

PRESET = "web-quality"
POSITIVE, NEGATIVE = "high", "low"
STACKED: dict[str, type[StackedQualityClassifier]] = {"sklearn-stacked": SklearnStacked,
                                                       "fasttext-stacked": FastTextStacked}
THRESHOLD = 0.5
MIN_PER_LABEL = 10  # pseudo-labelled web documents of each label needed to train at all


def shared_dir() -> str:
    """``$CURATION_SHARED``, else ``../shared`` (the shared data set beside the repository)."""
    return os.environ.get("CURATION_SHARED", os.path.join("..", "shared"))


def default_web() -> str:
    return os.path.join(shared_dir(), "data", "web", "jsonl")


def default_human_labels() -> str:
    return os.path.join(shared_dir(), "data", "web", "quality", "dclm_human_labels.jsonl.gz")


@dataclass
class WebQualityRecipe:
    """Every choice of the recipe (all recorded in the model card)."""

    web: list[str] = field(default_factory=lambda: [default_web()])
    human_labels: str | None = field(default_factory=default_human_labels)
    dev_fraction: float = 0.4  # share of each human label used to fit the head; the rest is the test split
    split_salt: str = "issue-23"
    english_only: bool = True
    negative_min_fails: int = 2
    held_out_fraction: float = 0.2
    max_docs: int | None = None  # cap on web documents read (before labelling)
    head_C: float = 0.1
    dev_folds: int = 5
    bootstrap: int = 2000
    seed: int = 0


# -- pseudo-labels ----------------------------------------------------------------------------------------------
def english_mask(texts: list[str], log=print) -> tuple[np.ndarray, str]:
    """Which texts are English: lid.176 when its model is installed, else a function-word test (>= 20% of words
    among the commonest English ones). Returns the mask and the method used."""
    try:
        from curation.stages.langid import identify, load_model

        langs, _ = identify(texts, load_model())
        return np.array([lang == "en" for lang in langs], dtype=bool), "lid.176 == en"
    except (ImportError, FileNotFoundError, ValueError) as exc:
        from classifiers.quality_features import FEATURE_NAMES, dense_features

        log(f"lid.176 unavailable ({exc}); English = stop-word share >= 0.2")
        return dense_features(texts)[:, FEATURE_NAMES.index("stop_word_frac")] >= 0.2, "stop_word_frac >= 0.2"


def heuristic_fail_counts(texts: list[str]) -> np.ndarray:
    """How many rules of the project's four heuristic rule sets (all defaults) each text fails."""
    from curation.rules.sets import all_rule_sets, failed_rules

    fails = failed_rules(texts, all_rule_sets())
    return np.diff(fails.offsets.to_numpy()).astype(np.int64)


def pseudo_labels(texts: list[str], recipe: WebQualityRecipe, log=print) -> tuple[np.ndarray, dict]:
    """Label per text (``high`` / ``low`` / ``None`` = not used) and counts for the model card."""
    english, method = english_mask(texts, log) if recipe.english_only else (np.ones(len(texts), bool), "off")
    fails = heuristic_fail_counts(texts)
    labels = np.full(len(texts), None, dtype=object)
    labels[english & (fails == 0)] = POSITIVE
    labels[english & (fails >= recipe.negative_min_fails)] = NEGATIVE
    report = {"documents": len(texts), "english": int(english.sum()), "english_test": method,
              POSITIVE: int(np.sum(labels == POSITIVE)), NEGATIVE: int(np.sum(labels == NEGATIVE)),
              "rule": f"{POSITIVE}: fails no heuristic rule; {NEGATIVE}: fails >= {recipe.negative_min_fails}"}
    return labels, report


# -- evaluation -------------------------------------------------------------------------------------------------
def human_metrics(is_positive: np.ndarray, scores: np.ndarray, n_boot: int, seed: int) -> dict:
    metrics = binary_metrics(is_positive, scores, THRESHOLD)
    auc, lo, hi = auc_with_ci(is_positive, scores, n_boot, seed)
    metrics["roc_auc"] = round(auc, 4)
    metrics["roc_auc_ci95"] = [round(lo, 4), round(hi, 4)]
    return metrics


def dev_cross_validated(features: np.ndarray, y: np.ndarray, C: float, folds: int, seed: int) -> np.ndarray:
    """Out-of-fold P(y) on the dev part: a head refitted without each (stratified) fold; the base is fixed."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), dtype=np.int64)
    for value in (False, True):
        idx = rng.permutation(np.flatnonzero(y == value))
        fold[idx] = np.arange(len(idx)) % folds
    out = np.zeros(len(y))
    for k in range(folds):
        head = fit_logistic_head(features[fold != k], y[fold != k], C, seed)
        out[fold == k] = apply_head(head, features[fold == k])
    return out


def stratified_holdout(labels: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    held = np.zeros(len(labels), dtype=bool)
    for value in (POSITIVE, NEGATIVE):
        idx = rng.permutation(np.flatnonzero(labels == value))
        held[idx[:int(round(len(idx) * fraction))]] = True
    return held


# -- the preset -------------------------------------------------------------------------------------------------
def _text_key(text: str) -> str:
    return hashlib.sha1(" ".join(text.split()).encode("utf-8")).hexdigest()


def load_web(recipe: WebQualityRecipe, exclude: set[str], rng: np.random.Generator) -> tuple[list[str], dict]:
    docs = read_documents(recipe.web, label_field=None)
    seen = set()
    texts = []
    for text in docs.texts:
        key = _text_key(text)
        if key not in seen and key not in exclude:
            seen.add(key)
            texts.append(text)
    report = {"paths": recipe.web, "files": len(docs.paths), "read": len(docs.texts),
              "duplicates_or_human_labelled_removed": len(docs.texts) - len(texts)}
    if recipe.max_docs is not None and len(texts) > recipe.max_docs:
        texts = [texts[i] for i in np.sort(rng.choice(len(texts), recipe.max_docs, replace=False))]
    report["used"] = len(texts)
    return texts, report


def train_web_quality(out_dir: str, recipe: WebQualityRecipe | None = None, backends: list[str] | None = None,
                      prep: TextPrep | None = None, base_params: dict[str, dict] | None = None, log=print) -> dict:
    """Train the preset's models into ``out_dir``; write and return the model card. ``base_params``: backend ->
    parameters of its base text model (defaults otherwise)."""
    recipe = recipe or WebQualityRecipe()
    backends = backends or list(STACKED)
    prep = prep or TextPrep()
    rng = np.random.default_rng(recipe.seed)

    human: Documents | None = None
    if recipe.human_labels:
        human = read_documents(recipe.human_labels)
        human = human.subset(human.has_labels)
        if len(set(human.labels.tolist())) < 2:
            raise DataError(f"{recipe.human_labels}: needs documents of both labels (0 and 1)")
    exclude = {_text_key(t) for t in human.texts} if human else set()
    texts, web_report = load_web(recipe, exclude, rng)
    labels, label_report = pseudo_labels(texts, recipe, log)
    used = np.flatnonzero(labels != None)  # noqa: E711 (object array)
    texts = [texts[i] for i in used]
    labels = labels[used]
    if min(np.sum(labels == POSITIVE), np.sum(labels == NEGATIVE)) < MIN_PER_LABEL:
        raise DataError(f"too few pseudo-labelled web documents ({label_report}); give more web text (--web)")
    held = stratified_holdout(labels, recipe.held_out_fraction, rng)
    train_idx, held_idx = np.flatnonzero(~held), np.flatnonzero(held)
    train_texts, held_texts = [texts[i] for i in train_idx], [texts[i] for i in held_idx]
    log(f"web: {web_report['used']} documents, {label_report['english']} English; pseudo-labels "
        f"{POSITIVE} {label_report[POSITIVE]}, {NEGATIVE} {label_report[NEGATIVE]}; "
        f"train {len(train_idx)}, held out {len(held_idx)}")

    split = None
    if human is not None:
        dev = dev_test_split(human, recipe.dev_fraction, recipe.split_salt)
        split = {"dev": human.subset(dev), "test": human.subset(~dev), "all": human}
        log(f"human labels: {len(human.texts)} ({int(human.labels.sum())} positive); dev {int(dev.sum())}, "
            f"test {int((~dev).sum())} (salt {recipe.split_salt!r})")

    models = {}
    for name in backends:
        start = time.process_time()
        clf = STACKED[name](prep, seed=recipe.seed, base=(base_params or {}).get(name), head_C=recipe.head_C)
        clf.fit(train_texts, labels[train_idx])
        entry: dict = {"params": clf.params(), "threshold": THRESHOLD}
        held_positive = labels[held_idx] == POSITIVE
        label_free = clf.predict_proba(held_texts)[:, clf.classes_.index(POSITIVE)]
        # the model before any human label: its head fitted on out-of-fold pseudo-label scores
        entry["held_out_label_free_head"] = {"roc_auc": round(roc_auc(held_positive, label_free), 4)}
        if split is not None:
            dev_docs = split["dev"]
            dev_positive = dev_docs.labels == 1
            label_free_dev = clf.predict_proba(dev_docs.texts)[:, clf.classes_.index(POSITIVE)]
            cv = dev_cross_validated(clf.head_features(dev_docs.texts), dev_positive, recipe.head_C,
                                     recipe.dev_folds, recipe.seed)
            clf.fit_head(dev_docs.texts, np.where(dev_positive, POSITIVE, NEGATIVE),
                         source=f"human labels, dev split of {recipe.human_labels} ({len(dev_docs.texts)} documents)")
            entry["human_labels"] = {
                "path": recipe.human_labels,
                "dev_cross_validated": human_metrics(dev_positive, cv, recipe.bootstrap, recipe.seed),
                "dev_label_free_head": {"roc_auc": round(roc_auc(dev_positive, label_free_dev), 4)},
            }
        train_cpu = time.process_time() - start
        clf.save(out_dir)
        entry["files"] = {f: sha256_file(os.path.join(out_dir, f)) for f in clf.files}
        entry["train_cpu_seconds"] = round(train_cpu, 2)
        entry["head_fitted_on"] = clf.head_source
        positive = clf.classes_.index(POSITIVE)
        entry["held_out"] = binary_metrics(held_positive, clf.predict_proba(held_texts)[:, positive], THRESHOLD)
        if split is not None:
            # dev_in_sample and all include the dev documents the head was fitted on: optimistic by construction.
            for part, key in (("dev", "dev_in_sample"), ("test", "test"), ("all", "all")):
                docs = split[part]
                scores = clf.predict_proba(docs.texts)[:, positive]
                entry["human_labels"][key] = human_metrics(docs.labels == 1, scores, recipe.bootstrap, recipe.seed)
        models[name] = entry
        line = f"{name}: in-distribution ROC-AUC {entry['held_out']['roc_auc']}"
        if split is not None:
            h = entry["human_labels"]
            line += (f"; human dev (cross-validated) {h['dev_cross_validated']['roc_auc']}, test "
                     f"{h['test']['roc_auc']} [{h['test']['roc_auc_ci95'][0]}, {h['test']['roc_auc_ci95'][1]}]")
        log(line)

    default = max(models, key=lambda m: models[m].get("human_labels", {}).get("dev_cross_validated", {})
                  .get("roc_auc", 0.0)) if split is not None else backends[0]
    card = {
        "task": "binary",
        "classes": [POSITIVE, NEGATIVE],
        "positive_label": POSITIVE,
        "preset": PRESET,
        "recipe": recipe_summary(recipe, label_report),
        "default_backend": default,
        "prep": prep.model_dump(),
        "data": {
            "sources": [{"label": lab, "path": ", ".join(recipe.web), "documents": web_report["read"],
                         "sampled": web_report["used"], "used": int(np.sum(labels == lab))}
                        for lab in (POSITIVE, NEGATIVE)],
            "max_docs_per_source": recipe.max_docs,
            "balance": False,
            "test_fraction": recipe.held_out_fraction,
            "seed": recipe.seed,
            "train": {c: int(np.sum(labels[train_idx] == c)) for c in (POSITIVE, NEGATIVE)},
            "held_out": {c: int(np.sum(labels[held_idx] == c)) for c in (POSITIVE, NEGATIVE)},
            "web": web_report,
            "pseudo_labels": label_report,
            "human_split": None if split is None else {
                "path": recipe.human_labels, "dev_fraction": recipe.dev_fraction, "salt": recipe.split_salt,
                "rule": "per label, the dev_fraction of documents with the smallest sha256(salt + id)",
                "dev": len(split["dev"].texts), "test": len(split["test"].texts),
                "dev_ids": sorted(split["dev"].ids)},
            "settings": asdict(recipe),
        },
        "models": models,
    }
    write_model_card(out_dir, card)
    return card


def recipe_summary(recipe: WebQualityRecipe, label_report: dict) -> list[str]:
    lines = [
        f"Pseudo-labels within web text: English ({label_report['english_test']}) pages passing every heuristic "
        f"rule = {POSITIVE}, failing >= {recipe.negative_min_fails} = {NEGATIVE}; no other domain.",
        "Base: hashed word 1-2-grams + logistic regression (sklearn-stacked) or fastText (fasttext-stacked) on the "
        "first characters of each page.",
        "Head: logistic regression over [base logit, 24 dense page-shape features: length, function-word share, "
        "line endings, short/boilerplate lines, symbols, Gopher repetition].",
    ]
    if recipe.human_labels:
        lines.append(f"Head refitted (C={recipe.head_C}) on the dev split ({recipe.dev_fraction:.0%} per label) of "
                     f"the human labels; test split untouched by training and tuning.")
    else:
        lines.append(f"Head fitted (C={recipe.head_C}) on out-of-fold base scores of the pseudo-labelled pages.")
    return lines
