"""JSONL / Parquet / text readers: ids kept, compressed inputs, broken input becomes error rows."""
import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq

from curation.pipeline.spec import InputSpec
from curation.readers.file_source import READ_SCHEMA, list_files
from curation.readers.jsonl import jsonl_records
from curation.readers.text import text_records


def test_jsonl_records_keep_ids_metadata_and_report_bad_lines(tmp_path):
    p = tmp_path / "x.jsonl.gz"
    lines = [json.dumps({"id": 17, "text": "alpha", "url": "http://a", "lang": "en", "meta": {"k": 1}}),
             json.dumps({"text": "beta", "source": "wiki"}), "", "[1, 2]", json.dumps({"text": 5})]
    p.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    rows = list(jsonl_records(str(p), {}))
    assert [r["reason"] for r in rows] == [None, None, "error: no string 'text' field", "error: no string 'text' field"]
    assert rows[0]["id"] == "17" and rows[0]["url"] == "http://a"
    assert rows[0]["meta"]["extra"] == {"lang": "en", "meta": '{"k": 1}'}
    assert rows[1]["id"] == "x.jsonl.gz:2" and rows[1]["source"] == "wiki"
    assert [r["meta"]["record_offset"] for r in rows] == [1, 2, 4, 5]


def test_jsonl_oversized_document_is_an_error_row(tmp_path):
    p = tmp_path / "big.jsonl"
    p.write_text(json.dumps({"text": "x" * 5000}) + "\n" + json.dumps({"text": "small"}) + "\n")
    rows = list(jsonl_records(str(p), {"max_doc_bytes": 1000}))
    assert rows[0]["reason"].startswith("error: document larger than max_doc_bytes")
    assert rows[1]["text"] == "small"


def test_decompression_bomb_is_stopped(tmp_path):
    p = tmp_path / "bomb.jsonl.gz"
    p.write_bytes(gzip.compress((json.dumps({"text": "a" * 100}) + "\n").encode() * 200_000))  # ~22 MB inflated
    rows = list(jsonl_records(str(p), {"max_file_bytes": 1_000_000}))  # the lines before the cap stand
    assert "exceeds max_file_bytes" in rows[-1]["reason"] and 9_000 < len(rows) < 11_000
    assert all(r["reason"] is None for r in rows[:-2])


def test_text_records_reject_invalid_utf8(tmp_path):
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_text("Plain text document.\n")
    bad.write_bytes(b"caf\xe9 au lait")
    assert list(text_records(str(good), {}))[0]["text"] == "Plain text document.\n"
    assert list(text_records(str(bad), {}))[0]["reason"] == "error: invalid UTF-8 at byte 3"
    assert list(text_records(str(bad), {"errors": "replace"}))[0]["text"] == "caf\ufffd au lait"


def test_list_files_globs_dirs_and_skips_hidden(tmp_path):
    (tmp_path / "d").mkdir()
    for n in ("a.jsonl", "b.jsonl", "_SUCCESS", ".hidden"):
        (tmp_path / "d" / n).write_text("{}")
    assert [f.rsplit("/", 1)[1] for f in list_files(str(tmp_path / "d"))] == ["a.jsonl", "b.jsonl"]
    assert [f.rsplit("/", 1)[1] for f in list_files(str(tmp_path / "d" / "*.jsonl"))] == ["a.jsonl", "b.jsonl"]
    assert list_files(str(tmp_path / "nothing*")) == []


def test_parquet_reader_keeps_ids_and_rejects_null_text(spark, tmp_path):
    from curation.readers.parquet import read_parquet

    t = pa.table({"id": ["a", "b", "c"], "text": ["one", None, "three"], "url": ["u1", "u2", "u3"], "score": [1, 2, 3]})
    pq.write_table(t, tmp_path / "in.parquet")
    df = read_parquet(spark, InputSpec(format="parquet", path=str(tmp_path / "in.parquet"), source="pq"))
    rows = sorted(df.collect(), key=lambda r: r["id"])
    assert df.schema.fieldNames() == READ_SCHEMA.names
    assert [(r["id"], r["text"], r["source"], r["url"], r["reason"]) for r in rows] == [
        ("a", "one", "pq", "u1", None), ("b", None, "pq", "u2", "error: null text"), ("c", "three", "pq", "u3", None)]


