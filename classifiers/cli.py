"""`curate classifier`: train quality and topic classifiers (fastText and a scikit-learn baseline)."""
from __future__ import annotations

import json
from typing import List, Optional

import typer

app = typer.Typer(help="Train, evaluate and inspect quality and topic classifiers.", no_args_is_help=True)


def _fail(msg: str) -> None:
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(2)


@app.command()
def train(
    out: str = typer.Option(..., "--out", help="model directory (models, model_card.json, MODEL_CARD.md)"),
    positive: List[str] = typer.Option([], "--positive", help="JSONL path/dir/glob of text to keep (label 'high')"),
    negative: List[str] = typer.Option([], "--negative", help="JSONL path/dir/glob of text to drop (label 'low')"),
    source: List[str] = typer.Option([], "--source", help="LABEL=PATH: a topic classifier, one label per source"),
    backend: List[str] = typer.Option(["fasttext", "sklearn"], "--backend", help="fasttext and/or sklearn"),
    max_docs_per_source: Optional[int] = typer.Option(None, help="sample at most this many documents per source"),
    balance: bool = typer.Option(True, help="down-sample every label to the smallest one"),
    test_fraction: float = typer.Option(0.2, help="held-out share of each label"),
    seed: int = typer.Option(0),
    max_chars: int = typer.Option(1000, help="characters of each document the classifier reads"),
    lowercase: bool = typer.Option(True),
    split_punctuation: bool = typer.Option(False, help="set punctuation apart from words (slower scoring)"),
    ood: List[str] = typer.Option([], "--ood", help="NAME=PATH: JSONL with text and 0/1 label, evaluated too"),
    epoch: int = typer.Option(25, help="fastText epochs"),
    lr: float = typer.Option(0.3, help="fastText learning rate (lower it if training diverges with NaN)"),
    dim: int = typer.Option(32, help="fastText vector size"),
    word_ngrams: int = typer.Option(2, help="fastText word n-gram length"),
    c: float = typer.Option(10.0, "--C", help="scikit-learn inverse regularization strength"),
):
    """Train a quality classifier (--positive/--negative) or a topic classifier (--source LABEL=PATH).

    Example: curate classifier train --out models/quality --positive corpora/wiki.jsonl.zst
    --positive corpora/docs.jsonl.zst --negative corpora/web.jsonl.zst --ood dclm=web/quality/dclm_human_labels.jsonl.gz
    """
    from classifiers.text_classifier import TextPrep
    from classifiers.train import BACKENDS, NEGATIVE, POSITIVE, LabeledSource, train_classifiers

    if source and (positive or negative):
        _fail("use either --positive/--negative (quality) or --source LABEL=PATH (topic), not both")
    if not source and not (positive and negative):
        _fail("give --positive and --negative sources, or --source LABEL=PATH for each topic")
    unknown = sorted(set(backend) - set(BACKENDS))
    if unknown:
        _fail(f"unknown backend(s) {unknown}; known: {sorted(BACKENDS)}")
    try:
        sources = ([LabeledSource(POSITIVE, p) for p in positive] + [LabeledSource(NEGATIVE, p) for p in negative]
                   if positive else [LabeledSource.parse(s) for s in source])
        ood_paths = {s.label: s.path for s in map(LabeledSource.parse, ood)}
    except ValueError as exc:
        _fail(str(exc))
    if ood_paths and not positive:
        _fail("--ood sets have 0/1 quality labels: use them with --positive/--negative")
    params = {"fasttext": {"epoch": epoch, "lr": lr, "dim": dim, "word_ngrams": word_ngrams}, "sklearn": {"C": c}}
    card = train_classifiers(
        sources, out, positive_label=POSITIVE if positive else None, backends={b: params[b] for b in backend},
        prep=TextPrep(max_chars=max_chars, lowercase=lowercase, split_punctuation=split_punctuation),
        max_docs_per_source=max_docs_per_source, balance=balance, test_fraction=test_fraction, seed=seed,
        ood=ood_paths, log=typer.echo)
    summary = {name: {k: v for k, v in m["held_out"].items() if k not in ("score_histogram", "per_class")}
               for name, m in card["models"].items()}
    typer.echo(json.dumps(summary, indent=2))
    typer.echo(f"model card: {out}/MODEL_CARD.md")
