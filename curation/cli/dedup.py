"""`curate dedup`: score a dedup run against brute-force exact-Jaccard truth; plant near-duplicates."""
from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(help="Deduplication tools: evaluation against exact-Jaccard truth, planted duplicates.",
                  no_args_is_help=True)


def annotated_documents(stage_dir: Path, columns: list[str]):
    """``columns`` of the documents of a run's stage folder that holds annotations only (a lazy stage), planned
    with Spark from the run's ``spec.yaml``."""
    from curation.pipeline.runner import Runner
    from curation.pipeline.spec import load_spec
    from curation.runtime.session import get_spark

    spec = load_spec(stage_dir.parent / "spec.yaml", [f"out={stage_dir.parent}"])
    spark = get_spark(master=spec.spark.master, driver_memory=spec.spark.driver_memory, conf=spec.spark.conf)
    return Runner(spec, spark, log=lambda m: None).documents(stage_dir.name).select(*columns).toArrow()


@app.command("eval")
def eval_(
    annotated: Path = typer.Argument(..., help="annotated stage output (Parquet folder), e.g. runs/dedup/minhash"),
    threshold: float = typer.Option(0.8, help="true duplicate: exact word-n-gram Jaccard >= this"),
    ngram: int = typer.Option(5, help="words per shingle"),
    out: Path = typer.Option(None, help="also write the metrics here (JSON)"),
):
    """Pair-level and removal-level precision / recall / F1 of the run's clusters (brute force: small sets)."""
    import pyarrow.dataset as ds

    from curation.dedup.eval import evaluate_annotated

    columns = ["id", "text", "dup_cluster", "dup_of"]
    dataset = ds.dataset(str(annotated), format="parquet", exclude_invalid_files=True)
    if "exact_dup_of" in dataset.schema.names:
        columns.append("exact_dup_of")
    if "text" in dataset.schema.names:
        table = dataset.to_table(columns=columns)
    else:  # a stage that stored its annotations only: the documents come from the run's spec
        typer.echo(f"reading the documents through {annotated.parent}/spec.yaml (starts Spark)", err=True)
        table = annotated_documents(annotated, columns)
    typer.echo(f"evaluating {table.num_rows:,} documents against brute-force exact Jaccard", err=True)
    metrics = evaluate_annotated(table, threshold, ngram, progress=True)
    if out:
        out.write_text(json.dumps(metrics, indent=2))
    typer.echo(json.dumps(metrics, indent=2))
    pair, rem = metrics["pair"], metrics["removal"]
    typer.echo(f"pairs P/R/F1 {pair['precision']:.4f}/{pair['recall']:.4f}/{pair['f1']:.4f}  "
               f"removal P/R {rem['precision']:.4f}/{rem['recall']:.4f}  ({rem['removed']} removed)")


@app.command()
def plant(
    input: Path = typer.Argument(..., help="JSONL documents with id and text (.gz/.zst fine)"),
    out: Path = typer.Argument(..., help="output JSONL: the documents plus their near-copies"),
    levels: str = typer.Option("0.5,0.7,0.8,0.9,1.0", help="target Jaccard levels, cycled over the copies"),
    fraction: float = typer.Option(0.2, help="share of documents that get a copy"),
    seed: int = typer.Option(0),
):
    """Write near-copies of real documents at chosen Jaccard levels; truth pairs go to OUT.truth.jsonl."""
    from curation.dedup.planted import plant as plant_copies
    from curation.readers.file_source import open_text_stream

    with open_text_stream(str(input)) as stream:
        docs = [json.loads(line) for line in stream if line.strip()]
    docs_out, truth = plant_copies(docs, [float(x) for x in levels.split(",")], fraction, seed)
    with open(out, "w", encoding="utf-8") as f:
        for d in docs_out:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    truth_path = out.with_name(out.name + ".truth.jsonl")
    with open(truth_path, "w", encoding="utf-8") as f:
        for t in truth:
            f.write(json.dumps(t) + "\n")
    typer.echo(f"{len(docs_out)} documents ({len(truth)} planted copies) -> {out}; truth -> {truth_path}")
