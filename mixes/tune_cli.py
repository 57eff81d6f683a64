"""``curate mix run | validate | tune``: the steps that train proxies, driven by a search spec (mixes/spec.py).

    curate mix tune mixes/searches/corpora.yaml                 # propose -> run -> fit -> optimize -> validate
    curate mix run mixes/searches/corpora.yaml --ratios my.csv  # train one proxy per row of a ratios table
    curate mix validate mixes/searches/corpora.yaml             # retrain the tuned mix and baselines, fresh seeds

Each is resumable: finished proxy runs are never retrained.
"""
from __future__ import annotations

import os
from typing import Annotated, Optional

import typer

SpecArg = Annotated[str, typer.Argument(help="Search spec (YAML): pool, evals, budget, proxy, swarm.")]
Sets = Annotated[Optional[list[str]], typer.Option(
    "--set", help="Override a spec value: dotted.key=value (YAML value; repeatable).")]


def _load(spec_path: str, sets: list[str] | None):
    from mixes.pool import open_pool
    from mixes.spec import load_mix_spec

    spec = load_mix_spec(spec_path, sets or [])
    return spec, open_pool(spec)


def add_commands(app: typer.Typer, one_line_errors) -> None:
    """Register the commands on ``app``; ``one_line_errors`` turns user errors into one ``error:`` line."""

    @app.command()
    @one_line_errors
    def tune(spec: SpecArg, set_: Sets = None):
        """The whole loop: propose, train the swarm, fit, optimize, validate, report."""
        from mixes.spec import load_mix_spec
        from mixes.tune import tune as run_tune

        result = run_tune(load_mix_spec(spec, set_ or []), log=typer.echo)
        typer.echo(f"tuned mix: {result.mix_file}")
        typer.echo(f"report:    {result.report}")

    @app.command()
    @one_line_errors
    def run(spec: SpecArg, ratios: Annotated[Optional[str], typer.Option(
                help="Ratios table (CSV/Parquet, run id + one column per source); default: propose from the "
                     "spec into <out>/ratios.csv.")] = None,
            out_dir: Annotated[Optional[str], typer.Option(
                help="Folder of the proxy runs (default <out>/swarm).")] = None,
            seed: Annotated[Optional[int], typer.Option(help="Seed of the proxies (default swarm.seed).")] = None,
            set_: Sets = None):
        """Train one proxy per mixture, K at a time; write the metrics table."""
        from mixes.tables import load_ratios
        from mixes.tune import _write_csv, ratios_step, run_step

        spec_obj, pool = _load(spec, set_)
        os.makedirs(spec_obj.out, exist_ok=True)
        table = load_ratios(ratios) if ratios else ratios_step(spec_obj, pool, typer.echo)
        unknown = [c for c in table.columns if c not in pool.sources]
        if unknown:
            raise ValueError(f"ratios name source(s) the pool does not have: {', '.join(unknown)} "
                             f"(pool: {', '.join(pool.sources)})")
        table = table.reindex(columns=pool.domains, fill_value=0.0)
        folder = out_dir or os.path.join(spec_obj.out, "swarm")
        metrics = run_step(spec_obj, pool, table, folder, spec_obj.swarm.seed if seed is None else seed,
                           typer.echo)
        path = os.path.join(folder, "metrics.csv")
        _write_csv(metrics, path)
        typer.echo(f"metrics: {path} ({len(metrics)} runs)")

    @app.command()
    @one_line_errors
    def validate(spec: SpecArg, mix: Annotated[Optional[str], typer.Option(
                     help="Mix file to check (default: the spec's tuned mix file).")] = None,
                 set_: Sets = None):
        """Retrain a mix and the baselines (natural, uniform, best swarm run) with fresh seeds: mean +- std."""
        import pandas as pd
        import yaml

        from mixes.tune import OBJECTIVE, mix_file_path, ratios_step, run_step, validate_step, validation_ratios

        spec_obj, pool = _load(spec, set_)
        path = mix or mix_file_path(spec_obj)
        if not os.path.isfile(path):
            raise ValueError(f"mix file not found: {path} (run `curate mix tune` first, or give --mix)")
        with open(path, encoding="utf-8") as f:
            weights = (yaml.safe_load(f) or {}).get("weights") or {}
        ratios = ratios_step(spec_obj, pool, typer.echo)
        metrics = run_step(spec_obj, pool, ratios, os.path.join(spec_obj.out, "swarm"), spec_obj.swarm.seed,
                           typer.echo)
        table = validation_ratios(spec_obj, pool, {s: float(weights.get(s, 0.0)) for s in pool.domains}, ratios,
                                  metrics)
        runs = validate_step(spec_obj, pool, table, typer.echo)
        summary = runs.groupby(level=0)[OBJECTIVE].agg(["mean", "std"]).loc[table.index]
        typer.echo(pd.DataFrame(summary).to_string(float_format=lambda v: f"{v:.4f}"))
