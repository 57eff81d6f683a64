"""`curate`: the command line. `curate run SPEC` runs a pipeline; sub-commands cover the tools around it.

Also a ``spark-submit`` entry point: ``spark-submit curation/cli/app.py run pipelines/demo.yaml``. Sub-command
modules import their heavy dependencies inside their commands, so ``curate --help`` stays fast.
"""
from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from classifiers.cli import app as classifier_app
from curation.cli.dedup import app as dedup_app
from curation.cli.sample import app as sample_app
from curation.cli.tokenizer import app as tokenizer_app
from mixes.cli import app as mix_app
from train.cli import app as train_app

app = typer.Typer(help="Curate LLM pretraining data on Spark: ingest, dedup, filter, mix, tokenize, train proxies.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False,
                  # plain click help (every sub-command inherits it): no boxes that cut option names at 80 columns,
                  # no type tag on flags
                  rich_markup_mode=None, context_settings={"max_content_width": 80, "terminal_width": 80})
app.add_typer(sample_app, name="sample")
app.add_typer(dedup_app, name="dedup")
app.add_typer(classifier_app, name="classifier")
app.add_typer(tokenizer_app, name="tokenizer")
app.add_typer(train_app, name="train")
app.add_typer(mix_app, name="mix")


def _fail(msg: str, code: int) -> None:
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(code)


def _parse_conf(pairs: list[str]) -> dict[str, str]:
    conf = {}
    for p in pairs:
        if "=" not in p:
            _fail(f"--conf {p!r}: expected KEY=VALUE", 2)
        k, v = p.split("=", 1)
        conf[k.strip()] = v
    return conf


def _load(spec_path: Path, overrides: list[str]):
    from curation.pipeline.resources import check_resources
    from curation.pipeline.spec import SpecError, check_inputs, load_spec

    try:
        spec = load_spec(spec_path, overrides)
        check_inputs(spec)
        check_resources(spec)
    except SpecError as exc:
        _fail(str(exc), 2)
    return spec


@app.command()
def run(
    spec_paths: List[Path] = typer.Argument(..., help="pipeline spec(s) (YAML), e.g. pipelines/demo.yaml; several "
                                                      "run one after the other in one Spark session"),
    set_: List[str] = typer.Option([], "--set", help="override a spec value: --set stages.minhash.threshold=0.7"),
    force: bool = typer.Option(False, "--force", help="recompute every stage even if it completed earlier"),
    master: Optional[str] = typer.Option(None, help="Spark master (default: spec, else local[*] or spark-submit's)"),
    conf: List[str] = typer.Option([], "--conf", help="Spark configuration KEY=VALUE (repeatable)"),
    driver_memory: Optional[str] = typer.Option(None, help="Spark driver memory, e.g. 4g"),
    executor_memory: Optional[str] = typer.Option(None, help="Spark executor memory, e.g. 8g"),
):
    """Run a pipeline spec. Finished stages are skipped on rerun; outputs land in the spec's `out` folder.

    Several specs run in order in one Spark session, started with the first spec's settings: the JVM's start-up and warm-up are paid once. `--set` applies to every spec; a later spec's `spark.conf` holds while it runs. The first spec that fails stops the batch."""  # noqa: E501
    specs = [_load(p, set_) for p in spec_paths]  # every spec checked before any runs
    _separate_outs(spec_paths, specs, set_)
    cli_conf = _parse_conf(conf)
    with contextlib.ExitStack() as locks:
        _lock_outs(specs, locks)
        _run_specs(spec_paths, specs, cli_conf, master, driver_memory, executor_memory, force)


def _run_specs(spec_paths, specs, cli_conf, master, driver_memory, executor_memory, force) -> None:
    from curation.runtime.cluster_check import ClusterResourcesError
    from curation.runtime.session import get_spark, session_conf

    first = specs[0]
    try:
        spark = get_spark(master=master or first.spark.master, conf={**first.spark.conf, **cli_conf},
                          driver_memory=driver_memory or first.spark.driver_memory,
                          executor_memory=executor_memory or first.spark.executor_memory)
    except ClusterResourcesError as exc:
        _fail(str(exc), 2)
    typer.echo(f"spark: master {spark.sparkContext.master}, default parallelism {spark.sparkContext.defaultParallelism}")
    for i, (path, spec) in enumerate(zip(spec_paths, specs)):
        if i:
            for name in ("master", "driver_memory", "executor_memory"):
                mine, session = getattr(spec.spark, name), getattr(first.spark, name)
                if mine != session and not (name == "master" and master):
                    typer.echo(f"note: {path}: spark.{name} {mine!r} not applied (the session runs with the "
                               f"first spec's {session!r})")
        with session_conf(spark, {**spec.spark.conf, **cli_conf} if i else {}, note=typer.echo):
            _run_one(spark, path, spec, force)
    if len(specs) > 1:
        typer.echo(f"{len(specs)} pipelines run in one Spark session")


