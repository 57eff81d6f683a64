"""The line_dedup stage on Spark: units in more than max_docs documents go (all copies, or all but the smallest id's
with keep_first); paragraphs as units; the stats list the most removed units."""
import pyarrow as pa

from curation.pipeline.stage import StageContext
from curation.schema import DOC_SCHEMA, rows_to_batch
from curation.stages.line_dedup import LineDedupStage

BANNER = "We use cookies to improve your experience."
FOOTER = "Copyright 2019 Example Media.\nAll rights reserved."


def run(spark, tmp_path, docs, **params):
    df = spark.createDataFrame(pa.Table.from_batches([rows_to_batch(docs, DOC_SCHEMA)])).repartition(2)
    stage = LineDedupStage(LineDedupStage.Params(**params))
    result = stage.apply(df, StageContext(spark=spark, out=str(tmp_path), stage_name="line_dedup"))
    result.kept.write.parquet(str(tmp_path / "kept"))
    kept = spark.read.parquet(str(tmp_path / "kept"))
    out = {r["id"]: (r["text"], r["lines_removed"]) for r in kept.collect()}
    return out, result.after_write(kept, None, str(tmp_path / "_artifacts"))["line_dedup"]


def test_lines_over_the_threshold_go_keep_first_keeps_the_smallest_id(spark, tmp_path):
    docs = [{"id": f"d{i}", "text": f"{BANNER}\nStory number {i} is unique.\nok\n{FOOTER if i < 3 else 'End.'}"}
            for i in range(5)]
    out, stats = run(spark, tmp_path / "a", docs, max_docs=3, keep_first=True)
    assert out["d0"] == (docs[0]["text"], 0)  # smallest id keeps its copy
    assert out["d1"] == (f"Story number 1 is unique.\nok\n{FOOTER}", 1)  # the footer lines are in only 3 documents
    assert out["d4"] == ("Story number 4 is unique.\nok\nEnd.", 1)  # "ok" and "End." are shorter than min_chars
    assert stats["top_removed"] == [{"line": BANNER, "documents": 5, "removed_from": 4}]
    assert stats["units_removed"] == 4 and stats["documents_changed"] == 4


def test_paragraph_unit_without_keep_first(spark, tmp_path):
    docs = [{"id": f"p{i}", "text": f"Paragraph {i} of the story.\n\n{FOOTER}"} for i in range(4)]
    out, stats = run(spark, tmp_path / "b", docs, unit="paragraph", max_docs=2)
    assert out == {f"p{i}": (f"Paragraph {i} of the story.", 1) for i in range(4)}
    assert stats["top_removed"][0]["line"] == FOOTER.replace("\n", " ") and stats["documents_emptied"] == 0
