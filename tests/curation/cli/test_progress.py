"""Progress lines: counts with an ETA, and a stage's document count that never goes backwards although the stage
runs several Spark jobs (the task counts of each job would: 4/4, then 0/4)."""
import json
import re
import time
from pathlib import Path

from curation.pipeline.registry import STAGES
from curation.pipeline.runner import Runner
from curation.pipeline.spec import load_spec
from curation.pipeline.stage import Stage, StageResult
from curation.runtime.progress import Progress


class SlowTwoJobStage(Stage):
    """Counts its input in one job (slowly, batch by batch), then lets the runner write it in another."""

    type_name = "slow_two_jobs"

    def apply(self, df, ctx):
        def slow(batches):
            for b in batches:
                time.sleep(0.4)
                yield b

        slowed = df.repartition(4).mapInArrow(slow, df.schema)
        slowed.count()
        return StageResult(kept=slowed, rejected=None)


def test_stage_progress_counts_documents_and_never_goes_backwards(spark, tmp_path, monkeypatch):
    monkeypatch.setitem(STAGES, "slow_two_jobs", f"{__name__}:SlowTwoJobStage")
    rows = [json.dumps({"id": f"d{i}", "text": f"document {i}"}) for i in range(4000)]
    (tmp_path / "in.jsonl").write_text("\n".join(rows) + "\n")
    (tmp_path / "spec.yaml").write_text(
        f"out: {tmp_path}/run\ninputs: [{{format: jsonl, path: {tmp_path}/in.jsonl}}]\n"
        "stages: {ingest: {}, slow: {type: slow_two_jobs}}\n")
    lines: list[str] = []
    Runner(load_spec(tmp_path / "spec.yaml"), spark, log=lines.append, progress_every=0.3,
           progress_bar=False).run()
    counts = [int(m.group(1).replace(",", "")) for line in lines
              if (m := re.match(r"\s+\[slow\] ([\d,]+) / 4,000 documents \(\d+%\)", line))]
    assert len(counts) >= 3, lines
    assert counts == sorted(counts) and counts[-1] <= 4000
    assert counts[-1] == 4000
    assert any("ETA" in line for line in lines if line.lstrip().startswith("[slow]"))


def test_progress_lines_carry_count_total_and_eta():
    lines: list[str] = []
    with Progress("eval", total=1000, unit="pairs", every=0.0, printer=lines.append, bar=False) as p:
        for _ in range(4):
            time.sleep(0.05)
            p.advance(100)
        p.update(200)  # a smaller count is ignored: progress never goes backwards
    assert re.fullmatch(r"  \[eval\] 100 / 1,000 pairs \(10%\)  0s, ETA \d+s", lines[0])
    assert lines[-1].startswith("  [eval] 400 / 1,000 pairs (40%)")