def test_parquet_ingest_splits_kept_and_rejected_without_a_copy(spark, tmp_path):
    from curation.pipeline.runner import Runner
    from curation.pipeline.spec import load_spec
    from curation.pipeline.storage import read_parquet as read_stage

    t = pa.table({"id": [f"d{i}" for i in range(50)], "text": [None if i % 10 == 3 else f"doc {i}" for i in range(50)]})
    pq.write_table(t, tmp_path / "in.parquet", row_group_size=20)
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(f"out: {tmp_path / 'run'}\ninputs:\n  - {{format: parquet, path: {tmp_path / 'in.parquet'}}}\n"
                         "stages:\n  ingest: {}\n")
    result = Runner(load_spec(spec_path), spark, log=lambda m: None).run()
    stats = result.outcomes[0].stats
    assert (stats["in"], stats["kept"], stats["rejected"]) == (50, 45, 5)
    assert stats["reasons"] == {"error: null text": 5}
    kept = read_stage(spark, str(tmp_path / "run" / "ingest"))
    assert "reason" not in kept.columns and kept.where("text IS NULL").count() == 0
    rejected = read_stage(spark, str(tmp_path / "run" / "rejected" / "ingest"))
    assert sorted(r["id"] for r in rejected.collect()) == ["d13", "d23", "d3", "d33", "d43"]
    assert not (tmp_path / "run" / "_tmp").exists()


def test_parquet_ingest_without_null_texts_counts_from_footers_and_reads_in_place(spark, tmp_path):
    """No null text in the footers' statistics: nothing to reject, no job at ingest; integer ids become strings,
    and a missing id column gives file:row ids whatever the splits."""
    from curation.pipeline.runner import Runner
    from curation.pipeline.spec import load_spec

    pq.write_table(pa.table({"id": list(range(30)), "body": [f"doc {i}" for i in range(30)], "x": [1.5] * 30}),
                   tmp_path / "a.parquet", row_group_size=8)
    pq.write_table(pa.table({"body": ["no id here", "nor here"]}), tmp_path / "b.parquet")
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(f"out: {tmp_path / 'run'}\ninputs:\n"
                         f"  - {{format: parquet, path: {tmp_path / 'a.parquet'}, options: {{text_field: body}}}}\n"
                         f"  - {{format: parquet, path: {tmp_path / 'b.parquet'}, options: {{text_field: body}}}}\n"
                         "stages:\n  ingest: {}\n  keep:\n    type: select\n"
                         "    rules: [{keep_if: \"text NOT LIKE '%here'\", reason: here}]\n")
    result = Runner(load_spec(spec_path), spark, log=lambda m: None).run()
    ingest = result.outcomes[0].stats
    assert ingest["lazy"] is True and (ingest["in"], ingest["kept"], ingest["rejected"]) == (32, 32, 0)
    assert not (tmp_path / "run" / "rejected" / "ingest").exists()  # nothing rejected, nothing written
    kept = pq.read_table(sorted((tmp_path / "run" / "keep").glob("*.parquet"))).to_pylist()
    assert sorted(r["id"] for r in kept) == sorted(str(i) for i in range(30))
    rejected = pq.read_table(sorted((tmp_path / "run" / "rejected" / "keep").glob("*.parquet"))).to_pylist()
    assert sorted(r["id"] for r in rejected) == ["input1/b.parquet:0", "input1/b.parquet:1"]


def test_spec_source_wins_over_record_source(spark, tmp_path):
    from curation.readers.file_source import read_files

    p = tmp_path / "s.jsonl"
    p.write_text(json.dumps({"text": "a", "source": "Common Crawl dump"}) + "\n" + json.dumps({"text": "b"}) + "\n")
    rows = read_files(spark, [str(p)], jsonl_records, {}, "web", "jsonl").collect()
    assert [r["source"] for r in rows] == ["web", "web"]
    assert rows[0]["meta"]["extra"] == {"source": "Common Crawl dump"}
    rows = read_files(spark, [str(p)], jsonl_records, {}, None, "jsonl").collect()
    assert [r["source"] for r in rows] == ["Common Crawl dump", None]
