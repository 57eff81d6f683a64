"""Does the quality classifier pick better training data? A proxy LM trained on the classifier's top 30% of a
candidate pool against one trained on a seeded random 30%, same token budget, evaluated on held-out high-quality
text (issue 6, last acceptance point).

    .venv/bin/python benchmarks/quality_proxy.py            # ~7 CPU-minutes with the defaults (2 seeds, 4 proxies)

Design (the split is :mod:`classifiers.proxy_split`, seeded by ``--split-seed``, per domain, after exact-text
deduplication across all corpora, so one text can never sit on two sides of a split):
- high-quality corpora (wiki, books, papers, docs): ``--eval-fraction`` of each domain's documents are held out as
  that domain's eval set; the rest are the classifier's positives. None of them is in the pool.
- web: ``--web-eval-fraction`` held out (eval, for context), ``--web-classifier-fraction`` are the classifier's
  negatives, the rest goes to the pool. The classifier never sees a pool document: a web document it was trained on
  as a negative would score low because it was memorised, not because of its quality.
- pool = the remaining web + all of forum (Stack Exchange): crawled, user-written text of varying quality, like the
  Common Crawl a quality filter is run on, and disjoint from everything the classifier or the eval saw. Putting
  high-quality documents into the pool would make the test nearly circular (the classifier would just find them).
- classifier: ``classifiers.train.train_classifiers`` (fastText, labels balanced, its own 20% held out for ROC-AUC).
  Pool documents are scored with it; top 30% = the 30% of documents with the highest P(high); random 30% = a
  seeded uniform sample of as many documents, one per seed.
- tokenizer: byte-level BPE (``curation.shards.tokenizer``) trained on the whole pool; shards written with
  ``train.text_shards.write_text_shards``.
- proxies: ``train.train_proxy``, same config and seed for both arms; the token budget is the largest multiple of a
  batch that fits in the smallest selection, so no proxy sees a token twice (both report their epochs < 1).
  Seeds change the random 30%, the initialisation and the window order (the top 30% is the same for all seeds).
Results: ``benchmarks/results/quality_proxy.json`` and a table on stdout; scratch (split files, classifier, shards,
checkpoints) under ``--out``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from classifiers.fasttext_model import FastTextClassifier  # noqa: E402
from classifiers.proxy_split import HIGH_QUALITY, WEB, Doc, Split, read_corpora, split_documents  # noqa: E402
from classifiers.train import POSITIVE, LabeledSource, train_classifiers  # noqa: E402
from curation.shards.tokenizer import train_byte_level_bpe  # noqa: E402
from train.shard_reader import ShardDataset  # noqa: E402
from train.text_shards import write_text_shards  # noqa: E402
from train.trainer import TrainConfig, train_proxy  # noqa: E402

SHARED_DATA = os.path.join(os.environ.get("CURATION_SHARED", os.path.join(os.path.dirname(REPO), "shared")), "data")
ARMS = ("top", "random")


def write_jsonl(docs: list[Doc], path: str) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps({"id": d.id, "text": d.text}, ensure_ascii=False) + "\n")
    return path


def train_quality_classifier(split: Split, out: str, seed: int) -> tuple[FastTextClassifier, dict]:
    data_dir = os.path.join(out, "classifier_data")
    sources = [LabeledSource(POSITIVE, write_jsonl(docs, os.path.join(data_dir, f"{domain}.jsonl")))
               for domain, docs in split.classifier_positive.items()]
    sources.append(LabeledSource("low", write_jsonl(split.classifier_negative, os.path.join(data_dir, "web.jsonl"))))
    model_dir = os.path.join(out, "classifier")
    dclm = os.path.join(SHARED_DATA, "web", "quality", "dclm_human_labels.jsonl.gz")
    card = train_classifiers(sources, model_dir, positive_label=POSITIVE, backends={"fasttext": {}}, seed=seed,
                             ood={"dclm_human_labels": dclm} if os.path.exists(dclm) else None)
    return FastTextClassifier.load(model_dir), card


def top_fraction(scores: np.ndarray, fraction: float) -> np.ndarray:
    """Indices of the ``fraction`` highest scores (ties broken by position, so the choice is deterministic)."""
    n = round(len(scores) * fraction)
    return np.sort(np.argsort(-scores, kind="stable")[:n])


def random_fraction(n_docs: int, fraction: float, seed: int) -> np.ndarray:
    return np.sort(np.random.default_rng(seed).choice(n_docs, round(n_docs * fraction), replace=False))


def selection_stats(pool: list[Doc], scores: np.ndarray, chosen: np.ndarray, manifest: dict) -> dict:
    domains = np.asarray([d.domain for d in pool])
    return {"documents": len(chosen), "tokens": manifest["tokens"], "bytes": manifest["bytes"],
            "documents_by_domain": {d: int(np.sum(domains[chosen] == d)) for d in sorted(set(domains))},
            "mean_score": float(scores[chosen].mean())}


def eval_summary(metrics: dict) -> dict:
    """Per eval set loss and bits-per-byte, plus their mean over the high-quality sets (web is context only)."""
    per_set = {name: {"loss": r["loss"], "bits_per_byte": r["bits_per_byte"]} for name, r in metrics["eval"].items()}
    hq = [per_set[name] for name in HIGH_QUALITY]
    per_set["high_quality_mean"] = {key: float(np.mean([r[key] for r in hq])) for key in ("loss", "bits_per_byte")}
    return per_set


def print_table(runs: dict, eval_names: list[str]) -> None:
    print(f"\n{'eval set':<18}" + "".join(f"{f'{arm} s{seed}':>16}" for seed in runs for arm in ARMS)
          + f"{'top - random':>16}")
    for name in eval_names:
        cells = [runs[seed][arm]["eval"][name] for seed in runs for arm in ARMS]
        diff = np.mean([runs[s]["top"]["eval"][name]["loss"] - runs[s]["random"]["eval"][name]["loss"] for s in runs])
        print(f"{name:<18}" + "".join(f"{c['loss']:>8.3f} {c['bits_per_byte']:.3f}" for c in cells)
              + f"{diff:>+16.3f}")
    print("(cells: loss nats/token, bits/byte; last column: loss difference averaged over seeds, negative = top better)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(REPO, "benchmarks", "out", "quality_proxy"))
    ap.add_argument("--results", default=os.path.join(REPO, "benchmarks", "results", "quality_proxy.json"))
    ap.add_argument("--split-seed", type=int, default=0, help="splits and classifier")
    ap.add_argument("--seeds", default="0,1", help="proxy seeds (random 30%%, init, window order)")
    ap.add_argument("--eval-fraction", type=float, default=0.2, help="of each high-quality domain")
    ap.add_argument("--web-eval-fraction", type=float, default=0.15)
    ap.add_argument("--web-classifier-fraction", type=float, default=0.4)
    ap.add_argument("--keep", type=float, default=0.3, help="fraction of pool documents selected by each arm")
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--model", default="1m")
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--eval-tokens", type=int, default=1 << 16, help="per eval set")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    seeds = [int(s) for s in args.seeds.split(",")]
    started_wall, started_cpu = time.perf_counter(), time.process_time()

    docs = read_corpora(os.path.join(SHARED_DATA, "corpora"))
    split = split_documents(docs, args.split_seed, args.eval_fraction, args.web_eval_fraction,
                            args.web_classifier_fraction)
    classifier, card = train_quality_classifier(split, args.out, args.split_seed)
    pool_texts = [d.text for d in split.pool]
    scores = classifier.predict_proba(pool_texts)[:, classifier.classes_.index(POSITIVE)]

    tokenizer_path = os.path.join(args.out, "tokenizer.json")
    info = train_byte_level_bpe(pool_texts, args.vocab, tokenizer_path)
    shard_root = os.path.join(args.out, "shards")
    eval_dirs = {}
    for name, eval_docs in split.eval.items():
        eval_dirs[name] = os.path.join(shard_root, "eval", name)
        write_text_shards([d.text for d in eval_docs], tokenizer_path, info, eval_dirs[name], name)
    selections = {("top", None): top_fraction(scores, args.keep)}
    selections.update({("random", seed): random_fraction(len(split.pool), args.keep, seed) for seed in seeds})
    train_dirs, selection_report = {}, {}
    for (arm, seed), chosen in selections.items():
        label = arm if seed is None else f"{arm}_seed{seed}"
        train_dirs[label] = os.path.join(shard_root, label)
        manifest = write_text_shards([pool_texts[i] for i in chosen], tokenizer_path, info, train_dirs[label], label)
        selection_report[label] = selection_stats(split.pool, scores, chosen, manifest)
    batch_tokens = args.batch_size * args.seq_len
    smallest = min(len(ShardDataset(d, args.seq_len)) * args.seq_len for d in train_dirs.values())
    token_budget = smallest // batch_tokens * batch_tokens
    for label, report in selection_report.items():
        report["epochs_at_budget"] = token_budget / report["tokens"]

    config = TrainConfig(model=args.model, seq_len=args.seq_len, batch_size=args.batch_size, lr=args.lr,
                         eval_tokens=args.eval_tokens, device="cpu", log_every=50)
    runs: dict = {}
    for seed in seeds:
        runs[seed] = {}
        for arm in ARMS:
            label = "top" if arm == "top" else f"random_seed{seed}"
            metrics = train_proxy({label: 1.0}, {label: train_dirs[label]}, eval_dirs, config, token_budget, seed,
                                  out_dir=os.path.join(args.out, "proxies", f"{arm}_seed{seed}"))
            runs[seed][arm] = {"selection": label, "tokens_trained": metrics["tokens_trained"],
                               "final_train_loss": metrics["train_loss"][-1][1],
                               "train_cpu_seconds": metrics["train_cpu_seconds"], "eval": eval_summary(metrics)}
            print(f"seed {seed} {arm:>6}: high-quality mean loss "
                  f"{runs[seed][arm]['eval']['high_quality_mean']['loss']:.4f} "
                  f"({metrics['train_cpu_seconds']:.0f} CPU-s of training)", flush=True)
    # the same for every run: one model shape, one set of eval shards
    params, unigram = metrics["params"], {n: r["unigram_entropy"] for n, r in metrics["eval"].items()}

    eval_names = [*HIGH_QUALITY, "high_quality_mean", WEB]
    difference = {name: {key: [runs[s]["top"]["eval"][name][key] - runs[s]["random"]["eval"][name][key]
                               for s in seeds] for key in ("loss", "bits_per_byte")} for name in eval_names}
    hq_loss_diff = difference["high_quality_mean"]["loss"]
    results = {
        "question": "Does a proxy trained on the quality classifier's top 30% of the pool beat one trained on a "
                    "random 30% (same token budget) on held-out high-quality text?",
        "top_beats_random": {"every_seed": all(d < 0 for d in hq_loss_diff),
                             "mean_high_quality_loss_difference": float(np.mean(hq_loss_diff)),
                             "high_quality_sets_won": {
                                 "won": sum(runs[s]["top"]["eval"][n]["loss"] < runs[s]["random"]["eval"][n]["loss"]
                                            for s in seeds for n in HIGH_QUALITY),
                                 "of": len(seeds) * len(HIGH_QUALITY)}},
        "args": vars(args),
        "split": split.summary(),
        "classifier": {"backend": "fasttext", "data": card["data"],
                       "held_out": {k: card["models"]["fasttext"]["held_out"].get(k)
                                    for k in ("roc_auc", "precision", "recall", "f1")},
                       "out_of_distribution_roc_auc": {n: m["roc_auc"] for n, m in
                                                       card["models"]["fasttext"].get("out_of_distribution",
                                                                                      {}).items()},
                       "pool_score_quantiles": {str(q): float(np.quantile(scores, q))
                                                for q in (0.1, 0.5, 0.7, 0.9)}},
        "tokenizer": {"trained_on": "pool", **info.as_dict()},
        "selections": selection_report,
        "token_budget": token_budget,
        "proxy": {"train_config": config.to_dict(), "params": params},
        "eval_unigram_entropy": unigram,
        "runs": {str(s): r for s, r in runs.items()},
        "top_minus_random": difference,
        "seconds": {"wall": time.perf_counter() - started_wall, "cpu_main_process": time.process_time() - started_cpu},
        "torch": torch.__version__,
    }
    os.makedirs(os.path.dirname(args.results), exist_ok=True)
    with open(args.results, "w") as f:
        json.dump(results, f, indent=2)
    print_table(runs, eval_names)
    print(f"token budget {token_budget:,} per proxy; top 30% beats random 30% on the high-quality mean in "
          f"{sum(d < 0 for d in hq_loss_diff)} of {len(seeds)} seeds; results in {args.results}")


if __name__ == "__main__":
    main()
