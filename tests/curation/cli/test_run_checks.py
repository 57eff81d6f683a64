"""`curate run` / `curate validate` refuse what would fail silently or late: inputs that yield nothing readable,
too many failed input files, missing models / mix files / tokenizers, paths that depend on the working directory,
several specs writing into one `out`."""
import gzip
import json
import os
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from curation.cli.app import app
from curation.pipeline.spec import load_spec
from tests.paths import REPO

SPEC = """
out: {out}
inputs:
  - {{format: jsonl, path: "{inp}", source: test}}
stages:
  ingest: {{}}
  long:
    type: select
    rules: [{{keep_if: "length(text) >= 5", reason: short}}]
"""


def _docs(n: int, tag: str) -> str:
    return "\n".join(json.dumps({"id": f"{tag}{i}", "text": f"document {tag} number {i} of the set"})
                     for i in range(n)) + "\n"


def _spec(tmp_path: Path, name: str, inp: str, out: Path) -> Path:
    p = tmp_path / f"{name}.yaml"
    p.write_text(SPEC.format(out=out, inp=inp))
    return p


def test_plain_json_under_a_gz_name_reads_nothing_and_exits_non_zero(spark, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "docs.jsonl.gz").write_text(_docs(20, "p"))  # plain JSON under a .gz name
    spec = _spec(tmp_path, "s", f"{tmp_path}/in/*.jsonl.gz", tmp_path / "run")
    result = CliRunner().invoke(app, ["run", str(spec)])
    assert result.exit_code == 1, result.output
    assert "no readable document in the inputs" in result.output
    assert "docs.jsonl.gz: error:" in result.output and "gzip" in result.output.lower()  # the file's reason
    assert (tmp_path / "run" / "rejected" / "ingest").is_dir()  # the rows are still recorded
    ledger = json.loads((tmp_path / "run" / "ledger.json").read_text())
    assert ledger["documents_in"] == 1 and ledger["documents_kept"] == 0
    assert not (tmp_path / "run" / "long").exists()  # the run stopped after its source stage


def test_more_than_the_allowed_share_of_failed_files_exits_non_zero(spark, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl.gz").write_bytes(gzip.compress(_docs(10, "a").encode()))
    for name in ("b", "c"):
        (tmp_path / "in" / f"{name}.jsonl.gz").write_text(_docs(10, name))
    spec = _spec(tmp_path, "s", f"{tmp_path}/in/*.jsonl.gz", tmp_path / "run")
    result = CliRunner().invoke(app, ["run", str(spec)])
    assert result.exit_code == 1, result.output
    assert "2 of 3 input files failed (67% > max_failed_file_share 0.5)" in result.output
    assert "b.jsonl.gz: error:" in result.output and "c.jsonl.gz: error:" in result.output
    result = CliRunner().invoke(app, ["run", str(spec), "--set", "max_failed_file_share=0.7"])
    assert result.exit_code == 0, result.output
    stats = json.loads((tmp_path / "run" / "ingest" / "stats.json").read_text())
    assert stats["extra"]["input_files"]["failed"] == 2 and stats["extra"]["input_files"]["files"] == 3


def test_several_specs_with_one_out_each_get_their_own_folder(spark, tmp_path):
    (tmp_path / "in.jsonl").write_text(_docs(5, "x"))
    a = _spec(tmp_path, "first", str(tmp_path / "in.jsonl"), tmp_path / "a")
    b = _spec(tmp_path, "second", str(tmp_path / "in.jsonl"), tmp_path / "b")
    result = CliRunner().invoke(app, ["run", str(a), str(b), "--set", f"out={tmp_path}/both"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "both" / "first" / "ledger.json").is_file()
    assert (tmp_path / "both" / "second" / "ledger.json").is_file()
    assert not (tmp_path / "both" / "ledger.json").exists()


def test_validate_loads_the_model_mix_and_tokenizer_a_spec_names(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["validate", str(REPO / "pipelines" / "quality.yaml"),
                                 "--set", f"inputs.0.path={REPO}/pipelines/*.yaml",
                                 "--set", f"stages.quality.model={tmp_path}/no-model"])
    assert result.exit_code == 2
    assert f"stages.quality.model: model directory not found: {tmp_path}/no-model" in result.output
    demo = [str(REPO / "pipelines" / "demo.yaml"), *(f"--set=inputs.{i}.path={REPO}/pipelines/*.yaml"
                                                     for i in range(3))]
    result = runner.invoke(app, ["validate", *demo, "--set", f"stages.shards.mix={tmp_path}/nomix.yaml"])
    assert result.exit_code == 2 and f"mix file not found: {tmp_path}/nomix.yaml" in result.output
    (tmp_path / "bad.json").write_text("{not a tokenizer")
    result = runner.invoke(app, ["validate", *demo, "--set", "stages.tokenize.train_vocab_size=null",
                                 "--set", f"stages.tokenize.tokenizer={tmp_path}/bad.json"])
    assert result.exit_code == 2 and f"stages.tokenize.tokenizer: cannot load {tmp_path}/bad.json" in result.output
    result = runner.invoke(app, ["validate", *demo])  # the tokenize stage trains the tokenizer the shards read
    assert result.exit_code == 0, result.output


def test_relative_paths_resolve_against_the_spec_file(tmp_path, monkeypatch):
    d = tmp_path / "project" / "specs"
    d.mkdir(parents=True)
    (d / "spec.yaml").write_text("out: ../runs/x\ninputs: [{format: jsonl, path: 'data/*.jsonl'}]\n"
                                 "stages: {ingest: {}, tokenize: {tokenizer: '{out}/tok.json', train_vocab_size: 300}}\n")
    monkeypatch.chdir(tmp_path)
    spec = load_spec("project/specs/spec.yaml")
    assert spec.out == "project/runs/x" and spec.inputs[0].path == "project/specs/data/*.jsonl"
    assert spec.stages[1].params["tokenizer"] == "project/runs/x/tok.json"  # {out}: in the run directory
    spec = load_spec("project/specs/spec.yaml", ["out=elsewhere", "inputs.0.path=mine.jsonl"])
    assert spec.out == "elsewhere" and spec.inputs[0].path == "mine.jsonl"  # --set: the working directory's
    assert spec.stages[1].params["tokenizer"] == "elsewhere/tok.json"


def test_shipped_specs_keep_every_output_under_out_from_the_repo_root(monkeypatch):
    monkeypatch.chdir(REPO)
    for name in ("demo", "dedup", "quality", "web", "pdf"):
        spec = load_spec(f"pipelines/{name}.yaml")
        assert spec.out == f"runs/{name}", name
        for s in spec.stages:
            for key in ("tokenizer",):
                if s.type == "tokenize":
                    assert os.path.commonpath([s.params[key], spec.out]) == spec.out
    demo = yaml.safe_load(Path(REPO / "pipelines" / "demo.yaml").read_text())
    spec = load_spec("pipelines/demo.yaml")
    assert spec.inputs[0].path == "sample/warc/*.warc.gz" and demo["inputs"][0]["path"].startswith("../")
    assert spec.stages[-1].params["mix"] == "mixes/demo.yaml"
    assert load_spec("pipelines/quality.yaml").inputs[0].path == "../shared/data/corpora/web.jsonl.zst"
