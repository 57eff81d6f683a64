"""``curate mix propose | fit | predict | optimize``: the table-in, table-out steps of the mixture optimizer (the
steps that train proxies, ``run | validate | tune``, are in :mod:`mixes.tune_cli`).

    curate mix propose --prior web=0.6 --prior code=0.3 --prior books=0.1 --n 64 --out runs/mix/ratios.csv
    curate mix fit --ratios train_mixture_1m.csv --metrics train_pile_loss_1m.csv \\
        --target metric/the_pile_pile_cc_val_loss --out runs/mix/fit
    curate mix predict --fit runs/mix/fit --ratios test_mixture_1m.csv --metrics test_pile_loss_1m.csv \\
        --out runs/mix/predicted.csv
    curate mix optimize --fit runs/mix/fit --prior web=0.6 ... --max-weight books=0.05 --out mixes/tuned.yaml

Tables are CSV or Parquet with a ``run`` (or ``index``) id column. Bad input ends with one ``error: ...`` line.
"""
from __future__ import annotations

import functools
import os
from typing import Annotated, Optional

import typer

from mixes.tune_cli import add_commands

app = typer.Typer(help="Mixture optimizer: propose mixtures, fit a regression from weights to a loss, predict, "
                       "and pick the best mix within token caps.", no_args_is_help=True,
                  context_settings={"max_content_width": 80})


class _Fail(Exception):
    pass


def _fail(msg: str):
    raise _Fail(msg)


def _one_line_errors(fn):
    """Bad input -> one ``error: ...`` line on stderr and exit status 1, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from mixes.spec import MixSpecError
        from mixes.tables import MixInputError

        try:
            return fn(*args, **kwargs)
        except (_Fail, MixInputError, MixSpecError, ValueError, FileNotFoundError, PermissionError,
                IsADirectoryError) as exc:
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            typer.echo(f"error: {msg}", err=True)
            raise typer.Exit(1) from None

    return wrapper


# ---- option parsing ----


def _pairs(values: list[str] | None, what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in values or []:
        name, sep, value = item.rpartition("=")
        if not sep or not name:
            _fail(f"{what} must be NAME=NUMBER, got {item!r}")
        try:
            out[name] = float(value)
        except ValueError:
            _fail(f"{what} {name}: {value!r} is not a number")
    return out


def _read_mapping(path: str, what: str) -> dict[str, float]:
    """A YAML/JSON mapping of name -> number (a mix file's ``weights`` is taken when present)."""
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as exc:
        _fail(f"{what}: cannot read {path}: {str(exc).splitlines()[0]}")
    if isinstance(doc, dict) and isinstance(doc.get("weights"), dict):
        doc = doc["weights"]
    if not isinstance(doc, dict) or not doc:
        _fail(f"{what}: {path} holds no NAME: NUMBER mapping")
    try:
        return {str(k): float(v) for k, v in doc.items()}
    except (TypeError, ValueError):
        _fail(f"{what}: {path}: every value must be a number")


def _prior(values: list[str] | None) -> dict[str, float] | None:
    """``--prior`` given as NAME=W pairs, or as one file (YAML/JSON mapping, or a mix file)."""
    if not values:
        return None
    if len(values) == 1 and "=" not in values[0]:
        return _read_mapping(values[0], "--prior")
    return _pairs(values, "--prior")


def _repetition(values: list[str] | None) -> float | dict[str, float]:
    if not values:
        return 1.0
    if len(values) == 1 and "=" not in values[0]:
        try:
            return float(values[0])
        except ValueError:
            _fail(f"--max-repetition: {values[0]!r} is not a number (or give NAME=X per source)")
    return _pairs(values, "--max-repetition")


def _concentration(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(x) for x in text.split(","))
    except ValueError:
        _fail(f"--concentration must be LOW,HIGH (e.g. 0.1,5), got {text!r}")
    return lo, hi


def _targets(values: list[str]) -> tuple[str | None, dict[str, float] | None]:
    """One ``--target COLUMN``, or several ``--target COLUMN=WEIGHT`` forming an objective (weighted sum)."""
    if len(values) == 1 and "=" not in values[0]:
        return values[0], None
    out = {}
    for item in values:
        col, sep, weight = item.rpartition("=")
        if not sep:
            col, weight = item, "1"
        try:
            out[col] = float(weight)
        except ValueError:
            _fail(f"--target {item!r}: the weight after '=' must be a number")
    return None, out


def _fmt(v, spec: str = ".4f") -> str:
    try:
        import math

        return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)
    except (TypeError, ValueError):
        return str(v)


