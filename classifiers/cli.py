"""`curate classifier`: train quality and topic classifiers (fastText, a scikit-learn baseline, and the
``web-quality`` preset's stacked models) and score files with them."""
from __future__ import annotations

import json
import os
from typing import List, Optional

import typer
from typer.core import TyperCommand

app = typer.Typer(help="Train quality and topic classifiers (train) and score JSONL/Parquet files with a trained "
                       "model, with ROC-AUC when the file has labels (score).", no_args_is_help=True)


class PlainHelp(TyperCommand):
    """Click's plain help layout: with this many options, Rich's option table leaves the help text a narrow
    column at 80 characters; click's two-column list wraps readably."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.rich_markup_mode = None

PRESETS = ("web-quality",)


def _fail(msg: str) -> None:
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(2)


def _exists(path: str) -> bool:
    from curation.readers.file_source import list_files

    return bool(list_files(path))


@app.command(cls=PlainHelp)
def train(
    out: str = typer.Option(..., "--out", help="model directory (models, model_card.json, MODEL_CARD.md)"),
    preset: Optional[str] = typer.Option(None, "--preset", help="web-quality: the recipe that agrees with human "
                                         "labels on web text (see Presets above)"),
    positive: List[str] = typer.Option([], "--positive", help="JSONL path/dir/glob of text to keep (label 'high')"),
    negative: List[str] = typer.Option([], "--negative", help="JSONL path/dir/glob of text to drop (label 'low')"),
    source: List[str] = typer.Option([], "--source", help="LABEL=PATH: a topic classifier, one label per source"),
    web: List[str] = typer.Option([], "--web", help="web-quality: unlabelled web text (JSONL/Parquet path, dir "
                                  "or glob; repeatable) (default: $CURATION_SHARED/data/web/jsonl)"),
    human_labels: Optional[str] = typer.Option(None, "--human-labels", help="web-quality: documents with 0/1 "
                                               "`label`, split into dev/test; 'none': train without (default: "
                                               "$CURATION_SHARED/data/web/quality/dclm_human_labels.jsonl.gz)"),
    dev_fraction: float = typer.Option(0.4, help="web-quality: share of each human label in the dev split (the "
                                       "rest is the test split)"),
    max_docs: Optional[int] = typer.Option(None, help="web-quality: read at most this many web documents"),
    backend: List[str] = typer.Option([], "--backend", help="fasttext, sklearn, fasttext-stacked, sklearn-stacked "
                                      "(default: fasttext and sklearn; web-quality: both stacked ones)"),
    max_docs_per_source: Optional[int] = typer.Option(None, help="sample at most this many documents per source"),
    balance: bool = typer.Option(True, help="down-sample every label to the smallest one"),
    test_fraction: float = typer.Option(0.2, help="held-out share of each label"),
    seed: int = typer.Option(0),
    max_chars: int = typer.Option(1000, help="characters of each document the text model reads"),
    lowercase: bool = typer.Option(True),
    split_punctuation: bool = typer.Option(False, help="set punctuation apart from words (slower scoring)"),
    ood: List[str] = typer.Option([], "--ood", help="NAME=PATH: JSONL with text and 0/1 label, evaluated too"),
    epoch: int = typer.Option(25, help="fastText epochs"),
    lr: float = typer.Option(0.3, help="fastText learning rate (lower it if training diverges with NaN)"),
    dim: int = typer.Option(32, help="fastText vector size"),
    word_ngrams: int = typer.Option(2, help="fastText word n-gram length"),
    c: float = typer.Option(10.0, "--C", help="scikit-learn inverse regularization strength"),
):
    """Train a quality (--positive/--negative), topic (--source) or preset model.

    Example: curate classifier train --out models/quality --positive corpora/wiki.jsonl.zst
    --negative corpora/web.jsonl.zst --ood dclm=web/quality/dclm_human_labels.jsonl.gz

    Presets: --preset web-quality trains on web text only: English pages passing every heuristic rule against
    pages failing two or more, a text model plus a head over 24 page-shape features, the head refitted on the dev
    split of --human-labels. The model card reports in-distribution ROC-AUC and human-label ROC-AUC on the test
    split (bootstrap 95% interval). Example: curate classifier train --preset web-quality
    --out runs/models/web-quality. Shared data: $CURATION_SHARED, default ../shared.
    """
    from classifiers.text_classifier import TextPrep
    from classifiers.train import BACKENDS, DEFAULT_BACKENDS, NEGATIVE, POSITIVE, LabeledSource, train_classifiers

    unknown = sorted(set(backend) - set(BACKENDS))
    if unknown:
        _fail(f"unknown backend(s) {unknown}; known: {sorted(BACKENDS)}")
    prep = TextPrep(max_chars=max_chars, lowercase=lowercase, split_punctuation=split_punctuation)
    base = {"fasttext": {"epoch": epoch, "lr": lr, "dim": dim, "word_ngrams": word_ngrams}, "sklearn": {"C": c}}
    params = {**base, "fasttext-stacked": {"base": base["fasttext"]}, "sklearn-stacked": {"base": base["sklearn"]}}
    if preset is not None:
        _train_preset(preset, out, positive or negative or source, web, human_labels, dev_fraction, max_docs,
                      backend, seed, prep, params, ood)
        return
    if web or human_labels is not None or max_docs is not None:
        _fail("--web, --human-labels and --max-docs belong to --preset web-quality")
    backend = backend or list(DEFAULT_BACKENDS)
    if source and (positive or negative):
        _fail("use either --positive/--negative (quality) or --source LABEL=PATH (topic), not both")
    if not source and not (positive and negative):
        _fail("give --positive and --negative sources, or --source LABEL=PATH for each topic (or --preset)")
    if source and any(b.endswith("-stacked") for b in backend):
        _fail("stacked backends are binary (quality) classifiers: use them with --positive/--negative")
    try:
        sources = ([LabeledSource(POSITIVE, p) for p in positive] + [LabeledSource(NEGATIVE, p) for p in negative]
                   if positive else [LabeledSource.parse(s) for s in source])
        ood_paths = {s.label: s.path for s in map(LabeledSource.parse, ood)}
    except ValueError as exc:
        _fail(str(exc))
    if ood_paths and not positive:
        _fail("--ood sets have 0/1 quality labels: use them with --positive/--negative")
    card = train_classifiers(
        sources, out, positive_label=POSITIVE if positive else None, backends={b: params[b] for b in backend},
        prep=prep, max_docs_per_source=max_docs_per_source, balance=balance, test_fraction=test_fraction, seed=seed,
        ood=ood_paths, log=typer.echo)
    summary = {name: {k: v for k, v in m["held_out"].items() if k not in ("score_histogram", "per_class")}
               for name, m in card["models"].items()}
    typer.echo(json.dumps(summary, indent=2))
    typer.echo(f"model card: {out}/MODEL_CARD.md")


def _train_preset(preset, out, other_sources, web, human_labels, dev_fraction, max_docs, backend, seed, prep, params,
                  ood) -> None:
    from classifiers.labelled_data import DataError
    from classifiers.web_quality import STACKED, WebQualityRecipe, default_human_labels, default_web, train_web_quality

    if preset not in PRESETS:
        _fail(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
    if other_sources:
        _fail("--preset web-quality reads --web and --human-labels, not --positive/--negative/--source")
    if ood:
        _fail("--ood is not used by --preset web-quality: score other labelled files with `curate classifier score`")
    if not 0 < dev_fraction < 1:
        _fail(f"--dev-fraction must be between 0 and 1, got {dev_fraction}")
    if max_docs is not None and max_docs < 20:
        _fail(f"--max-docs {max_docs} is too few to train on (at least 20)")
    backends = backend or list(STACKED)
    wrong = [b for b in backends if b not in STACKED]
    if wrong:
        _fail(f"--preset web-quality trains {', '.join(STACKED)}, not {', '.join(wrong)}")
    web = web or [default_web()]
    for path in web:
        if not _exists(path):
            _fail(f"web text not found: {path} (give --web PATH, or set CURATION_SHARED to the shared data set's "
                  f"parent folder)")
    if human_labels is None:
        human_labels = default_human_labels()
    elif human_labels.lower() == "none":
        human_labels = None
    if human_labels is not None and not _exists(human_labels):
        _fail(f"human labels not found: {human_labels} (give --human-labels PATH, or --human-labels none)")
    recipe = WebQualityRecipe(web=list(web), human_labels=human_labels, dev_fraction=dev_fraction,
                              max_docs=max_docs, seed=seed)
    try:
        card = train_web_quality(out, recipe, backends, prep, base_params={b: params[b]["base"] for b in backends},
                                 log=typer.echo)
    except (DataError, ValueError) as exc:
        _fail(str(exc))
    typer.echo(f"default backend: {card['default_backend']}")
    typer.echo(f"model card: {out}/MODEL_CARD.md")


@app.command(cls=PlainHelp)
def score(
    model_dir: str = typer.Argument(..., help="a directory written by `curate classifier train`"),
    inputs: List[str] = typer.Argument(..., help="JSONL(.gz/.zst) or Parquet files, directories or globs"),
    backend: Optional[str] = typer.Option(None, help="which of the model directory's models (default: the card's "
                                          "default_backend, else the first)"),
    label_field: str = typer.Option("label", help="0/1 (or true/false, high/low) label; absent: no AUC"),
    text_field: str = typer.Option("text", help="the text field"),
    id_field: str = typer.Option("id", help="the id field (written to --out; used by --split)"),
    split: str = typer.Option("all", help="all, or dev / test: only the documents a web-quality model's head was "
                              "(dev) or was not (test) fitted on, by id"),
    threshold: Optional[float] = typer.Option(None, help="score >= this is positive (default: the model's, else 0.5)"),
    bootstrap: int = typer.Option(2000, help="bootstrap resamples for the ROC-AUC interval"),
    out: Optional[str] = typer.Option(None, "--out", help="write one JSON line per document: id, score, label"),
    as_json: bool = typer.Option(False, "--json", help="print the metrics as JSON instead of text"),
):
    """Score JSONL/Parquet files with a quality model; ROC-AUC when they have labels.

    Prints ROC-AUC with a bootstrap 95% interval, precision and recall at the model's threshold and the score
    histogram per class (labelled documents), or the score distribution (unlabelled).

    Example: curate classifier score runs/models/web-quality
    ../shared/data/web/quality/dclm_human_labels.jsonl.gz --split test
    """
    from classifiers.labelled_data import DataError
    from classifiers.score import ScoreError, render_report, score_files

    if split not in ("all", "dev", "test"):
        _fail(f"--split must be all, dev or test, not {split!r}")
    if threshold is not None and not 0 <= threshold <= 1:
        _fail(f"--threshold must be between 0 and 1, got {threshold}")
    try:
        report, rows = score_files(model_dir, inputs, backend=backend, label_field=label_field,
                                   text_field=text_field, id_field=id_field, split=split, threshold=threshold,
                                   n_boot=bootstrap)
    except (ScoreError, DataError) as exc:
        _fail(str(exc))
    if out:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, "w") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")
    typer.echo(json.dumps(report, indent=2) if as_json else render_report(report))
    if out:
        typer.echo(f"scores: {out}", err=as_json)
