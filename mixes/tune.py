"""The whole mixture loop in one resumable call: propose -> run (proxy swarm) -> fit -> optimize -> validate -> report.

Every step writes its product under the spec's ``out`` folder, and a rerun takes what is there:

    out/ratios.csv             proposed mixtures (run id -> weight per source), baselines included
    out/swarm/runs/<id>/       one proxy run each (metrics.json); a finished run is never retrained
    out/metrics.csv            run id -> loss/<eval>, bpb/<eval>, ..., objective
    out/fit/fit.json           the regressor, its k-fold figures and out-of-fold predictions
    out/optimize.json          the optimum, its prediction and the bounds; the mix file goes to ``mix_file``
    out/validate/seed-<s>/     the chosen mix and the baselines retrained with fresh seeds
    out/validation.csv         mean +- std per mixture and eval set
    out/report.html, *.png     the report

The objective is the weighted mean of the eval sets' losses (nats/token), weights from the spec's ``evals``.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from mixes.pool import Pool, open_pool, weight_bounds
from mixes.spec import MixSpec, MixSpecError

OBJECTIVE = "objective"


@dataclass
class TuneResult:
    mix_file: str
    weights: dict[str, float]
    predicted: float
    validation: pd.DataFrame      # mixture x (objective and per-eval) mean / std
    report: str


def train_config(spec: MixSpec):
    from train.trainer import TrainConfig

    p = spec.proxy
    return TrainConfig(model=p.model, seq_len=p.seq_len, batch_size=p.batch_size, lr=p.lr,
                       min_lr_ratio=p.min_lr_ratio, eval_tokens=p.eval_tokens, tie_embeddings=p.tie_embeddings,
                       device=p.device)


def objective_targets(pool: Pool) -> dict[str, float]:
    return {f"loss/{name}": weight for name, weight in pool.objective.items()}


def add_objective(metrics: pd.DataFrame, pool: Pool) -> pd.DataFrame:
    out = metrics.copy()
    out[OBJECTIVE] = sum(out[col] * w for col, w in objective_targets(pool).items())
    return out


def mix_file_path(spec: MixSpec) -> str:
    return spec.mix_file or os.path.join(spec.out, f"{spec.name}.yaml")


def propose_ratios(spec: MixSpec, pool: Pool) -> pd.DataFrame:
    from mixes.propose import propose

    lo, hi = weight_bounds(spec, pool)
    return propose(pool.domains, prior=pool.natural(), n=spec.swarm.runs, seed=spec.swarm.seed,
                   max_weights=hi, min_weights=lo, temperature=spec.swarm.temperature)


def _write_csv(df: pd.DataFrame, path: str) -> None:
    tmp = path + ".tmp"
    df.to_csv(tmp, index_label="run")
    os.replace(tmp, path)


def ratios_step(spec: MixSpec, pool: Pool, log: Callable[[str], None]) -> pd.DataFrame:
    """The proposals; an existing ``ratios.csv`` is kept when it equals what the spec proposes now (the proposer
    is deterministic), and refused when the spec changed since (the swarm would mix two experiments)."""
    ratios = propose_ratios(spec, pool)
    path = os.path.join(spec.out, "ratios.csv")
    if os.path.exists(path):
        old = pd.read_csv(path, index_col="run")
        old.index = old.index.astype(str)
        same = (list(old.columns) == list(ratios.columns) and list(old.index) == list(ratios.index)
                and np.allclose(old.to_numpy(float), ratios.to_numpy(float), atol=1e-9))
        if not same:
            raise MixSpecError(f"{path} holds other mixtures than this spec proposes (sources, bounds, runs or "
                               "seed changed): use another `out`, or delete the folder to start again")
        log(f"propose: {len(ratios)} mixtures in {path} (kept)")
    else:
        _write_csv(ratios, path)
        log(f"propose: {len(ratios)} mixtures ({spec.swarm.runs} proposed + baselines) -> {path}")
    return ratios


def run_step(spec: MixSpec, pool: Pool, ratios: pd.DataFrame, out_dir: str, seed: int,
             log: Callable[[str], None]) -> pd.DataFrame:
    from mixes.run import run_mixtures

    metrics = run_mixtures(ratios, pool.sources, pool.evals, train_config(spec), spec.proxy.tokens, seed, out_dir,
                           swarm_size=spec.swarm.size)
    return add_objective(metrics, pool)


def fit_step(spec: MixSpec, pool: Pool, ratios: pd.DataFrame, metrics: pd.DataFrame, log: Callable[[str], None]):
    from mixes.fit import fit_tables, save_fit

    swarm_runs = [r for r in ratios.index if r in metrics.index]
    fit = fit_tables(ratios.loc[swarm_runs], metrics.loc[swarm_runs], targets=objective_targets(pool),
                     regressor=spec.fit.regressor, folds=spec.fit.folds, seed=spec.swarm.seed)
    save_fit(fit, os.path.join(spec.out, "fit"))
    for row in fit.cv_summary():
        log(f"fit: {row.get('regressor', '?'):>9}  k-fold Spearman {row.get('spearman', float('nan')):.3f}  "
            f"Pearson {row.get('pearson', float('nan')):.3f}  MAE {row.get('mae', float('nan')):.4f}")
    log(f"fit: using {fit.regressor} ({fit.n_runs} runs)")
    return fit


def optimize_step(spec: MixSpec, pool: Pool, fit, log: Callable[[str], None]):
    from mixes.optimize import optimize, write_mix_file

    lo, hi = weight_bounds(spec, pool)
    result = optimize(fit, prior=pool.prior(spec.swarm.temperature), max_weights=hi, min_weights=lo,
                      kl_penalty=spec.optimize.kl_penalty, n_candidates=spec.optimize.search_candidates,
                      top_k=spec.optimize.top_k, seed=spec.swarm.seed)
    with open(os.path.join(spec.out, "optimize.json"), "w", encoding="utf-8") as f:
        json.dump(result.to_dict(), f, indent=2)
    repetition = spec.max_repetition if isinstance(spec.max_repetition, (int, float)) else \
        {s: spec.repetition(s) for s in pool.domains}
    provenance = {"spec": spec.name, "predicted_objective": result.predicted, "objective": pool.objective,
                  "regressor": fit.regressor, "cv": fit.cv_summary(), "method": result.method,
                  "kl_penalty": result.kl_penalty, "swarm_runs": fit.n_runs,
                  "proxy": spec.proxy.model_dump(), "available_tokens": pool.tokens,
                  "max_weights": result.max_weights}
    written = write_mix_file(mix_file_path(spec), result.weights, repetition, spec.final_tokens, provenance,
                             max_weights=result.max_weights)
    log("optimize: " + ", ".join(f"{s}={w:.3f}" for s, w in written.items())
        + f"  predicted objective {result.predicted:.4f} ({result.method}) -> {mix_file_path(spec)}")
    return written, result


def validation_ratios(spec: MixSpec, pool: Pool, chosen: dict[str, float], ratios: pd.DataFrame,
                      metrics: pd.DataFrame) -> pd.DataFrame:
    """The chosen mix, the natural and uniform baselines, and the swarm's best run."""
    swarm = metrics.loc[[r for r in metrics.index if r.startswith("r")]]
    best = str(swarm[OBJECTIVE].idxmin())
    rows = {"tuned": pd.Series(chosen), "natural": ratios.loc["natural"], "uniform": ratios.loc["uniform"],
            f"best_swarm_{best}": ratios.loc[best]}
    table = pd.DataFrame(rows).T[pool.domains].fillna(0.0)
    table.index.name = "run"
    return table.div(table.sum(axis=1), axis=0)


