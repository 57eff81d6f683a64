"""Do proxy rankings transfer across model size? The same mixtures trained at two proxy sizes, rank-correlated.

    .venv/bin/python benchmarks/bench_mix_transfer.py mixes/searches/corpora.yaml --runs 16 --large 1m

The small size is the spec's proxy; its runs are the spec's swarm runs (``<out>/swarm``, trained by
``curate mix tune`` or ``bench_mix_loop.py``; missing ones are trained here). The large size trains the first
``--runs`` proposed mixtures of ``<out>/ratios.csv`` with the same seed, schedule and token budget, into
``<out>/transfer-<large>``. Reported: Spearman and Kendall rank correlation of the objective and of each eval
set's loss between the sizes, and whether the small size's best mixture is also the large size's best.
Olmix reports rho 0.73 between 1M proxies and larger models and good transfer from 15M up.
Results: ``benchmarks/results/mix_transfer.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

from mixes.pool import open_pool  # noqa: E402
from mixes.spec import load_mix_spec  # noqa: E402
from mixes import tune as T  # noqa: E402


def correlations(a: pd.Series, b: pd.Series) -> dict:
    return {"spearman": float(stats.spearmanr(a, b).statistic), "kendall": float(stats.kendalltau(a, b).statistic),
            "pearson": float(stats.pearsonr(a, b).statistic)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("spec", nargs="?", default=os.path.join(REPO, "mixes", "searches", "corpora.yaml"))
    ap.add_argument("--runs", type=int, default=16)
    ap.add_argument("--large", default="1m", help="the larger proxy model (train.model.SHAPES)")
    ap.add_argument("--set", action="append", default=[], help="override a spec value (dotted.key=value)")
    ap.add_argument("--result", default=os.path.join(REPO, "benchmarks", "results", "mix_transfer.json"))
    args = ap.parse_args()

    from mixes.run import run_mixtures

    spec = load_mix_spec(args.spec, args.set)
    pool = open_pool(spec)
    ratios = T.ratios_step(spec, pool, lambda m: print(m, flush=True))
    subset = ratios.loc[[r for r in ratios.index if r.startswith("r")][:args.runs]]
    small_cfg = T.train_config(spec)
    large_cfg = T.train_config(spec.model_copy(update={"proxy": spec.proxy.model_copy(update={"model": args.large})}))
    sizes = {}
    for label, cfg, out_dir in (("small", small_cfg, os.path.join(spec.out, "swarm")),
                                ("large", large_cfg, os.path.join(spec.out, f"transfer-{args.large}"))):
        t = time.perf_counter()
        metrics = T.add_objective(run_mixtures(subset, pool.sources, pool.evals, cfg, spec.proxy.tokens,
                                               spec.swarm.seed, out_dir, swarm_size=spec.swarm.size), pool)
        sizes[label] = {"model": cfg.model, "params": int(metrics["params"].iloc[0]), "metrics": metrics,
                        "wall_s": round(time.perf_counter() - t, 1)}
    small, large = sizes["small"]["metrics"], sizes["large"]["metrics"]
    cols = [T.OBJECTIVE, *T.objective_targets(pool)]
    result = {
        "command": "python benchmarks/bench_mix_transfer.py " + " ".join(sys.argv[1:]),
        "commit": subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                                 text=True).stdout.strip(),
        "spec": os.path.relpath(os.path.abspath(args.spec), REPO), "runs": list(subset.index),
        "tokens_per_run": spec.proxy.tokens,
        "sizes": {k: {"model": v["model"], "params": v["params"], "wall_s_this_call": v["wall_s"],
                      "objective_range": [float(v["metrics"][T.OBJECTIVE].min()),
                                          float(v["metrics"][T.OBJECTIVE].max())]} for k, v in sizes.items()},
        "params_ratio": round(sizes["large"]["params"] / sizes["small"]["params"], 2),
        "rank_correlation": {c: correlations(small.loc[subset.index, c], large.loc[subset.index, c]) for c in cols},
        "best_small": str(small[T.OBJECTIVE].idxmin()), "best_large": str(large[T.OBJECTIVE].idxmin()),
        "best_small_rank_at_large": int(large[T.OBJECTIVE].rank().loc[small[T.OBJECTIVE].idxmin()]),
    }
    os.makedirs(os.path.dirname(args.result), exist_ok=True)
    with open(args.result, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    print(json.dumps({k: result[k] for k in ("sizes", "params_ratio", "best_small", "best_large",
                                             "best_small_rank_at_large")}, indent=1))
    print(json.dumps(result["rank_correlation"][T.OBJECTIVE]))
    print(f"-> {args.result}")


if __name__ == "__main__":
    main()
