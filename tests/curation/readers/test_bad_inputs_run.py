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


def test_failed_stage_names_the_file_and_the_cause(spark, tmp_path):
    """Damage inside a Parquet file's data (its footer intact) fails the read in the JVM: the one-line message
    names the file and the JVM's underlying exception, not the py4j call."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curation.pipeline.errors import StageFailed

    (tmp_path / "in").mkdir()
    path = tmp_path / "in" / "damaged.parquet"
    pq.write_table(pa.table({"text": [f"document {i} " * 20 for i in range(2000)]}), path, compression="none")
    data = bytearray(path.read_bytes())
    data[len(data) // 3:len(data) // 3 + 200] = b"\xff" * 200
    path.write_bytes(bytes(data))
    spec = spec_from_mapping({"out": str(tmp_path / "out"), "inputs": [{"format": "parquet", "path": str(path.parent)}],
                              "stages": {"ingest": {}}})
    with pytest.raises(StageFailed) as err:
        Runner(spec, spark, log=lambda _: None).run()
    message = str(err.value)
    assert "damaged.parquet" in message and "An error occurred while calling" not in message, message
    assert re.search(r"(java|org)\.[\w.]+(Exception|Error)", message), message
