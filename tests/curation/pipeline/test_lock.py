"""The run lock: a second run on the same ``out`` is refused at once, naming the holder; a killed run's lock is
stale and taken over; concurrent runs never mix their outputs."""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from curation.pipeline.errors import RunLocked
from curation.pipeline.run_lock import LOCK_NAME, RunLock
from curation.pipeline.runner import Runner
from curation.pipeline.spec import spec_from_mapping
from tests.paths import REPO


def test_second_lock_is_refused_naming_the_holder_and_released_on_exit(tmp_path):
    with RunLock(str(tmp_path / "out")):
        with pytest.raises(RunLocked, match=f"pid {os.getpid()} on {socket.gethostname()}"):
            RunLock(str(tmp_path / "out")).acquire()
    assert not (tmp_path / "out" / LOCK_NAME).exists()
    with RunLock(str(tmp_path / "out")):  # free again
        pass


def test_lock_of_a_killed_run_is_stale_and_taken_over(tmp_path):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom curation.pipeline.run_lock import "
                               "RunLock\nRunLock(sys.argv[1]).acquire()\nprint('held', flush=True)\ntime.sleep(60)",
                               str(out)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(RunLocked, match=f"pid {holder.pid}"):
        RunLock(str(out)).acquire()
    holder.kill()
    holder.wait()
    assert (out / LOCK_NAME).exists()  # left behind by the killed run
    with RunLock(str(out)):
        assert f'"pid": {os.getpid()}' in (out / LOCK_NAME).read_text()


def _spec(inputs: Path, out: Path):
    return spec_from_mapping({"out": str(out), "inputs": [{"format": "jsonl", "path": str(inputs), "source": "web"}],
                              "stages": {"ingest": {}}})


def _inputs(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    for f in range(4):
        (d / f"part-{f}.jsonl").write_text("".join(f'{{"text": "document {f}-{i} with enough words to pass {"x" * i}"}}\n'
                                                   for i in range(2000)))
    return d


def test_runner_refuses_a_held_out_before_writing_anything(spark, tmp_path):
    out = tmp_path / "out"
    with RunLock(str(out)):
        t0 = time.monotonic()
        with pytest.raises(RunLocked, match="is in use by another run"):
            Runner(_spec(_inputs(tmp_path), out), spark, log=lambda _: None).run()
        assert time.monotonic() - t0 < 5
        assert os.listdir(out) == [LOCK_NAME]


def _files(d: Path) -> dict[str, list]:
    """Each output folder's rows by id (the runs ran in JVMs with different parallelism, which splits files
    differently)."""
    import pyarrow.parquet as pq

    rows: dict[str, list] = {}
    for p in sorted(d.rglob("*.parquet")):
        rows.setdefault(str(p.parent.relative_to(d)), []).extend(pq.read_table(p).to_pylist())
    return {k: sorted(v, key=lambda r: r["id"]) for k, v in rows.items()}


@pytest.mark.slow
def test_concurrent_run_is_refused_and_the_first_equals_a_solo_run(spark, tmp_path):
    inputs = _inputs(tmp_path)
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(f"out: {tmp_path / 'shared'}\ninputs:\n  - {{format: jsonl, path: {inputs}, source: web}}\n"
                         "stages:\n  ingest: {}\n")
    first = subprocess.Popen([str(REPO / ".venv/bin/curate"), "run", str(spec_file), "--master", "local[2]"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lock = tmp_path / "shared" / LOCK_NAME
    deadline = time.monotonic() + 120
    while not lock.exists() and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.1)
    assert lock.exists(), first.communicate()[0][-2000:]
    with pytest.raises(RunLocked, match=f"pid {first.pid}"):
        Runner(_spec(inputs, tmp_path / "shared"), spark, log=lambda _: None).run()
    log = first.communicate(timeout=600)[0]
    assert first.returncode == 0, log[-2000:]
    Runner(_spec(inputs, tmp_path / "solo"), spark, log=lambda _: None).run()
    shared, solo = _files(tmp_path / "shared"), _files(tmp_path / "solo")
    assert shared and shared == solo


def test_curate_run_names_the_holder_before_starting_spark(tmp_path):
    """`curate run` locks `out` before the JVM starts: refused in seconds, one line, exit 1, no Spark started."""
    out = tmp_path / "out"
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(f"out: {out}\ninputs:\n  - {{format: jsonl, path: {_inputs(tmp_path)}, source: web}}\n"
                         "stages:\n  ingest: {}\n")
    with RunLock(str(out)):
        done = subprocess.run([str(REPO / ".venv/bin/curate"), "run", str(spec_file)], capture_output=True, text=True,
                              timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [f"error: {out} is in use by another run (pid {os.getpid()} on "
                                                f"{socket.gethostname()}, started "
                                                + done.stderr.split("started ", 1)[1].strip()]
    assert "spark:" not in done.stdout and "Traceback" not in done.stderr
    # the holder's lock made the folder and removed it on release, which it can only do if the refused run wrote
    # nothing there
    assert not out.exists()
