"""Spec loading, overrides and one-line validation errors (no Spark needed)."""
import subprocess
import sys
from pathlib import Path

import pytest

from curation.pipeline.spec import SpecError, apply_override, check_inputs, dump_spec, load_spec, validate_spec

SPEC = """
out: runs/x
seed: 3
spark: {master: "local[2]", conf: {spark.sql.shuffle.partitions: 8}}
inputs:
  - {format: jsonl, path: INPUT, source: web}
stages:
  ingest: {}
  keep_long:
    type: select
    rules: [{keep_if: "length(text) > 10", reason: short}]
"""


@pytest.fixture
def spec_file(tmp_path):
    (tmp_path / "in.jsonl").write_text('{"text": "hello world, a document"}\n')
    p = tmp_path / "spec.yaml"
    p.write_text(SPEC.replace("INPUT", str(tmp_path / "*.jsonl")))
    return p


def test_valid_spec_loads_in_order(spec_file):
    spec = load_spec(spec_file)
    assert spec.stage_names() == ["ingest", "keep_long"]
    assert spec.stages[1].type == "select"
    assert spec.spark.conf["spark.sql.shuffle.partitions"] == "8"
    check_inputs(spec)


def test_overrides_reach_nested_keys_and_parse_values(spec_file):
    spec = load_spec(spec_file, ["out=/data/x", "seed=11", "stages.keep_long.rules.0.reason=too_short",
                                 "inputs.0.options.max_doc_bytes=1000"])
    assert spec.out == "/data/x" and spec.seed == 11
    assert spec.stages[1].params["rules"][0]["reason"] == "too_short"
    assert spec.inputs[0].options == {"max_doc_bytes": 1000}
    # the resolved spec round-trips
    again = validate_spec(__import__("yaml").safe_load(dump_spec(spec)))
    assert again == spec


@pytest.mark.parametrize("override, key", [
    ("stages.keep_long.rulez=1", "stages.keep_long.rulez: unknown key"),
    ("stages.keep_long.rules=[]", "stages.keep_long.rules"),
    ("seed=abc", "seed:"),
    ("inputs.0.format=xml", "inputs.0.format:"),
    ("stages.extra.type=nonsense", "stages.extra.type: unknown stage type 'nonsense'"),
    ("spark.masterr=local", "spark.masterr: unknown key"),
])
def test_invalid_values_name_the_key_in_one_line(spec_file, override, key):
    with pytest.raises(SpecError) as err:
        load_spec(spec_file, [override])
    msg = str(err.value)
    assert key in msg
    assert "\n" not in msg


def test_missing_required_key(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("inputs: []\nstages: {ingest: {}}\n")
    with pytest.raises(SpecError, match="out: required key is missing"):
        load_spec(p)


def test_bad_override_syntax(spec_file):
    with pytest.raises(SpecError, match="expected KEY=VALUE"):
        load_spec(spec_file, ["seed"])
    with pytest.raises(SpecError, match="not an index"):
        load_spec(spec_file, ["inputs.5.path=x"])


def test_apply_override_creates_sections():
    doc = {"stages": {"minhash": None}}
    apply_override(doc, "stages.minhash.threshold=0.7")
    assert doc == {"stages": {"minhash": {"threshold": 0.7}}}


def test_missing_input_path_is_a_clear_error(spec_file):
    spec = load_spec(spec_file, ["inputs.0.path=/definitely/not/here/*.jsonl"])
    with pytest.raises(SpecError, match=r"inputs.0.path: no files match /definitely/not/here/\*.jsonl"):
        check_inputs(spec)


def test_cli_reports_spec_errors_in_one_line_without_java(spec_file):
    """The CLI fails before starting Spark: exit code 2 and a single stderr line naming the key."""
    curate = Path(sys.executable).with_name("curate")
    for override, key in [("stages.keep_long.rulez=1", "stages.keep_long.rulez"),
                          ("inputs.0.path=/nope/*.jsonl", "inputs.0.path")]:
        proc = subprocess.run([str(curate), "run", str(spec_file), "--set", override],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2
        lines = [l for l in proc.stderr.splitlines() if l.strip()]
        assert len(lines) == 1 and key in lines[0] and lines[0].startswith("error:")
        assert "java" not in proc.stderr.lower() and "Traceback" not in proc.stderr
