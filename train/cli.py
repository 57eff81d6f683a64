"""``curate train proxy`` and ``curate train swarm``.

    curate train proxy --source web=shards/web --source code=shards/code --mix web=0.7 --mix code=0.3 \\
        --eval-dir shards --model 1m --tokens 2000000 --out runs/proxy
    curate train swarm --source web=shards/web --source code=shards/code --mixtures mixtures.json \\
        --eval web=shards/eval/web --model 1m --tokens 2000000 --out runs/swarm

torch and the trainer are imported when a command runs, not when ``curate`` starts: importing torch takes ~1 CPU-s,
which every other ``curate`` command (``curate run`` included) would otherwise pay.
"""
from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated, Optional

import typer

if TYPE_CHECKING:
    from train.trainer import TrainConfig

app = typer.Typer(help="Train proxy language models (one, or a swarm at once).", no_args_is_help=True)

Sources = Annotated[list[str], typer.Option("--source", help="NAME=SHARD_DIR of one training source (repeatable).")]
Evals = Annotated[Optional[list[str]], typer.Option(
    "--eval", help="NAME=SHARD_DIR of a held-out set (repeatable). Required unless --eval-dir is given.")]
EvalDirs = Annotated[Optional[list[str]], typer.Option(
    "--eval-dir", help="Use every <DIR>/eval/<source>/ shard directory as a held-out set (repeatable).")]
Model = Annotated[str, typer.Option(help="Named model config: tiny, mix-s, 1m, 5m, 15m, 20m, 50m, 100m.")]
Tokens = Annotated[int, typer.Option("--tokens", help="Training token budget (per model).")]
Seed = Annotated[int, typer.Option(help="Seed of initialisation and data sampling.")]
Out = Annotated[Optional[str], typer.Option(help="Directory for metrics.json and model.safetensors.")]
SeqLen = Annotated[int, typer.Option(help="Context length.")]
BatchSize = Annotated[int, typer.Option(help="Sequences per step (per model).")]
LR = Annotated[float, typer.Option(help="Peak learning rate (warmup, then cosine to 10%).")]
EvalTokens = Annotated[int, typer.Option(help="At most this many tokens scored per eval set.")]
Device = Annotated[str, typer.Option(help="auto (CUDA if available, else CPU), cpu, cuda, cuda:1 ...")]
Compile = Annotated[bool, typer.Option("--compile", help="torch.compile the training step.")]
Threads = Annotated[int, typer.Option(help="CPU threads for torch (0: torch's default).")]


def parse_pairs(pairs: list[str] | None, what: str) -> dict[str, str]:
    parsed = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name or not value:
            raise typer.BadParameter(f"{what} must be NAME=VALUE, got {pair!r}")
        parsed[name] = value
    return parsed


def shard_dirs(dirs: dict[str, str], what: str) -> dict[str, str]:
    """``dirs`` when each is a shard directory (it has a manifest.json); else a one-line usage error naming it."""
    import os

    for name, path in dirs.items():
        if not os.path.isfile(os.path.join(path, "manifest.json")):
            raise typer.BadParameter(f"{what} {name}={path}: not a shard directory (no manifest.json)")
    return dirs


def check_mixtures(mixtures: list[dict], sources: dict[str, str]) -> None:
    for i, mixture in enumerate(mixtures):
        unknown = sorted(set(mixture) - set(sources))
        if unknown:
            raise typer.BadParameter(f"mixture {i} weights {', '.join(unknown)}, not given as --source "
                                     f"(sources: {', '.join(sorted(sources))})")


def step_progress(label: str):
    """An ``on_step(done, steps)`` callback showing steps with an ETA (a bar on a terminal, lines in a log), and the
    :class:`~curation.runtime.progress.Progress` to close."""
    from curation.runtime.progress import Progress

    progress = Progress(label, None, "steps")
    return progress, lambda done, steps: progress.update(done, total=steps)


def eval_sets(evals: list[str] | None, eval_dirs: list[str] | None) -> dict[str, str]:
    from train.shard_reader import find_eval_sets

    found = {}
    for shards_dir in eval_dirs or []:
        found.update(find_eval_sets(shards_dir))
    found.update(shard_dirs(parse_pairs(evals, "--eval"), "--eval"))
    if not found:
        raise typer.BadParameter("no eval set: give --eval NAME=DIR or --eval-dir DIR (with DIR/eval/<source>/)")
    return found