def _lock_outs(specs: list, stack) -> None:
    """Each spec's `out` is locked before Spark starts, so a second run on it is refused in a second, naming the
    holder, instead of after the JVM's start-up; the locks are held until the last spec ends."""
    from curation.pipeline.errors import RunLocked
    from curation.pipeline.run_lock import RunLock

    for spec in specs:
        try:
            stack.enter_context(RunLock(spec.out))
        except RunLocked as exc:
            _fail(str(exc), 1)


def _separate_outs(spec_paths: list[Path], specs: list, overrides: list[str]) -> None:
    """Specs sharing one `out` (e.g. `--set out=X` given to several) each get their own sub-folder `X/<spec name>`,
    so that no run overwrites another's stages; equal spec names there are refused."""
    by_out: dict[str, list[int]] = {}
    for i, spec in enumerate(specs):
        by_out.setdefault(spec.out.rstrip("/"), []).append(i)
    for out, idx in by_out.items():
        if len(idx) < 2:
            continue
        stems = [spec_paths[i].stem for i in idx]
        if len(set(stems)) < len(stems):
            _fail(f"{', '.join(str(spec_paths[i]) for i in idx)} all write to {out} and share a file name: give "
                  f"each its own out", 2)
        for i, stem in zip(idx, stems):
            specs[i] = _load(spec_paths[i], [*overrides, f"out={out}/{stem}"])  # {out} paths follow it
            typer.echo(f"note: {spec_paths[i]}: several specs write to {out}; this one writes to {specs[i].out}")


def _run_one(spark, spec_path: Path, spec, force: bool) -> None:
    from curation.pipeline.errors import ReconciliationError, StageFailed
    from curation.pipeline.runner import Runner
    from curation.pipeline.spec import SpecError

    typer.echo(f"curate run {spec_path} -> {spec.out}  ({len(spec.stages)} stages: {', '.join(spec.stage_names())})")
    try:
        result = Runner(spec, spark, force=force, log=typer.echo, lock_held=True).run()
    except SpecError as exc:
        _fail(str(exc), 2)
    except (StageFailed, ReconciliationError) as exc:
        _fail(str(exc), 1)
    _print_summary(result.ledger)
    typer.echo(f"outputs: {result.out}/<stage>/ (Parquet); final: {result.final_path()}")
    typer.echo(f"ledger:  {result.out}/ledger.json   report: {result.out}/report.md")


def _print_summary(ledger: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="run summary", title_justify="left")
    for col in ("stage", "in", "kept", "rejected", "seconds", ""):
        table.add_column(col, justify="right" if col in ("in", "kept", "rejected", "seconds") else "left")
    for s in ledger["stages"]:
        top = ", ".join(f"{r[:40]}: {n}" for r, n in list(s["reasons"].items())[:3])
        table.add_row(s["stage"], f"{s['in']:,}", f"{s['kept']:,}", f"{s['rejected']:,}", f"{s['seconds']:.1f}",
                      ("(resumed) " if s["resumed"] else "") + top)
    Console(width=140).print(table)
    typer.echo(f"documents in {ledger['documents_in']:,} = kept {ledger['documents_kept']:,} + rejected "
               f"{ledger['documents_rejected']:,}  (reconciled: {ledger['reconciled']})")


@app.command()
def validate(
    spec_path: Path = typer.Argument(..., help="pipeline spec (YAML)"),
    set_: List[str] = typer.Option([], "--set", help="override a spec value (as for `run`)"),
):
    """Validate a spec (and its overrides and input paths) without running it; print it as resolved."""
    from curation.pipeline.spec import dump_spec

    spec = _load(spec_path, set_)
    typer.echo(dump_spec(spec), nl=False)


@app.command()
def stages():
    """List the stage types a spec can use, with each parameter's type, default and description."""
    from curation.cli.stage_help import stage_help
    from curation.pipeline.registry import STAGES, stage_class

    for name in sorted(STAGES):
        try:
            cls = stage_class(name)
        except ImportError as exc:
            typer.echo(f"{name}: unavailable ({exc})")
            continue
        typer.echo(stage_help(name, cls) + "\n")


@app.command()
def ledger(out: Path = typer.Argument(..., help="run directory")):
    """Print the ledger of a run directory."""
    path = out / "ledger.json"
    if not path.is_file():
        _fail(f"no ledger at {path}", 2)
    _print_summary(json.loads(path.read_text()))


@app.command()
def report(
    out: Path = typer.Argument(..., help="run directory (the spec's out)"),
    html: Optional[Path] = typer.Option(None, "--html", help="where to write the page [default: OUT/report.html]"),
):
    """Write a run's HTML report: funnel, rejection reasons, sources, languages, duplicates, scores, mix, timings.

    One self-contained page (plots embedded as PNG); it opens offline from any folder."""
    from curation.report.html import write_report

    try:
        path = write_report(str(out), str(html) if html else None)
    except FileNotFoundError as exc:
        _fail(str(exc), 2)
    typer.echo(f"report: {path}")


def main() -> None:
    app(prog_name="curate")


if __name__ == "__main__":
    sys.exit(main())
