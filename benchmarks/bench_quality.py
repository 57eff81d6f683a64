"""Throughput of quality scoring and heuristic rules per CPU core, measured on the batch functions the Spark stages
run (``quality_batch`` / ``annotate_batch`` over Arrow batches of 2,048 documents), in process CPU time.

    taskset -c 0 .venv/bin/python benchmarks/bench_quality.py [--model runs/models/quality] [--docs 20000]

Documents: all seven shared corpora, cycled to ``--docs``. Without a trained model at ``--model`` one is trained
first (fastText + scikit-learn, on wiki/books/papers/docs vs web). Writes benchmarks/out/bench_quality.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import pyarrow as pa

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from classifiers.fasttext_model import FastTextClassifier  # noqa: E402
from classifiers.scoring_stage import quality_batch  # noqa: E402
from classifiers.sklearn_model import HashingLogisticClassifier  # noqa: E402
from classifiers.train import NEGATIVE, POSITIVE, LabeledSource, read_texts, train_classifiers  # noqa: E402
from curation.rules.sets import all_rule_sets, annotate_batch  # noqa: E402
from curation.schema import doc_schema, rows_to_batch  # noqa: E402

CORPORA = os.path.join(os.environ.get("CURATION_SHARED", os.path.join(os.path.dirname(REPO), "shared")),
                       "data", "corpora")
DOMAINS = ("web", "code", "books", "wiki", "papers", "forum", "docs")
BATCH_ROWS = 2048  # spark.sql.execution.arrow.maxRecordsPerBatch in curation.runtime.session


def corpus(domain: str) -> str:
    return os.path.join(CORPORA, f"{domain}.jsonl.zst")


def document_batches(n_docs: int) -> list[pa.RecordBatch]:
    texts = [t for d in DOMAINS for t in read_texts(corpus(d))]
    texts = [texts[i % len(texts)] for i in range(n_docs)]
    return [rows_to_batch([{"id": str(i + j), "text": t} for j, t in enumerate(texts[i:i + BATCH_ROWS])],
                          doc_schema())
            for i in range(0, n_docs, BATCH_ROWS)]


def cpu_seconds(fn, batches: list[pa.RecordBatch]) -> float:
    start = time.process_time()
    for batch in batches:
        fn(batch)
    return time.process_time() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(REPO, "runs", "models", "quality"))
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--heuristic-docs", type=int, default=4_000)
    args = ap.parse_args()

    model_dir = args.model
    if not os.path.exists(os.path.join(model_dir, "model_card.json")):
        model_dir = tempfile.mkdtemp(prefix="bench-quality-model-")
        sources = [LabeledSource(POSITIVE, corpus(d)) for d in ("wiki", "books", "papers", "docs")]
        train_classifiers(sources + [LabeledSource(NEGATIVE, corpus("web"))], model_dir, positive_label=POSITIVE)

    batches = document_batches(args.docs)
    n = sum(b.num_rows for b in batches)
    chars = sum(len(t) for b in batches for t in b.column("text").to_pylist())
    results = {"documents": n, "mean_chars": round(chars / n), "cpu_affinity": sorted(os.sched_getaffinity(0)),
               "scoring": {}}
    for cls in (FastTextClassifier, HashingLogisticClassifier):
        clf = cls.load(model_dir)
        cpu_seconds(lambda b: quality_batch(b, clf, POSITIVE), batches[:1])  # warm-up
        seconds = cpu_seconds(lambda b: quality_batch(b, clf, POSITIVE), batches)
        results["scoring"][cls.backend] = {"cpu_seconds": round(seconds, 3), "docs_per_cpu_second": round(n / seconds),
                                           "max_chars": clf.prep.max_chars}

    heuristic_batches = document_batches(args.heuristic_docs)
    hn = sum(b.num_rows for b in heuristic_batches)
    hchars = sum(len(t) for b in heuristic_batches for t in b.column("text").to_pylist())
    rule_sets = all_rule_sets()
    seconds = cpu_seconds(lambda b: annotate_batch(b, rule_sets), heuristic_batches)
    results["heuristics"] = {"documents": hn, "cpu_seconds": round(seconds, 3),
                             "docs_per_cpu_second": round(hn / seconds), "mb_per_cpu_second": round(hchars / seconds / 1e6, 2)}
    fasttext_rate = results["scoring"]["fasttext"]["docs_per_cpu_second"]
    results["fasttext_meets_20k_docs_per_core"] = fasttext_rate >= 20_000

    out_dir = os.path.join(REPO, "benchmarks", "out")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "bench_quality.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