def _drop_stale_tuned(out_dir: str, weights: pd.Series, log: Callable[[str], None]) -> None:
    """The tuned mix changes when the swarm, the fit or the optimizer settings do: its earlier validation run (a
    finished run of another mixture, which the runner refuses to mix into one table) is removed to be retrained;
    the baselines' runs are kept."""
    from mixes.run import METRICS_FILE, RUNS_DIR, _load_finished, _mixture, same_mixture

    run_dir = os.path.join(out_dir, RUNS_DIR, "tuned")
    done = _load_finished(os.path.join(run_dir, METRICS_FILE))
    if done is not None and not same_mixture(done.get("mixture", {}), _mixture(weights)):
        log(f"validate: the tuned mix changed since {run_dir} was trained: retraining it")
        shutil.rmtree(run_dir)


def validate_step(spec: MixSpec, pool: Pool, table: pd.DataFrame, log: Callable[[str], None]) -> pd.DataFrame:
    """Retrain each mixture of ``table`` with every validation seed; returns the per-seed metrics (a ``seed``
    column) and writes ``validation.csv`` with mean and std per mixture."""
    per_seed = []
    for seed in spec.validate_runs.seeds:
        log(f"validate: seed {seed}: {', '.join(table.index)}")
        out_dir = os.path.join(spec.out, "validate", f"seed-{seed}")
        _drop_stale_tuned(out_dir, table.loc["tuned"], log)
        metrics = run_step(spec, pool, table, out_dir, seed, log)
        per_seed.append(metrics.assign(seed=seed))
    runs = pd.concat(per_seed)
    cols = [OBJECTIVE, *objective_targets(pool)]
    summary = runs.groupby(level=0)[cols].agg(["mean", "std"])
    summary.columns = [f"{c}/{stat}" for c, stat in summary.columns]
    summary = summary.loc[table.index]
    _write_csv(summary, os.path.join(spec.out, "validation.csv"))
    for name, row in summary.iterrows():
        log(f"validate: {name:>22}  objective {row[f'{OBJECTIVE}/mean']:.4f} +- {row[f'{OBJECTIVE}/std']:.4f}")
    paired = paired_margins(runs)
    for name, row in paired.iterrows():
        log(f"validate: {name} minus tuned: {row['mean']:+.4f} +- {row['std']:.4f} over the same seeds "
            f"({row['margin']:.1f} std of the paired difference)")
    worse = [str(name) for name, row in paired.iterrows() if row["mean"] < 0]
    if worse:
        log(f"warning: the tuned mix scores worse than {', '.join(worse)} when retrained: the swarm's fit does not "
            "rank mixtures well enough to trust its optimum (more runs, or proxies trained longer)")
    return runs


