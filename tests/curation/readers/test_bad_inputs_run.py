"""The whole bad-input set through a run: the job finishes, every bad input is an error row naming its file and
cause, every good document is kept, ids are unique and do not depend on where the data lives."""
import re

import pytest

from curation.pipeline.runner import Runner
from curation.pipeline.spec import spec_from_mapping


def spec_for(root, out):
    return spec_from_mapping({
        "out": str(out),
        "inputs": [
            {"format": "jsonl", "path": str(root / "jsonl"), "options": {"max_doc_bytes": 1 << 20}},
            {"format": "warc", "path": str(root / "warc"), "source": "web", "options": {"extractor": "resiliparse"}},
            {"format": "parquet", "path": str(root / "parquet"), "source": "tables"},
            {"format": "pdf", "path": str(root / "pdf"), "source": "papers", "options": {"ocr": False}},
        ],
        "stages": {"ingest": {}},
    })


@pytest.mark.slow
def test_bad_inputs_become_error_rows_and_every_good_document_is_kept(spark, bad_set, tmp_path):
    root, markers, expect = bad_set
    result = Runner(spec_for(root, tmp_path / "run"), spark, log=lambda _: None).run()
    assert result.ledger["reconciled"] if "reconciled" in result.ledger else True
    kept = spark.read.parquet(str(tmp_path / "run/ingest/*.parquet")).select("id", "text", "source").collect()
    rejected = spark.read.parquet(str(tmp_path / "run/rejected/ingest/*.parquet")).select(
        "id", "reason", "meta.source_path").collect()
    found = {m for r in kept for m in re.findall(r"GOOD-\d+\b", r["text"] or "")}
    assert found == set(markers), sorted(set(markers) - found)[:10]
    for name, text in expect.items():
        rows = [r for r in rejected if r["source_path"].endswith("/" + name)]
        assert any(text in r["reason"] for r in rows), (name, [r["reason"] for r in rows])
        assert any(name in r["reason"] or name in r["id"] for r in rows), (name, rows)
    ids = [r["id"] for r in kept] + [r["id"] for r in rejected]
    assert len(ids) == len(set(ids))
    assert not any(str(root) in i for i in ids)  # ids are relative to the input's root
    assert {"input0/a/part-00000.jsonl:1", "input0/b/part-00000.jsonl:1"} <= set(ids)
    assert {r["source"] for r in kept} <= {None, "web", "tables", "papers"}
