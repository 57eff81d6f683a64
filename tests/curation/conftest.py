"""Fixtures shared by the stage and shard tests: leading documents of the shared corpora, a tokenizer trained on
them through the CLI, and their pass through the Spark tokenize stage."""
import json

import pyarrow as pa
import pytest
import zstandard
from typer.testing import CliRunner

from curation.cli.tokenizer import app as tokenizer_app
from curation.pipeline.stage import StageContext
from curation.schema import DOC_SCHEMA, rows_to_batch
from curation.stages.tokenize import TokenizeStage
from tests.paths import shared_path

# (corpus, documents taken from its start): ~1.5 MB of text, every domain but the 1 MB-per-document books
SAMPLE = {"web": 120, "code": 60, "forum": 200, "wiki": 8, "papers": 6, "docs": 25}


def corpus_rows(sample: dict[str, int] = SAMPLE) -> list[dict]:
    """Leading documents of shared corpora as document rows (id, text, source)."""
    rows = []
    for corpus, n in sample.items():
        raw = zstandard.ZstdDecompressor().decompressobj().decompress(
            shared_path("corpora", f"{corpus}.jsonl.zst").read_bytes())
        for line in raw.decode("utf-8").split("\n")[:n]:
            obj = json.loads(line)
            rows.append({"id": obj["id"], "text": obj["text"], "source": corpus})
    return rows


def apply_stage(stage, df, spark, out, seed=0):
    """Apply a stage the way the runner does: write ``combined`` once, split on ``reason``, call after_write."""
    from pyspark.sql import functions as F

    res = stage.apply(df, StageContext(spark=spark, out=str(out), stage_name="stage", seed=seed, log=lambda _: None))
    res.combined.write.mode("overwrite").parquet(f"{out}/all")
    both = spark.read.parquet(f"{out}/all")
    both.where(F.col("reason").isNull()).drop("reason").write.mode("overwrite").parquet(f"{out}/kept")
    kept, rejected = spark.read.parquet(f"{out}/kept"), both.where(F.col("reason").isNotNull())
    stats = res.after_write(kept, rejected, f"{out}/_artifacts") if res.after_write else {}
    return kept, rejected, stats


@pytest.fixture(scope="session")
def rows():
    return corpus_rows()


@pytest.fixture(scope="session")
def tokenizer_path(tmp_path_factory, rows):
    """A 2k byte-level BPE trained through the CLI on two shared corpora."""
    out = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    result = CliRunner().invoke(tokenizer_app, [
        "train", str(shared_path("corpora", "web.jsonl.zst")), str(shared_path("corpora", "code.jsonl.zst")),
        "--vocab-size", "2048", "--max-bytes", "1500000", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return str(out)


@pytest.fixture(scope="session")
def run_stage():
    """:func:`apply_stage`: (kept, rejected, after_write stats) of a stage applied as the runner would."""
    return apply_stage


@pytest.fixture(scope="session")
def tokenize_run(spark, tmp_path_factory, rows, tokenizer_path):
    """The sample through the Spark tokenize stage, plus a document without text and a second document under an
    id already used: (kept, rejected, stats)."""
    extra = [{"id": "no-text", "source": "web"},
             {"id": rows[0]["id"], "text": rows[0]["text"] + " (second copy of the id)", "source": "web"}]
    table = pa.Table.from_batches([rows_to_batch(rows + extra, DOC_SCHEMA)])
    stage = TokenizeStage(TokenizeStage.Params(tokenizer=tokenizer_path))
    return apply_stage(stage, spark.createDataFrame(table).repartition(3), spark, tmp_path_factory.mktemp("tokenized"))