def paired_margins(runs: pd.DataFrame) -> pd.DataFrame:
    """Per mixture other than ``tuned``: its objective minus the tuned mix's under the same seed (positive: the
    tuned mix is better), mean and std over the seeds, and their ratio. Pairing by seed removes what a seed does
    to every mixture alike (its initialisation), which the per-mixture std includes."""
    wide = runs.rename_axis("run").reset_index().pivot_table(index="seed", columns="run", values=OBJECTIVE)
    diffs = wide.drop(columns="tuned").sub(wide["tuned"], axis=0)
    out = pd.DataFrame({"mean": diffs.mean(), "std": diffs.std()})
    out["margin"] = out["mean"] / out["std"].where(out["std"] > 0)
    return out


def source_effects(ratios: pd.DataFrame, metrics: pd.DataFrame) -> pd.Series:
    runs = [r for r in metrics.index if r in ratios.index]
    y = metrics.loc[runs, OBJECTIVE].rank()
    return pd.Series({s: float(ratios.loc[runs, s].rank().corr(y)) for s in ratios.columns}).fillna(0.0)


def report_step(spec: MixSpec, pool: Pool, ratios: pd.DataFrame, metrics: pd.DataFrame, fit, opt,
                written: dict[str, float], val_runs: pd.DataFrame, log: Callable[[str], None]) -> str:
    from mixes import report

    out = spec.out
    pngs = []
    if fit.oof is not None and fit.oof["predicted"].notna().all():
        pngs.append(report.plot_predicted_vs_actual(fit.oof, os.path.join(out, "predicted_vs_actual.png"),
                                                    fit.regressor))
    weights = pd.DataFrame({"tuned": pd.Series(written), "natural": ratios.loc["natural"],
                            "uniform": ratios.loc["uniform"]}).loc[pool.domains]
    pngs.append(report.plot_weights(weights, opt.max_weights, os.path.join(out, "weights.png")))
    pngs.append(report.plot_effects(source_effects(ratios, metrics), os.path.join(out, "effects.png")))
    summary = val_runs.groupby(level=0)[OBJECTIVE].agg(["mean", "std"])
    pngs.append(report.plot_validation(summary, os.path.join(out, "validation.png")))
    first_seed = spec.validate_runs.seeds[0]
    curves = {}
    for name in summary.index:
        path = os.path.join(out, "validate", f"seed-{first_seed}", "runs", name, "metrics.json")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                curves[name] = json.load(f).get("train_loss", [])
    if curves:
        pngs.append(report.plot_curves(curves, os.path.join(out, "curves.png")))

    per_eval = val_runs.groupby(level=0)[[*objective_targets(pool), OBJECTIVE]].mean()
    tuned, uniform = summary.loc["tuned"], summary.loc["uniform"]
    margin = (uniform["mean"] - tuned["mean"]) / max(float(summary["std"].max()), 1e-12)
    paired = paired_margins(val_runs).loc["uniform"]
    verdict = (f"tuned objective {tuned['mean']:.4f} +- {tuned['std']:.4f}; uniform {uniform['mean']:.4f} "
               f"+- {uniform['std']:.4f}: the tuned mix is {margin:.1f} standard deviations (largest std of the "
               f"mixtures) {'better' if margin > 0 else 'worse'}; paired by seed, uniform minus tuned is "
               f"{paired['mean']:+.4f} +- {paired['std']:.4f} ({paired['margin']:.1f} std)")
    cv = pd.DataFrame(fit.cv_summary())
    if "regressor" in cv.columns:
        cv = cv.set_index("regressor")
    cv = cv[[c for c in ("spearman", "pearson", "mae") if c in cv.columns]]
    sections = [
        ("Result", f"<p>Mix file: <code>{mix_file_path(spec)}</code>. {verdict}.</p>"
                   f"<p class='note'>{fit.n_runs} proxy runs ({spec.proxy.model}, {spec.proxy.tokens:,} tokens "
                   f"each); objective: {pool.objective_label()} on held-out data; regressor "
                   f"{fit.regressor}; optimum by {opt.method}, KL penalty {opt.kl_penalty:g}.</p>"
                   + report.table(weights.T)),
        ("Plots", report.images(pngs)),
        ("Validation (mean over fresh seeds)", report.table(per_eval)),
        ("Fit (k-fold cross-validation on the swarm)", report.table(cv)),
        ("Sources", report.table(pd.DataFrame({"tokens": pd.Series(pool.tokens).astype(float),
                                               "cap": pd.Series(opt.max_weights)}), "{:,.4g}")),
    ]
    path = report.write_html(os.path.join(out, "report.html"), f"Mixture search: {spec.name}", sections)
    log(f"report: {path}")
    return path


