"""Runner: atomic commits, resume, fingerprints, reconciliation, and a kill mid-pipeline."""
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import zstandard

from curation.pipeline.errors import ReconciliationError
from curation.pipeline.registry import STAGES
from curation.pipeline.runner import Runner
from curation.pipeline.spec import load_spec
from curation.pipeline.stage import Stage, StageParams, StageResult
from tests.paths import REPO

WORDS = "the river ran past old mills where grain was ground for the town bakers each autumn".split()


def write_inputs(d: Path, n_per_file: int = 300) -> None:
    """Three JSONL inputs (plain, gzip, zstd) with ids, plus broken lines, in ``d``."""
    lines = []
    for i in range(n_per_file):
        k = i % len(WORDS) + 3
        lines.append(json.dumps({"id": f"p{i}", "text": " ".join(WORDS[:k]) + f" {i}", "url": f"http://x/{i}"}))
    lines.append("{broken json")
    (d / "a.jsonl").write_text("\n".join(lines) + "\n")
    gz = [json.dumps({"text": f"gz doc {i} " + " ".join(WORDS[: i % 10 + 1])}) for i in range(n_per_file)]
    (d / "b.jsonl.gz").write_bytes(gzip.compress(("\n".join(gz) + "\n").encode()))
    zs = [json.dumps({"id": f"z{i}", "text": f"zstd doc {i} " + " ".join(WORDS[: i % 12 + 1]), "source": "zsrc"})
          for i in range(n_per_file)]
    (d / "c.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(("\n".join(zs) + "\n").encode()))
    (d / "d.jsonl").write_bytes(b'{"text": "bad \xff\xfe utf8"}\n{"id": "ok1", "text": "fine document text"}\n')


SPEC = """
out: {out}
seed: 7
inputs:
  - {{format: jsonl, path: "{inp}/*.jsonl*", source: test}}
stages:
  ingest: {{}}
  long_enough:
    type: select
    rules: [{{keep_if: "length(text) >= 30", reason: short}}]
  half:
    type: sample
    fraction: 0.5
"""


def make_spec(tmp_path: Path, out: Path, n_per_file: int = 300) -> Path:
    inp = tmp_path / "in"
    if not inp.exists():
        inp.mkdir()
        write_inputs(inp, n_per_file)
    p = tmp_path / f"spec-{out.name}.yaml"
    p.write_text(SPEC.format(out=out, inp=inp))
    return p


def read_ids(d: Path) -> list[str]:
    files = sorted(d.glob("*.parquet"))
    return sorted(i for f in files for i in pq.read_table(f, columns=["id"]).column("id").to_pylist())


def test_run_writes_stages_rejects_and_reconciled_ledger(spark, tmp_path):
    out = tmp_path / "run"
    res = Runner(load_spec(make_spec(tmp_path, out)), spark, log=lambda m: None).run()
    ledger = json.loads((out / "ledger.json").read_text())
    assert ledger["reconciled"] is True
    st = {s["stage"]: s for s in ledger["stages"]}
    # 900 good docs + 1 good from d.jsonl; broken JSON line and invalid UTF-8 line are rejected with reasons
    assert st["ingest"]["kept"] == 901 and st["ingest"]["rejected"] == 2
    assert set(st["ingest"]["reasons"]) == {"error: invalid JSON: Expecting property name enclosed in double quotes",
                                            "error: invalid UTF-8: invalid start byte"}
    for name in ("ingest", "long_enough", "half"):
        assert (out / name / "_SUCCESS").exists()
        stats = json.loads((out / name / "stats.json").read_text())
        assert stats["in"] == stats["kept"] + stats["rejected"]
        assert len(read_ids(out / name)) == stats["kept"]
        if stats["rejected"]:
            rej = pq.read_table(sorted((out / "rejected" / name).glob("*.parquet")))
            assert rej.num_rows == stats["rejected"]
            assert set(rej.column("stage").to_pylist()) == {name}
            assert None not in rej.column("reason").to_pylist()
    assert st["long_enough"]["in"] == st["ingest"]["kept"]
    assert ledger["documents_in"] == ledger["documents_kept"] + ledger["documents_rejected"]
    # input ids are kept; missing ids get stable <source>/<file under the input root>:line ids
    ids = read_ids(out / "ingest")
    assert "p0" in ids and "z5" in ids and "ok1" in ids and "test/b.jsonl.gz:1" in ids
    assert res.final_path().endswith("/half")
    assert not (out / "_tmp").exists()
    assert (out / "spec.yaml").exists() and "Run report" in (out / "report.md").read_text()


def test_rerun_skips_completed_and_param_change_recomputes_downstream(spark, tmp_path):
    out = tmp_path / "run"
    spec_path = make_spec(tmp_path, out)
    Runner(load_spec(spec_path), spark, log=lambda m: None).run()
    before = {n: (out / n / "stats.json").stat().st_mtime_ns for n in ("ingest", "long_enough", "half")}
    logs = []
    res = Runner(load_spec(spec_path), spark, log=logs.append).run()
    assert all(o.resumed for o in res.outcomes)
    assert {n: (out / n / "stats.json").stat().st_mtime_ns for n in before} == before
    res = Runner(load_spec(spec_path, ["stages.long_enough.rules.0.keep_if=length(text) >= 40"]), spark,
                 log=logs.append).run()
    assert [o.resumed for o in res.outcomes] == [True, False, False]
    assert (out / "ingest" / "stats.json").stat().st_mtime_ns == before["ingest"]
    res = Runner(load_spec(spec_path), spark, log=logs.append, force=True).run()
    assert not any(o.resumed for o in res.outcomes)


def test_interrupted_commit_leftovers_are_cleaned_and_recomputed(spark, tmp_path):
    out = tmp_path / "run"
    spec_path = make_spec(tmp_path, out)
    Runner(load_spec(spec_path), spark, log=lambda m: None).run()
    want = read_ids(out / "half")
    want_rej = read_ids(out / "rejected" / "long_enough")
    # Simulate a crash after the rejected folder was renamed but before the kept folder was committed,
    # with a half-written temp folder lying around.
    import shutil

    shutil.rmtree(out / "long_enough")
    (out / "_tmp" / "long_enough-deadbeef" / "kept").mkdir(parents=True)
    (out / "_tmp" / "long_enough-deadbeef" / "kept" / "part-00000.parquet").write_bytes(b"garbage")
    res = Runner(load_spec(spec_path), spark, log=lambda m: None).run()
    assert [o.resumed for o in res.outcomes] == [True, False, False]
    assert read_ids(out / "half") == want
    assert read_ids(out / "rejected" / "long_enough") == want_rej
    assert not (out / "_tmp").exists()


def test_same_inputs_and_seed_give_identical_outputs(spark, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    Runner(load_spec(make_spec(tmp_path, a)), spark, log=lambda m: None).run()
    Runner(load_spec(make_spec(tmp_path, b)), spark, log=lambda m: None).run()
    for stage in ("ingest", "long_enough", "half"):
        fa, fb = sorted((a / stage).glob("*.parquet")), sorted((b / stage).glob("*.parquet"))
        assert [f.name for f in fa] == [f.name for f in fb]
        assert [pq.read_table(f).to_pylist() for f in fa] == [pq.read_table(f).to_pylist() for f in fb]
        assert [f.read_bytes() for f in fa] == [f.read_bytes() for f in fb]  # across JVMs: test_parquet_footer.py


class _LosingParams(StageParams):
    pass


class LosingStage(Stage):
    """A broken stage that silently drops documents: the runner must refuse to commit it."""

    type_name = "losing"
    Params = _LosingParams

    def apply(self, df, ctx):
        return StageResult(kept=df.limit(3))


def test_runner_refuses_a_stage_that_loses_documents(spark, tmp_path, monkeypatch):
    monkeypatch.setitem(STAGES, "losing", f"{__name__}:LosingStage")
    out = tmp_path / "run"
    spec_path = make_spec(tmp_path, out)
    spec = load_spec(spec_path, ["stages.lose.type=losing"])
    with pytest.raises(ReconciliationError, match=r"stage lose: in \d+ != kept 3 \+ rejected 0; documents were lost"):
        Runner(spec, spark, log=lambda m: None).run()
    assert not (out / "lose").exists()  # nothing committed


def test_kill_mid_pipeline_then_resume(spark, tmp_path):
    """SIGKILL `curate run` once the first stage committed; the rerun resumes without recomputing it and the
    outputs equal an uninterrupted run's (no duplicate or missing rows)."""
    ref = tmp_path / "ref"
    Runner(load_spec(make_spec(tmp_path, ref)), spark, log=lambda m: None).run()
    out = tmp_path / "killed"
    spec_path = make_spec(tmp_path, out)
    curate = Path(sys.executable).with_name("curate")
    proc = subprocess.Popen([str(curate), "run", str(spec_path), "--master", "local[1]"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 180
        while not (out / "ingest" / "_SUCCESS").exists() or not (out / "ingest" / "stats.json").exists():
            assert proc.poll() is None, "curate run ended before the first commit"
            assert time.time() < deadline
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    ingest_stats = (out / "ingest" / "stats.json").read_bytes()
    ingest_mtime = (out / "ingest" / "stats.json").stat().st_mtime_ns
    res = Runner(load_spec(spec_path), spark, log=lambda m: None).run()
    assert res.outcomes[0].resumed
    assert (out / "ingest" / "stats.json").read_bytes() == ingest_stats
    assert (out / "ingest" / "stats.json").stat().st_mtime_ns == ingest_mtime
    for stage in ("ingest", "long_enough", "half"):
        got, want = read_ids(out / stage), read_ids(ref / stage)
        assert got == want and len(got) == len(set(got))
        if (ref / "rejected" / stage).exists():
            assert read_ids(out / "rejected" / stage) == read_ids(ref / "rejected" / stage)
    assert json.loads((out / "ledger.json").read_text())["reconciled"]


def test_spark_submit_runs_the_same_entry_point(spark, tmp_path):
    """`spark-submit curation/cli/app.py run SPEC` gives the same outputs as the embedded runner, on submit's master."""
    ref = tmp_path / "ref"
    Runner(load_spec(make_spec(tmp_path, ref)), spark, log=lambda m: None).run()
    out = tmp_path / "submitted"
    spec_path = make_spec(tmp_path, out)
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
           "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run([str(bindir / "spark-submit"), "--master", "local[1]", "--driver-memory", "1g",
                           str(REPO / "curation" / "cli" / "app.py"), "run", str(spec_path),
                           "--set", "spark.master=local[2]"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "reconciled: True" in proc.stdout
    assert "spark: master local[1]" in proc.stdout  # the submit-time master wins over the spec's
    for stage in ("ingest", "long_enough", "half"):
        assert read_ids(out / stage) == read_ids(ref / stage)


def test_cli_runs_several_specs_in_one_session_and_stops_at_a_failure(spark, tmp_path, monkeypatch):
    """`curate run A B` runs both in the live session: outputs equal separate runs'; B's spark.conf holds while B
    runs and is put back after; a master or static setting B cannot get is named. A failing spec stops the batch: those before it are
    committed, those after it do not run."""
    from typer.testing import CliRunner

    from curation.cli.app import app

    ref = tmp_path / "ref"
    Runner(load_spec(make_spec(tmp_path, ref)), spark, log=lambda m: None).run()
    a, b = make_spec(tmp_path, tmp_path / "a"), make_spec(tmp_path, tmp_path / "b")
    b.write_text(b.read_text() + "spark:\n  master: local[1]\n"
                 "  conf: {spark.sql.shuffle.partitions: '3', spark.sql.warehouse.dir: /tmp/elsewhere}\n")
    before = spark.conf.get("spark.sql.shuffle.partitions")
    seen = []
    real_run = Runner.run

    def run_and_look(self):
        seen.append(spark.conf.get("spark.sql.shuffle.partitions"))
        return real_run(self)

    monkeypatch.setattr(Runner, "run", run_and_look)  # observes the session's setting as each spec starts
    done = CliRunner().invoke(app, ["run", str(a), str(b)])
    monkeypatch.undo()
    assert done.exit_code == 0, done.output
    assert "2 pipelines run in one Spark session" in done.output
    assert "spark.master 'local[1]' not applied" in done.output
    assert "spark.conf spark.sql.warehouse.dir not applied (fixed when the session started)" in done.output
    assert seen == [before, "3"] and spark.conf.get("spark.sql.shuffle.partitions") == before
    for out in (tmp_path / "a", tmp_path / "b"):
        assert json.loads((out / "ledger.json").read_text())["reconciled"]
        for stage in ("ingest", "long_enough", "half"):
            assert read_ids(out / stage) == read_ids(ref / stage)

    broken = make_spec(tmp_path, tmp_path / "broken")
    broken.write_text(broken.read_text().replace("length(text) >= 30", "no_such_column > 1"))
    c = make_spec(tmp_path, tmp_path / "c")
    done = CliRunner().invoke(app, ["run", str(a), str(broken), str(c), "--force"])
    assert done.exit_code == 1
    assert "no_such_column" in done.output
    assert json.loads((tmp_path / "a" / "ledger.json").read_text())["reconciled"]
    assert not (tmp_path / "broken" / "long_enough").exists() and not (tmp_path / "c").exists()


def test_run_pipeline_from_python_in_the_live_session(spark, tmp_path, monkeypatch):
    """run_pipeline takes a spec file with overrides, or a spec mapping; it runs in the active session (the same
    outputs as the Runner's), the spec's spark.conf holds during the run and is put back after, a master the session
    does not have is named, a rerun skips finished stages, and a missing input fails before anything runs."""
    import yaml

    from curation import run_pipeline
    from curation.pipeline.spec import SpecError

    ref = tmp_path / "ref"
    Runner(load_spec(make_spec(tmp_path, ref)), spark, log=lambda m: None).run()
    path = make_spec(tmp_path, tmp_path / "unused")
    doc = yaml.safe_load(path.read_text())
    doc["out"] = str(tmp_path / "from_dict")
    doc["spark"] = {"master": "local[1]", "conf": {"spark.sql.shuffle.partitions": "3"}}
    before = spark.conf.get("spark.sql.shuffle.partitions")
    seen, lines = [], []
    real_run = Runner.run

    def run_and_look(self):
        seen.append((self.spark is spark, spark.conf.get("spark.sql.shuffle.partitions")))
        return real_run(self)

    monkeypatch.setattr(Runner, "run", run_and_look)
    result = run_pipeline(doc, log=lines.append)
    assert seen == [(True, "3")] and spark.conf.get("spark.sql.shuffle.partitions") == before
    assert any("spark.master 'local[1]' not applied" in line for line in lines)
    assert result.ledger["reconciled"] and result.final_path() == f"{tmp_path / 'from_dict'}/half"
    from_file = run_pipeline(path, [f"out={tmp_path / 'from_file'}"], log=lambda m: None)
    for out in (tmp_path / "from_dict", tmp_path / "from_file"):
        for stage in ("ingest", "long_enough", "half"):
            assert read_ids(out / stage) == read_ids(ref / stage)
    lines.clear()
    again = run_pipeline(path, [f"out={tmp_path / 'from_file'}"], log=lines.append)
    assert again.ledger["reconciled"]
    assert [line.split("]")[0] for line in lines if "done earlier, skipping" in line] == [
        "[ingest", "[long_enough", "[half"], lines
    with pytest.raises(SpecError, match="no files match"):
        run_pipeline(path, [f"out={tmp_path / 'nothing'}", f"inputs.0.path={tmp_path / 'none'}/*.jsonl"])
    assert not (tmp_path / "nothing").exists()
