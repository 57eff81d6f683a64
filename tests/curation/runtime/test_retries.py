"""Local sessions retry failed tasks (``local[N, F]``): a Python worker killed mid-stage costs a retry, and the run
equals a clean run."""
import os
import signal
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curation.pipeline.runner import Runner
from curation.pipeline.spec import spec_from_mapping
from curation.runtime.session import with_task_retries


def test_local_masters_get_task_retries():
    assert with_task_retries("local[*]") == "local[*,4]" and with_task_retries("local[2]") == "local[2,4]"
    assert with_task_retries("local") == "local[1,4]" and with_task_retries("local[2, 3]") == "local[2, 3]"
    assert with_task_retries("spark://host:7077") == "spark://host:7077"


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(pid))
    return kids


def python_workers() -> list[int]:
    """The Spark Python workers of this test process: children of the worker daemon under our JVM."""
    kids, found, todo = _children(), [], list(_children().get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"worker_daemon" in cmd or b"pyspark.daemon" in cmd:
            found += kids.get(pid, [])
        else:
            todo += kids.get(pid, [])
    return found


def _rows(d: Path):
    """The documents of a run's ingest folder, sorted by id."""
    return pa.concat_tables(pq.read_table(p) for p in sorted((d / "ingest").glob("*.parquet"))).sort_by("id")


def test_killed_python_worker_costs_a_retry_not_the_run(spark, tmp_path):
    assert spark.sparkContext.master.endswith(",4]")
    inputs = tmp_path / "in"
    inputs.mkdir()
    for f in range(4):
        (inputs / f"part-{f}.jsonl").write_text("".join(f'{{"text": "document {f} {i} {"words " * 40}"}}\n'
                                                        for i in range(12_000)))

    def spec(out):
        return spec_from_mapping({"out": str(out), "inputs": [{"format": "jsonl", "path": str(inputs)}],
                                  "stages": {"ingest": {}}})

    killed: list[int] = []

    def killer():
        tracker = spark.sparkContext.statusTracker()
        deadline = time.monotonic() + 120
        while not killed and time.monotonic() < deadline:
            workers = python_workers()
            if tracker.getActiveStageIds() and workers:
                time.sleep(0.5)  # mid-task
                for pid in python_workers():
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
            time.sleep(0.05)

    thread = threading.Thread(target=killer)
    thread.start()
    Runner(spec(tmp_path / "killed"), spark, log=lambda _: None).run()
    thread.join()
    assert killed
    Runner(spec(tmp_path / "clean"), spark, log=lambda _: None).run()
    killed_rows, clean_rows = _rows(tmp_path / "killed"), _rows(tmp_path / "clean")
    assert clean_rows.num_rows == 48_000 and killed_rows.equals(clean_rows)