def tune(spec: MixSpec, log: Callable[[str], None] = print) -> TuneResult:
    """Run (or resume) the whole loop for ``spec``; see the module doc for what lands where."""
    os.makedirs(spec.out, exist_ok=True)
    pool = open_pool(spec)
    weight_bounds(spec, pool)  # bounds that admit no mixture fail before anything is written
    log("pool: " + ", ".join(f"{s} {n:,} tokens" for s, n in pool.tokens.items())
        + f"; eval: {', '.join(pool.evals)}")
    ratios = ratios_step(spec, pool, log)
    metrics = run_step(spec, pool, ratios, os.path.join(spec.out, "swarm"), spec.swarm.seed, log)
    _write_csv(metrics, os.path.join(spec.out, "metrics.csv"))
    fit = fit_step(spec, pool, ratios, metrics, log)
    written, opt = optimize_step(spec, pool, fit, log)
    table = validation_ratios(spec, pool, written, ratios, metrics)
    val_runs = validate_step(spec, pool, table, log)
    path = report_step(spec, pool, ratios, metrics, fit, opt, written, val_runs, log)
    summary = pd.read_csv(os.path.join(spec.out, "validation.csv"), index_col="run")
    return TuneResult(mix_file=mix_file_path(spec), weights=written, predicted=opt.predicted,
                      validation=summary, report=path)
