"""Does the quality score agree with people? The old recipe (wiki/books/papers/docs against web, as the README
showed) against the ``web-quality`` preset, on the same split of the shared DCLM human labels.

    .venv/bin/python benchmarks/bench_quality_human.py [--fresh labelled.jsonl] [--bootstrap 2000]

For each recipe and backend: dev AUC (the preset's head is fitted on the dev split, so its dev AUC is
cross-validated within dev), test AUC with a bootstrap 95% interval (the test split is never trained or tuned on),
in-distribution held-out AUC (against the recipe's own training labels), the AUC on all 281 shared labels (the
README's old figure; for the preset it includes the dev documents), and scoring throughput (documents per CPU
second, ``quality_batch`` over Arrow batches of 2,048 web documents, as the ``quality`` stage runs it). Two
training-free references on the same splits: document length alone, and the number of heuristic rules passed.
``--fresh`` adds another labelled file as an extra held-out check (e.g. DCLM's ``data/majority_data.jsonl``:
its documents that are not in the shared file are the ones the annotators disagreed on). Writes
benchmarks/results/quality_human.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from classifiers.labelled_data import auc_with_ci, dev_test_split, read_documents  # noqa: E402
from classifiers.scoring_stage import quality_batch  # noqa: E402
from classifiers.train import BACKENDS, NEGATIVE, POSITIVE, LabeledSource, read_texts, train_classifiers  # noqa: E402
from classifiers.web_quality import WebQualityRecipe, heuristic_fail_counts, train_web_quality  # noqa: E402
from curation.schema import doc_schema, rows_to_batch  # noqa: E402

SHARED = os.environ.get("CURATION_SHARED", os.path.join(os.path.dirname(REPO), "shared"))
DATA = os.path.join(SHARED, "data")
BATCH_ROWS = 2048


def throughput(clf, n_docs: int) -> int:
    """Documents per CPU second of ``quality_batch`` over the shared web documents, cycled to ``n_docs``."""
    texts = read_texts(os.path.join(DATA, "corpora", "web.jsonl.zst"))
    texts = [texts[i % len(texts)] for i in range(n_docs)]
    batches = [rows_to_batch([{"id": str(i + j), "text": t} for j, t in enumerate(texts[i:i + BATCH_ROWS])],
                             doc_schema()) for i in range(0, n_docs, BATCH_ROWS)]
    quality_batch(batches[0].slice(0, 16), clf, POSITIVE)  # warm-up (numba, first-call costs)
    start = time.process_time()
    for batch in batches:
        quality_batch(batch, clf, POSITIVE)
    return round(n_docs / (time.process_time() - start))


def auc_entry(y, s, n_boot: int) -> dict:
    auc, lo, hi = auc_with_ci(y, s, n_boot)
    return {"roc_auc": round(auc, 4), "ci95": [round(lo, 4), round(hi, 4)], "n": int(len(y))}


def evaluate(score_fn, sets: dict, n_boot: int) -> dict:
    return {name: auc_entry(docs.labels == 1, score_fn(docs.texts), n_boot) for name, docs in sets.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--human-labels", default=os.path.join(DATA, "web", "quality", "dclm_human_labels.jsonl.gz"))
    ap.add_argument("--fresh", default=None, help="another labelled JSONL/Parquet file, scored as an extra check "
                    "(its documents that are also in --human-labels are left out)")
    ap.add_argument("--bootstrap", type=int, default=2000)
    ap.add_argument("--docs", type=int, default=4096, help="documents for the throughput measurement")
    ap.add_argument("--out", default=os.path.join(REPO, "benchmarks", "results", "quality_human.json"))
    args = ap.parse_args()
    for path in (args.human_labels, os.path.join(DATA, "corpora"), os.path.join(DATA, "web", "jsonl")):
        if not os.path.exists(path):
            sys.exit(f"error: shared data not found: {path} (set CURATION_SHARED)")

    recipe = WebQualityRecipe(web=[os.path.join(DATA, "web", "jsonl")], human_labels=args.human_labels,
                              bootstrap=args.bootstrap)
    human = read_documents(args.human_labels)
    dev = dev_test_split(human, recipe.dev_fraction, recipe.split_salt)
    sets = {"dev": human.subset(dev), "test": human.subset(~dev), "all_shared": human}
    if args.fresh:
        fresh = read_documents(args.fresh)
        shared_texts = {" ".join(t.split()) for t in human.texts}
        sets["fresh"] = fresh.subset(fresh.has_labels & np.array([" ".join(t.split()) not in shared_texts
                                                                  for t in fresh.texts], dtype=bool))
    results: dict = {
        "human_labels": args.human_labels, "fresh": args.fresh, "bootstrap": args.bootstrap,
        "split": {"dev_fraction": recipe.dev_fraction, "salt": recipe.split_salt,
                  **{k: len(v.texts) for k, v in sets.items()}},
        "cpu_affinity": sorted(os.sched_getaffinity(0)), "rows": []}

    # training-free references
    results["rows"].append({"recipe": "reference", "model": "length (log characters)",
                            **evaluate(lambda t: np.log1p([len(x) for x in t]), sets, args.bootstrap)})
    results["rows"].append({"recipe": "reference", "model": "heuristic rules passed",
                            **evaluate(lambda t: -heuristic_fail_counts(t), sets, args.bootstrap)})

    with tempfile.TemporaryDirectory() as tmp:
        old_dir, new_dir = os.path.join(tmp, "old"), os.path.join(tmp, "new")
        corpora = os.path.join(DATA, "corpora")
        start = time.time()
        old_card = train_classifiers(
            [LabeledSource(POSITIVE, os.path.join(corpora, f"{d}.jsonl.zst")) for d in ("wiki", "books", "papers",
                                                                                         "docs")]
            + [LabeledSource(NEGATIVE, os.path.join(corpora, "web.jsonl.zst"))], old_dir, positive_label=POSITIVE,
            log=lambda _: None)
        old_seconds = round(time.time() - start, 1)
        for name in ("fasttext", "sklearn"):
            clf = BACKENDS[name].load(old_dir)
            row = {"recipe": "old: wiki/books/papers/docs vs web", "model": name,
                   "in_distribution_auc": old_card["models"][name]["held_out"]["roc_auc"],
                   **evaluate(lambda t: clf.predict_proba(t)[:, clf.classes_.index(POSITIVE)], sets, args.bootstrap),
                   "docs_per_cpu_second": throughput(clf, args.docs), "train_wall_seconds": old_seconds}
            results["rows"].append(row)

        start = time.time()
        card = train_web_quality(new_dir, recipe, log=lambda _: None)
        new_seconds = round(time.time() - start, 1)
        for name, model in card["models"].items():
            clf = BACKENDS[name].load(new_dir)
            human_card = model["human_labels"]
            row = {"recipe": "web-quality preset", "model": name, "in_distribution_auc": model["held_out"]["roc_auc"],
                   **evaluate(lambda t: clf.predict_proba(t)[:, clf.classes_.index(POSITIVE)], sets, args.bootstrap),
                   "docs_per_cpu_second": throughput(clf, args.docs), "train_wall_seconds": new_seconds}
            row["dev_in_sample"] = row.pop("dev")
            cv = human_card["dev_cross_validated"]
            row["dev"] = {"roc_auc": cv["roc_auc"], "ci95": cv["roc_auc_ci95"], "n": cv["n"],
                          "note": "cross-validated within dev (the head is fitted on dev)"}
            row["default_backend"] = name == card["default_backend"]
            results["rows"].append(row)

    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
    print(render(results))
    print(f"\nwritten: {args.out}")


def _auc(entry: dict | None) -> str:
    if not entry:
        return "-"
    lo, hi = entry["ci95"]
    return f"{entry['roc_auc']:.3f} [{lo:.2f}, {hi:.2f}]"


SHORT = {"reference": "ref", "old: wiki/books/papers/docs vs web": "old", "web-quality preset": "new"}


def render(results: dict) -> str:
    """Side by side, 80 columns: ROC-AUC against the human labels per recipe and backend."""
    split = results["split"]
    lines = [f"ROC-AUC against human labels: dev {split['dev']}, test {split['test']} documents "
             f"(salt {split['salt']!r})",
             f"{'recipe  model':<30}{'dev':>6}{'test [95% CI]':>21}{'in-dist':>8}{'all':>7}{'docs/s':>8}"]
    for row in results["rows"]:
        name = f"{SHORT.get(row['recipe'], row['recipe'])}  {row['model']}"[:29]
        in_dist = row.get("in_distribution_auc")
        lines.append(f"{name:<30}{row['dev']['roc_auc']:>6.3f}{_auc(row['test']):>21}"
                     f"{'-' if in_dist is None else f'{in_dist:.3f}':>8}{row['all_shared']['roc_auc']:>7.3f}"
                     f"{row.get('docs_per_cpu_second', '-')!s:>8}")
    lines += ["old: the README's recipe (wiki/books/papers/docs vs web); new: --preset",
              "web-quality; ref: no training. new dev: cross-validated within dev; new all:",
              "includes the dev documents its head was fitted on."]
    if "fresh" in split:
        lines += ["", f"extra held-out check (--fresh, {split['fresh']} documents):"]
        lines += [f"{SHORT.get(r['recipe'], r['recipe']) + '  ' + r['model']:<30}{_auc(r['fresh']):>21}"
                  for r in results["rows"]]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
