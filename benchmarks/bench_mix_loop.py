"""The mixture loop, timed: propose | run | fit | optimize on a search spec, then proxy runs per hour in a swarm
against the same runs trained one at a time.

    .venv/bin/curate run pipelines/corpora.yaml                        # the per-source pools (once)
    .venv/bin/python benchmarks/bench_mix_loop.py mixes/searches/corpora.yaml
    .venv/bin/curate mix tune mixes/searches/corpora.yaml             # validate + report, reusing the swarm

The steps are the ones ``curate mix tune`` runs (``mixes.tune``), in the spec's ``out`` folder, so ``tune`` afterwards
reuses every finished proxy run. Runs already finished when the benchmark starts are not retrained and are not
counted: start from an empty ``out`` for a full timing. The sequential comparison trains the first ``--sequential``
mixtures again, one at a time in one process (swarm size 1, one worker), under ``<out>/bench-sequential``.
Wall-clock and CPU time are both recorded (CPU time includes the worker processes): on a shared machine CPU time is
the fair figure. Results: ``benchmarks/results/mix_loop.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from mixes.pool import open_pool, weight_bounds  # noqa: E402
from mixes.spec import load_mix_spec  # noqa: E402
from mixes import tune as T  # noqa: E402


class Clock:
    """Wall and CPU seconds (this process and its finished children) of one step."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), self._cpu()
        return self

    @staticmethod
    def _cpu() -> float:
        own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, self._cpu() - self.cpu

    def to_dict(self) -> dict:
        return {"wall_s": round(self.wall, 2), "cpu_s": round(self.cpu, 2)}


def finished_runs(out_dir: str) -> set[str]:
    runs = os.path.join(out_dir, "runs")
    if not os.path.isdir(runs):
        return set()
    return {r for r in os.listdir(runs) if os.path.exists(os.path.join(runs, r, "metrics.json"))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("spec", nargs="?", default=os.path.join(REPO, "mixes", "searches", "corpora.yaml"))
    ap.add_argument("--set", action="append", default=[], help="override a spec value (dotted.key=value)")
    ap.add_argument("--sequential", type=int, default=4, help="mixtures trained one at a time for the comparison")
    ap.add_argument("--result", default=os.path.join(REPO, "benchmarks", "results", "mix_loop.json"))
    args = ap.parse_args()

    spec = load_mix_spec(args.spec, args.set)
    os.makedirs(spec.out, exist_ok=True)
    log = lambda msg: print(msg, flush=True)  # noqa: E731
    steps = {}
    with Clock() as c:
        pool = open_pool(spec)
        weight_bounds(spec, pool)
        ratios = T.ratios_step(spec, pool, log)
    steps["propose"] = c.to_dict()
    swarm_dir = os.path.join(spec.out, "swarm")
    before = finished_runs(swarm_dir)
    with Clock() as c:
        metrics = T.run_step(spec, pool, ratios, swarm_dir, spec.swarm.seed, log)
    trained = len(finished_runs(swarm_dir) - before)
    steps["run"] = {**c.to_dict(), "runs_trained": trained, "runs_reused": len(before & set(ratios.index))}
    T._write_csv(metrics, os.path.join(spec.out, "metrics.csv"))
    with Clock() as c:
        fit = T.fit_step(spec, pool, ratios, metrics, log)
    steps["fit"] = c.to_dict()
    with Clock() as c:
        written, opt = T.optimize_step(spec, pool, fit, log)
    steps["optimize"] = c.to_dict()
    total = {k: round(sum(s[k] for s in steps.values()), 2) for k in ("wall_s", "cpu_s")}

    from mixes.run import run_mixtures

    seq_dir = os.path.join(spec.out, "bench-sequential")
    shutil.rmtree(seq_dir, ignore_errors=True)
    subset = ratios.iloc[:args.sequential]
    with Clock() as c:
        run_mixtures(subset, pool.sources, pool.evals, T.train_config(spec), spec.proxy.tokens, spec.swarm.seed,
                     seq_dir, swarm_size=1, workers=1, progress=False)
    sequential = {**c.to_dict(), "runs": len(subset), "runs_per_hour_wall": round(3600 * len(subset) / c.wall, 1)}
    swarm = {"runs": trained, **{k: steps["run"][k] for k in ("wall_s", "cpu_s")}}
    if trained:
        swarm["runs_per_hour_wall"] = round(3600 * trained / steps["run"]["wall_s"], 1)

    commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    report = {"command": "python benchmarks/bench_mix_loop.py " + " ".join(sys.argv[1:]), "commit": commit,
              "machine": {"cpus": os.cpu_count(), "load_average_at_end": os.getloadavg(),
                          "python": platform.python_version()},
              "spec": os.path.relpath(os.path.abspath(args.spec), REPO), "proxy": spec.proxy.model_dump(),
              "swarm_runs_in_ratios": len(ratios), "steps": steps, "loop_total": total,
              "loop_under_45_min": total["wall_s"] < 45 * 60 if trained == len(ratios) else None,
              "fit": {"regressor": fit.regressor, "cv": fit.cv_summary()},
              "optimum": {"weights": written, "predicted": opt.predicted, "method": opt.method},
              "swarm": swarm, "sequential": sequential}
    if trained:
        report["swarm_over_sequential_runs_per_hour"] = round(swarm["runs_per_hour_wall"]
                                                              / sequential["runs_per_hour_wall"], 2)
    os.makedirs(os.path.dirname(args.result), exist_ok=True)
    with open(args.result, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
    print(json.dumps({k: report[k] for k in ("steps", "loop_total", "swarm", "sequential")}, indent=1))
    print(f"-> {args.result}")


if __name__ == "__main__":
    main()
