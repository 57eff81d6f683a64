"""The decontaminate stage on Spark: benchmarks from JSONL and Parquet files, documents flagged per benchmark,
matching paragraphs removed on request, per-benchmark counts in the stats."""
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.pipeline.stage import StageContext
from curation.schema import DOC_SCHEMA, rows_to_batch
from curation.stages.decontaminate import DecontaminateStage

QUESTION = "Which planet of the solar system has the largest number of known moons orbiting it as of this year"
PASSAGE = "The quick brown fox jumps over the lazy dog while the farmer watches from the porch of the old house"


def test_flags_per_benchmark_and_removes_paragraphs(spark, tmp_path):
    (tmp_path / "qa.jsonl").write_text(json.dumps({"question": QUESTION}) + "\n")
    pq.write_table(pa.table({"text": [PASSAGE]}), tmp_path / "read.parquet")
    docs = [{"id": "q", "text": f"Intro.\n\nQuiz: {QUESTION}?\n\nOutro."},
            {"id": "both", "text": f"{PASSAGE}.\n\n{QUESTION}"},
            {"id": "clean", "text": "Nothing to see here.\n\nReally nothing."}]
    df = spark.createDataFrame(pa.Table.from_batches([rows_to_batch(docs, DOC_SCHEMA)]))
    params = {"benchmarks": {"qa": {"path": str(tmp_path / "qa.jsonl"), "text_field": "question"},
                             "reading": {"path": str(tmp_path / "read.parquet")}},
              "action": "remove_paragraphs"}
    stage = DecontaminateStage(DecontaminateStage.Params.model_validate(params))
    result = stage.apply(df, StageContext(spark=spark, out=str(tmp_path), stage_name="decontaminate"))
    result.kept.write.parquet(str(tmp_path / "kept"))
    kept = spark.read.parquet(str(tmp_path / "kept"))
    rows = {r["id"]: r for r in kept.collect()}
    assert rows["q"]["text"] == "Intro.\n\nOutro." and rows["q"]["contaminated"]
    assert dict(rows["both"]["contam_matches"]) == {"qa": 7, "reading": 8} and rows["both"]["text"] == ""
    assert rows["clean"]["text"] == docs[2]["text"] and not rows["clean"]["contaminated"]
    stats = result.after_write(kept, None, str(tmp_path / "_artifacts"))["decontaminate"]
    assert stats["documents_contaminated"] == 2
    matched = {name: b["documents_matched"] for name, b in stats["benchmarks"].items()}
    assert matched == {"qa": 2, "reading": 1}
    assert stats["benchmarks"]["reading"]["ngrams"] == 8


def test_bad_benchmark_path_and_index_bound(tmp_path):
    stage = DecontaminateStage(DecontaminateStage.Params.model_validate(
        {"benchmarks": {"mmlu": {"path": str(tmp_path / "missing.jsonl")}}}))
    with pytest.raises(ValueError, match="decontaminate.benchmarks.mmlu.path matches no files"):
        stage.build()
    (tmp_path / "e.jsonl").write_text(json.dumps({"text": PASSAGE}) + "\n")
    small = DecontaminateStage(DecontaminateStage.Params.model_validate(
        {"benchmarks": {"e": {"path": str(tmp_path / "e.jsonl")}}, "max_index_ngrams": 5}))
    with pytest.raises(ValueError, match=r"more than max_index_ngrams \(5\)"):
        small.build()