def _cv_lines(cv_rows: list[dict], chosen: str | None) -> list[str]:
    lines = [f"  {'regressor':<10} {'spearman':>8} {'pearson':>8} {'mae':>8} {'fold rho':>15} {'sec':>6}"]
    for r in cv_rows:
        mark = " *" if r["regressor"] == chosen else ""
        fold = f"{_fmt(r.get('fold_spearman_mean'), '.3f')} +- {_fmt(r.get('fold_spearman_std'), '.3f')}"
        lines.append(f"  {r['regressor']:<10} {_fmt(r.get('spearman')):>8} {_fmt(r.get('pearson')):>8} "
                     f"{_fmt(r.get('mae')):>8} {fold:>15} {_fmt(r.get('cv_seconds'), '.1f'):>6}{mark}")
    return lines


# ---- commands ----

Out = Annotated[str, typer.Option("--out", metavar="PATH", help="Output file.")]
Seed = Annotated[int, typer.Option("--seed", metavar="INT", help="Random seed (same seed, same result).")]
PriorOpt = Annotated[Optional[list[str]], typer.Option(
    "--prior", metavar="NAME=W|FILE",
    help="Token share per domain, NAME=W (repeatable), or one YAML/JSON file mapping names to shares (a mix file's "
         "weights work). Default: uniform.")]
MaxW = Annotated[Optional[list[str]], typer.Option(
    "--max-weight", metavar="NAME=X",
    help="Cap on a domain's weight, NAME=X (repeatable), e.g. tokens x max repetition / budget.")]
MinW = Annotated[Optional[list[str]], typer.Option(
    "--min-weight", metavar="NAME=X", help="Floor on a domain's weight, NAME=X (repeatable).")]


@app.command()
@_one_line_errors
def propose(
    out: Out,
    prior: PriorOpt = None,
    domain: Annotated[Optional[list[str]], typer.Option(
        "--domain", metavar="NAME", help="Domain name (repeatable); default: the names in --prior.")] = None,
    n: Annotated[int, typer.Option(
        "--n", metavar="INT", help="Number of candidate mixtures besides the baselines.")] = 64,
    seed: Seed = 0,
    max_weight: MaxW = None,
    min_weight: MinW = None,
    temperature: Annotated[float, typer.Option(
        metavar="T", help="Prior tempering: shares ** T, renormalised (RegMix: 0.5).")] = 0.5,
    concentration: Annotated[str, typer.Option(
        metavar="LOW,HIGH", help="Dirichlet concentration per domain, drawn log-uniformly per candidate.")] = "0.1,5",
    zero_below: Annotated[float, typer.Option(
        metavar="X", help="Weights below this are set to 0 (then renormalised within the caps).")] = 0.01,
    no_baselines: Annotated[bool, typer.Option(
        "--no-baselines", help="Leave out the natural, uniform and unimax rows.")] = False,
) -> None:
    """Write a ratios table of candidate mixtures (Dirichlet around the prior)."""
    from mixes.propose import propose as _propose
    from mixes.tables import write_table

    p = _prior(prior)
    domains = list(domain or (p.keys() if p else []))
    if not domains:
        _fail("name the domains: --prior NAME=W ... or --domain NAME ...")
    table = _propose(domains, p, n=n, seed=seed, max_weights=_pairs(max_weight, "--max-weight") or None,
                     min_weights=_pairs(min_weight, "--min-weight") or None, temperature=temperature,
                     concentration=_concentration(concentration), min_weight=zero_below,
                     include_baselines=not no_baselines)
    write_table(table, out)
    typer.echo(f"{len(table)} mixtures over {len(domains)} domains -> {out}")


