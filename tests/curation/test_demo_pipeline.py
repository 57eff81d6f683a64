"""End to end: the built-in sample through pipelines/demo.yaml, as `make demo` runs it."""
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from curation.pipeline.runner import Runner
from curation.pipeline.spec import load_spec
from curation.sample.corpus import demo_overrides, write_sample
from curation.shards.format import open_shard, read_manifest
from tests.paths import REPO


@pytest.fixture(scope="module")
def demo_run(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    write_sample(str(root / "sample"))
    spec = load_spec(REPO / "pipelines/demo.yaml", demo_overrides(root / "sample", root / "run", root / "tok"))
    Path(root / "tok").mkdir()
    Runner(spec, spark, log=lambda m: None).run()
    return root / "run", spec


def test_every_stage_has_parquet_stats_and_reconciles(demo_run):
    out, spec = demo_run
    ledger = json.loads((out / "ledger.json").read_text())
    assert ledger["reconciled"]
    assert [s["stage"] for s in ledger["stages"]] == spec.stage_names()
    for s in ledger["stages"]:
        d = out / s["stage"]
        assert (d / "_SUCCESS").exists()
        stats = json.loads((d / "stats.json").read_text())
        assert stats["in"] == stats["kept"] + stats["rejected"]
        rows = sum(pq.read_metadata(f).num_rows for f in d.glob("*.parquet"))
        if stats.get("lazy") == "annotations":  # minhash: the annotations of the documents that have a duplicate
            annotated = pq.read_table(sorted(d.glob("*.parquet"))).to_pylist()
            assert 0 < rows < stats["kept"]
            assert all((r["dup_cluster_size"] or 0) > 1 or r.get("exact_dup_of") for r in annotated)
        else:
            assert rows == stats["kept"]
    assert ledger["documents_in"] == ledger["documents_kept"] + ledger["documents_rejected"]


def test_broken_inputs_are_error_rows_and_duplicates_are_found(demo_run):
    out, _ = demo_run
    rej = pq.read_table(sorted((out / "rejected" / "ingest").glob("*.parquet"))).to_pylist()
    errors = [r for r in rej if r["reason"].startswith("error")]
    paths = {Path(r["meta"]["source_path"]).name for r in errors}
    assert "corrupt-truncated.pdf" in paths
    assert {"wiki.jsonl.gz", "forum.jsonl.gz"} <= paths  # invalid UTF-8 line, truncated JSON line
    # every planted duplicate pair (by URL for crawled pages, by id for JSONL) has exactly one survivor
    planted = json.loads((out.parent / "sample" / "manifest.json").read_text())["planted"]
    final = pq.read_table(sorted((out / "select").glob("*.parquet")), columns=["id", "url"]).to_pylist()
    alive = {r["id"] for r in final} | {r["url"] for r in final if r["url"]}
    for a, b in planted["exact_duplicates"] + planted["near_duplicates"]:
        if a == b:  # the same URL fetched twice
            assert sum(1 for r in final if r["url"] == a) == 1, a
        else:
            assert (a in alive) + (b in alive) == 1, (a, b)
    sel = json.loads((out / "select" / "stats.json").read_text())["reasons"]
    assert sel.get("heuristics", 0) >= 5

def test_pdf_scan_page_was_ocrd_and_shards_decode(demo_run):
    out, _ = demo_run
    docs = pq.read_table(sorted((out / "ingest").glob("*.parquet"))).to_pylist()
    pdfs = [d for d in docs if d["format"] == "pdf"]
    assert any("ocr" in (d["meta"]["page_methods"] or []) for d in pdfs)
    shards = out / "shards" / "_artifacts"
    manifests = list(shards.rglob("manifest.json"))
    assert manifests
    m = read_manifest(str(manifests[0].parent))
    total = 0
    for entry in m["shards"]:
        tokens, offsets = open_shard(str(manifests[0].parent / entry["bin"]), str(manifests[0].parent / entry["idx"]),
                                     np.dtype(m["dtype"]))
        assert len(offsets) == entry["documents"] + 1 and offsets[-1] == len(tokens)
        total += len(tokens)
    assert total > 10_000
