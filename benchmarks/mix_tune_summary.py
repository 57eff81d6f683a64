"""What a finished `curate mix tune` found, as one JSON: the swarm's objective range, the k-fold fit of every
regressor, the optimum, the validation over fresh seeds (per mixture, and paired by seed against the tuned mix), and
each uniform run's loss beside its eval set's unigram entropy (does the proxy learn?).

    .venv/bin/curate mix tune mixes/searches/corpora.yaml
    .venv/bin/python benchmarks/mix_tune_summary.py mixes/searches/corpora.yaml   # -> results/mix_corpora_swarm.json
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import pandas as pd  # noqa: E402

from mixes import tune as T  # noqa: E402
from mixes.pool import open_pool  # noqa: E402
from mixes.run import METRICS_FILE, _load_finished, _row  # noqa: E402
from mixes.spec import load_mix_spec  # noqa: E402


def validation_runs(out: str, pool) -> pd.DataFrame:
    """Every finished validation run as the runner's metrics rows (one per run and seed), with the objective."""
    rows = [_row(m["run"], m, list(pool.evals))
            for path in sorted(glob.glob(os.path.join(out, "validate", "seed-*", "runs", "*", METRICS_FILE)))
            if (m := _load_finished(path)) is not None]
    return T.add_objective(pd.DataFrame(rows).set_index("run"), pool)


def as_dict(paired: pd.DataFrame) -> dict:
    return {name: {k: float(v) for k, v in r.items()} for name, r in paired.iterrows()}


def first_seeds_paired(runs: pd.DataFrame, n: int) -> dict:
    """The paired margins over the first ``n`` validation seeds alone, when there are more (a check stated for ``n``
    seeds is read on those, the rest reported beside it)."""
    seeds = sorted(runs["seed"].unique())
    if len(seeds) <= n:
        return {}
    paired = T.paired_margins(runs[runs["seed"].isin(seeds[:n])])
    return {f"paired_by_seed_vs_tuned_first_{n}_seeds": as_dict(paired)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("spec", nargs="?", default=os.path.join(REPO, "mixes", "searches", "corpora.yaml"))
    ap.add_argument("--result", default=os.path.join(REPO, "benchmarks", "results", "mix_corpora_swarm.json"))
    args = ap.parse_args()
    spec = load_mix_spec(args.spec)
    pool = open_pool(spec)
    metrics = pd.read_csv(os.path.join(spec.out, "metrics.csv"), index_col="run")
    with open(os.path.join(spec.out, "fit", "fit.json"), encoding="utf-8") as f:
        fit = json.load(f)
    with open(os.path.join(spec.out, "optimize.json"), encoding="utf-8") as f:
        opt = json.load(f)
    runs = validation_runs(spec.out, pool)
    per_mixture = runs.groupby(level=0)[T.OBJECTIVE].agg(["mean", "std"])
    paired = T.paired_margins(runs)
    with open(os.path.join(spec.out, "swarm", "runs", "uniform", "metrics.json"), encoding="utf-8") as f:
        uniform = json.load(f)["eval"]
    result = {
        "command": f"curate mix tune {os.path.relpath(os.path.abspath(args.spec), REPO)}",
        "commit": subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                                 text=True).stdout.strip(),
        "proxy": spec.proxy.model_dump(),
        "runs": int(len(metrics)),
        "objective": f"{pool.objective_label()} on held-out data (nats/token)",
        "objective_range_over_swarm": [float(metrics[T.OBJECTIVE].min()), float(metrics[T.OBJECTIVE].max())],
        "fit": {"regressor": fit["regressor"].get("params", {}).get("base", fit["regressor"]["name"]),
                "per_eval_set": fit["regressor"]["name"] == "weighted_sum", "cv_5fold": fit["cv"]},
        "optimum": {k: opt[k] for k in ("weights", "predicted", "method", "kl_penalty", "max_weights")},
        "validation_seeds": sorted(int(s) for s in runs["seed"].unique()),
        "validation": {name: {"mean": float(r["mean"]), "std": float(r["std"])}
                       for name, r in per_mixture.iterrows()},
        "paired_by_seed_vs_tuned": as_dict(paired),
        **first_seeds_paired(runs, 3),
        "uniform_run_loss_vs_unigram_entropy": {e: [round(v["loss"], 3), round(v["unigram_entropy"], 3)]
                                                for e, v in uniform.items()},
    }
    with open(args.result, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    shown = {k: v for k, v in result.items() if k in ("fit", "validation") or k.startswith("paired")}
    print(json.dumps(shown, indent=1))
    print(f"-> {args.result}")


if __name__ == "__main__":
    main()
