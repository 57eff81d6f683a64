"""The heuristics stage on Spark over the real web corpus: annotation matches the pure function; per-rule stats."""
import json

from curation.pipeline.stage import StageContext
from curation.readers.file_source import read_files
from curation.readers.jsonl import jsonl_records
from curation.rules.sets import failed_rules
from curation.schema import DOC_SCHEMA
from curation.stages.heuristics import HeuristicStage
from tests.paths import shared_path


def test_stage_annotates_and_reports_per_rule_stats(spark, tmp_path):
    web = str(shared_path("corpora", "web.jsonl.zst"))
    docs = read_files(spark, [web], jsonl_records, {}, "web", "jsonl").where("reason IS NULL")
    docs = docs.select(*DOC_SCHEMA.names)
    stage = HeuristicStage(HeuristicStage.Params.model_validate(
        {"rules": {"gopher_quality": {}, "c4": {"min_sentences": 3}, "fineweb": {"max_short_line_ratio": None}}}))
    result = stage.apply(docs, StageContext(spark=spark, out=str(tmp_path), stage_name="heuristics"))
    assert result.rejected is None and result.combined is None
    result.kept.write.parquet(str(tmp_path / "kept"))
    kept = spark.read.parquet(str(tmp_path / "kept"))
    assert kept.columns == DOC_SCHEMA.names + ["heuristic_fails"]

    rows = kept.select("text", "heuristic_fails").collect()
    expected = failed_rules([r["text"] for r in rows], stage.params.rules).to_pylist()
    assert [r["heuristic_fails"] for r in rows] == expected

    stats = result.after_write(kept, None, str(tmp_path / "_artifacts"))["heuristics"]
    json.dumps(stats)  # goes to stats.json as is
    assert stats["documents"] == len(rows) == 717
    assert stats["failing_any"] == sum(1 for e in expected if e)
    rules = stats["rules"]
    assert set(rules) == set(stage.params.rules.rule_names())
    assert not any(name.startswith(("gopher_repetition", "fineweb.max_short_line")) for name in rules)
    for name, counts in rules.items():
        assert counts["failed"] == sum(name in e for e in expected)
        assert counts["failed"] + counts["passed"] == 717
        assert counts["only_failure"] == sum(e == [name] for e in expected)
    # Raw Common Crawl text: the length and sentence rules really fire.
    assert rules["gopher_quality.min_words"]["failed"] > 50 and rules["c4.min_sentences"]["failed"] > 50
