"""How noisy is a proxy's objective? The first N proposals of a search spec trained three times at one proxy config:
as a swarm (seed 0, swarms of 6), regrouped (the same seed, swarms of 4 in reverse order: only float summation order
changes) and reseeded (seed 1). Reported: the objective's spread over the mixtures, the mean absolute difference
and rank correlation of each retest with the first (a regression cannot rank mixtures better than a retest does).

    .venv/bin/python benchmarks/bench_mix_noise.py --lr 0.003 --min-lr-ratio 0 --runs 12
    .venv/bin/python benchmarks/bench_mix_noise.py --lr 0.003 --min-lr-ratio 0 --batch-size 8 --seq-len 64
    .venv/bin/python benchmarks/bench_mix_noise.py --lr 0.01 --min-lr-ratio 0.1 --runs 12

Runs land in ``--work/<config>/{first,regrouped,reseeded}`` and are reused when there; results are added to
``benchmarks/results/mix_noise.json`` under the config's name (batch size and sequence length default to the spec's).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from scipy.stats import spearmanr  # noqa: E402

from mixes import tune as T  # noqa: E402
from mixes.pool import open_pool  # noqa: E402
from mixes.run import run_mixtures  # noqa: E402
from mixes.spec import load_mix_spec  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("spec", nargs="?", default=os.path.join(REPO, "mixes", "searches", "corpora.yaml"))
    ap.add_argument("--lr", type=float, default=0.003)
    ap.add_argument("--min-lr-ratio", type=float, default=0.0)
    ap.add_argument("--batch-size", type=int, default=None, help="default: the spec's")
    ap.add_argument("--seq-len", type=int, default=None, help="default: the spec's")
    ap.add_argument("--runs", type=int, default=12)
    ap.add_argument("--work", default=os.path.join(REPO, "benchmarks", "out", "mix-noise"))
    ap.add_argument("--result", default=os.path.join(REPO, "benchmarks", "results", "mix_noise.json"))
    args = ap.parse_args()

    overrides = [f"proxy.lr={args.lr}", f"proxy.min_lr_ratio={args.min_lr_ratio}"]
    overrides += [f"proxy.batch_size={args.batch_size}"] if args.batch_size else []
    overrides += [f"proxy.seq_len={args.seq_len}"] if args.seq_len else []
    spec = load_mix_spec(args.spec, overrides)
    pool = open_pool(spec)
    ratios = T.propose_ratios(spec, pool)
    ratios = ratios.loc[[r for r in ratios.index if r.startswith("r")][:args.runs]]
    cfg = T.train_config(spec)
    p = spec.proxy
    name = f"lr{p.lr:g}_min{p.min_lr_ratio:g}_bs{p.batch_size}_seq{p.seq_len}_{p.tokens}tok"
    trials = {"first": (list(ratios.index), 6, 0), "regrouped": (list(ratios.index)[::-1], 4, 0),
              "reseeded": (list(ratios.index), 6, 1)}
    objective, losses, seconds = {}, {}, {}
    for trial, (order, size, seed) in trials.items():
        t = time.perf_counter()
        m = run_mixtures(ratios.loc[order], pool.sources, pool.evals, cfg, spec.proxy.tokens, seed,
                         os.path.join(args.work, name, trial), swarm_size=size)
        m = T.add_objective(m, pool).loc[ratios.index]
        objective[trial], losses[trial], seconds[trial] = m[T.OBJECTIVE], m, round(time.perf_counter() - t, 1)
    first = objective["first"]
    result = {"proxy": spec.proxy.model_dump(), "runs": list(ratios.index),
              "objective_mean": float(first.mean()), "objective_std_over_mixtures": float(first.std()),
              "wall_s_this_call": seconds}
    for trial in ("regrouped", "reseeded"):
        other = objective[trial]
        result[trial] = {
            "mean_abs_difference": float((first - other).abs().mean()),
            "spearman_with_first": float(spearmanr(first, other).statistic),
            "per_eval_spearman": {c: float(spearmanr(losses["first"][c], losses[trial][c]).statistic)
                                  for c in T.objective_targets(pool)}}
    everything = {}
    if os.path.exists(args.result):
        with open(args.result, encoding="utf-8") as f:
            everything = json.load(f)
    everything[name] = result
    with open(args.result, "w", encoding="utf-8") as f:
        json.dump(everything, f, indent=1)
    print(json.dumps(result, indent=1))
    print(f"-> {args.result}")


if __name__ == "__main__":
    main()