def train_config(model: str, seq_len: int, batch_size: int, lr: float, eval_tokens: int, device: str,
                 compile: bool, threads: int) -> TrainConfig:
    import torch

    from train.trainer import TrainConfig

    if threads:
        torch.set_num_threads(threads)
    return TrainConfig(model=model, seq_len=seq_len, batch_size=batch_size, lr=lr, eval_tokens=eval_tokens,
                       device=device, compile=compile)


def report(metrics: dict) -> None:
    mixture = ", ".join(f"{k}={v:.3g}" for k, v in metrics["mixture"].items())
    typer.echo(f"{metrics['model']} ({metrics['params']:,} params, {metrics['non_embedding_params']:,} non-embedding)"
               f" on {mixture}: {metrics['tokens_trained']:,} tokens, {metrics['tokens_per_second']:,.0f} tokens/s"
               f" on {metrics['device']}")
    for name, r in metrics["eval"].items():
        typer.echo(f"  {name:>12}: loss {r['loss']:.4f} nats/token (unigram entropy {r['unigram_entropy']:.4f}),"
                   f" {r['bits_per_byte']:.4f} bits/byte")


@app.command()
def proxy(source: Sources, mix: Annotated[Optional[list[str]], typer.Option(
              help="NAME=WEIGHT mixture weight of a source (repeatable; default: all sources equally).")] = None,
          eval: Evals = None, eval_dir: EvalDirs = None, model: Model = "1m", tokens: Tokens = 2_000_000,
          seed: Seed = 0, out: Out = None, seq_len: SeqLen = 256, batch_size: BatchSize = 32, lr: LR = 3e-3,
          eval_tokens: EvalTokens = 1 << 17, device: Device = "auto", compile: Compile = False,
          threads: Threads = 0, attention: Annotated[str, typer.Option(
              help="matmul, or sdpa (fused attention kernel; faster for one larger model on a GPU).")] = "matmul"):
    """Train one proxy model on a mixture of sources and evaluate it."""
    from train.trainer import train_proxy

    config = replace(train_config(model, seq_len, batch_size, lr, eval_tokens, device, compile, threads),
                     attention=attention)
    sources = shard_dirs(parse_pairs(source, "--source"), "--source")
    mixture = {k: float(v) for k, v in parse_pairs(mix, "--mix").items()} or {k: 1.0 for k in sources}
    check_mixtures([mixture], sources)
    evals = eval_sets(eval, eval_dir)
    progress, on_step = step_progress("train proxy")
    with progress:
        metrics = train_proxy(mixture, sources, evals, config, tokens, seed, out, on_step=on_step)
    report(metrics)


@app.command()
def swarm(source: Sources, mixtures: Annotated[str, typer.Option(
              help="JSON file: a list of mixtures, each an object NAME -> weight; one proxy per mixture.")],
          eval: Evals = None, eval_dir: EvalDirs = None, model: Model = "1m", tokens: Tokens = 2_000_000,
          seed: Seed = 0, out: Out = None, seq_len: SeqLen = 256, batch_size: BatchSize = 32, lr: LR = 3e-3,
          eval_tokens: EvalTokens = 1 << 17, device: Device = "auto", compile: Compile = False,
          threads: Threads = 0, swarm_impl: Annotated[str, typer.Option(
              help="bmm (stacked weights, batched matmuls) or vmap (torch.func.vmap over the solo model).")] = "bmm"):
    """Train one proxy per mixture, all at once on one device (stacked parameters: batched matmuls or vmap)."""
    from train.swarm import SWARM_IMPLS, train_swarm

    if swarm_impl not in SWARM_IMPLS:
        raise typer.BadParameter(f"--swarm-impl must be one of {', '.join(SWARM_IMPLS)}, got {swarm_impl!r}")
    config = replace(train_config(model, seq_len, batch_size, lr, eval_tokens, device, compile, threads),
                     swarm_impl=swarm_impl)
    with open(mixtures) as f:
        mixture_list = json.load(f)
    sources = shard_dirs(parse_pairs(source, "--source"), "--source")
    check_mixtures(mixture_list, sources)
    evals = eval_sets(eval, eval_dir)
    progress, on_step = step_progress(f"train swarm of {len(mixture_list)}")
    with progress:
        results = train_swarm(mixture_list, sources, evals, config, tokens, seed, out, on_step=on_step)
    for metrics in results:
        report(metrics)