@app.command()
@_one_line_errors
def fit(
    ratios: Annotated[str, typer.Option(
        "--ratios", metavar="FILE", help="Ratios table: run id, then one weight per domain.")],
    metrics: Annotated[str, typer.Option(
        "--metrics", metavar="FILE", help="Metrics table: run id, then metric columns.")],
    target: Annotated[list[str], typer.Option(
        "--target", metavar="COLUMN[=W]",
        help="Metric column to predict; or COLUMN=WEIGHT (repeatable) for a weighted objective.")],
    out: Annotated[str, typer.Option("--out", metavar="DIR", help="Directory for fit.json (and lightgbm.txt).")],
    regressor: Annotated[str, typer.Option(
        metavar="NAME", help="linear, loglinear, lightgbm, or auto (the simplest within one standard error of the best "
                             "cross-validated Spearman).")] = "auto",
    folds: Annotated[int, typer.Option(metavar="K", help="Cross-validation folds (0: none; not with auto).")] = 5,
    seed: Seed = 0,
) -> None:
    """Fit a regression from mixture weights to a metric; print the k-fold figures."""
    from mixes.fit import fit_tables, save_fit

    col, objective = _targets(target)
    result = fit_tables(ratios, metrics, target=col, targets=objective, regressor=regressor, folds=folds, seed=seed)
    path = save_fit(result, out)
    typer.echo(f"{result.n_runs} runs, {len(result.domains)} domains, target {result.target}")
    if len(result.cv):
        typer.echo(f"{result.folds}-fold cross-validation (pooled out-of-fold; * = used):")
        for line in _cv_lines(result.cv_summary(), result.regressor):
            typer.echo(line)
    typer.echo(f"{result.regressor} fitted on all {result.n_runs} runs -> {path}")


@app.command()
@_one_line_errors
def predict(
    fit: Annotated[str, typer.Option("--fit", metavar="DIR", help="Directory written by `fit`.")],
    ratios: Annotated[str, typer.Option("--ratios", metavar="FILE", help="Ratios table of the mixtures to predict.")],
    out: Annotated[str, typer.Option("--out", metavar="FILE", help="Output table: run, predicted.")],
    metrics: Annotated[Optional[str], typer.Option(
        "--metrics", metavar="FILE", help="Measured metrics of these runs: print Spearman, Pearson and MAE.")] = None,
) -> None:
    """Predict the target for each mixture of a ratios table."""
    from mixes.fit import load_fit, predict_table, score_table
    from mixes.tables import write_table

    f = load_fit(fit)
    table = predict_table(f, ratios)
    write_table(table.set_index("run"), out)
    typer.echo(f"{len(table)} predictions of {f.target} ({f.regressor}) -> {out}")
    if metrics:
        from mixes.tables import MixInputError

        try:
            s = score_table(f, ratios, metrics)
        except MixInputError as exc:  # the predictions stand; say why they could not be scored
            typer.echo(f"note: not scored: {exc}", err=True)
            return
        typer.echo(f"against measured {f.target}: spearman {s['spearman']:.4f}, pearson {s['pearson']:.4f}, "
                   f"mae {s['mae']:.4f} (n={s['n']})")


@app.command()
@_one_line_errors
def optimize(
    fit: Annotated[str, typer.Option("--fit", metavar="DIR", help="Directory written by `fit`.")],
    out: Annotated[str, typer.Option("--out", metavar="FILE", help="Mix file to write (YAML the shards stage reads).")],
    prior: PriorOpt = None,
    tokens: Annotated[Optional[list[str]], typer.Option(
        "--tokens", metavar="NAME=N",
        help="Available tokens per domain, NAME=N (repeatable): with --total-tokens, caps each weight at "
             "N x max repetition / total, and is the default prior.")] = None,
    max_weight: MaxW = None,
    min_weight: MinW = None,
    max_repetition: Annotated[Optional[list[str]], typer.Option(
        "--max-repetition", metavar="X|NAME=X",
        help="Times a source's tokens may be reused: X, or NAME=X (repeatable).")] = None,
    total_tokens: Annotated[Optional[int], typer.Option(
        "--total-tokens", metavar="N", help="Token budget of the final run (written to the mix file).")] = None,
    kl: Annotated[float, typer.Option(
        "--kl", metavar="LAMBDA", help="KL penalty towards the prior, in target units (0: none).")] = 0.05,
    method: Annotated[str, typer.Option(
        metavar="NAME", help="auto (exact where the model allows), exact, or search.")] = "auto",
    candidates: Annotated[int, typer.Option(metavar="N", help="Candidates drawn by the search.")] = 100_000,
    top_k: Annotated[int, typer.Option(
        "--top-k", metavar="K", help="The search averages the best K candidates.")] = 100,
    seed: Seed = 0,
) -> None:
    """Find the mixture with the best predicted target within the caps; write a mix file."""
    from mixes.fit import load_fit
    from mixes.optimize import optimize as _optimize
    from mixes.optimize import write_mix_file
    from mixes.propose import caps_from_tokens

    f = load_fit(fit)
    rep = _repetition(max_repetition)
    caps = _pairs(max_weight, "--max-weight")
    avail = _pairs(tokens, "--tokens")
    if avail:
        if not total_tokens:
            _fail("--tokens needs --total-tokens (the final run's budget) to compute the caps")
        for name, cap in caps_from_tokens(avail, total_tokens, rep).items():
            caps[name] = min(cap, caps.get(name, cap))
    p = _prior(prior) or (avail or None)
    if p:
        unknown = [d for d in p if d not in f.domains]
        if unknown:
            _fail(f"--prior/--tokens: unknown domains {', '.join(unknown[:5])} (fit domains: "
                  f"{', '.join(f.domains[:6])}{', ...' if len(f.domains) > 6 else ''})")
        missing = [d for d in f.domains if d not in p]
        if missing:
            _fail(f"--prior/--tokens: no share for {', '.join(missing[:5])}")
    res = _optimize(f, prior=p, max_weights=caps or None, min_weights=_pairs(min_weight, "--min-weight") or None,
                    kl_penalty=kl, method=method, n_candidates=candidates, top_k=top_k, seed=seed)
    provenance = {
        "tool": "curate mix optimize",
        "fit": os.path.abspath(fit),
        "target": f.target,
        "targets": f.targets,
        "regressor": f.regressor,
        "requested_regressor": f.requested,
        "n_runs": f.n_runs,
        "cv": f.cv_summary(),
        "predicted": res.predicted,
        "predicted_at_prior": res.details.get("predicted_at_prior"),
        "objective": res.objective,
        "kl_to_prior": res.kl,
        "kl_penalty": res.kl_penalty,
        "method": res.method,
        "prior": res.prior,
        "max_weights": {k: v for k, v in res.max_weights.items() if v < 1},
        "min_weights": {k: v for k, v in res.min_weights.items() if v > 0},
        "search": {k: v for k, v in res.details.items() if k != "predicted_at_prior"} or None,
        "seed": seed,
    }
    written = write_mix_file(out, res.weights, max_repetition=rep, total_tokens=total_tokens,
                             provenance={k: v for k, v in provenance.items() if v is not None and v != {}},
                             max_weights=res.max_weights)
    width = max(8, min(32, max(len(d) for d in f.domains)))
    typer.echo(f"{'domain':<{width}} {'prior':>7} {'weight':>7} {'max':>7}")
    for d in f.domains:
        cap = res.max_weights[d]
        typer.echo(f"{d[:width]:<{width}} {res.prior[d]:>7.4f} {written[d]:>7.4f} "
                   f"{(f'{cap:.4f}' if cap < 1 else '-'):>7}")
    typer.echo(f"predicted {f.target}: {res.predicted:.4f} (at the prior: {res.details['predicted_at_prior']:.4f})")
    typer.echo(f"KL to the prior {res.kl:.3f} (penalty {res.kl_penalty:g}); {res.method} on {f.regressor}")
    typer.echo(f"-> {out}")


add_commands(app, _one_line_errors)


def main() -> None:  # pragma: no cover - `python -m mixes.cli`
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
