"""Progress of long steps, with counts and an ETA: a rich progress bar on a terminal, plain lines every few seconds
in a log.

* :class:`Progress`: a loop that knows its total (documents evaluated, tokens trained, steps).
* :class:`ProgressReporter`: a pipeline stage running Spark jobs. It counts the stage's documents, not a Spark job's
  tasks: every job the stage starts runs in one job group, and the count is the most records any of the group's
  Spark stages has read or written so far (read from the driver's status store), capped at the stage's input
  documents. The count never goes backwards, whatever the number of jobs.
"""
from __future__ import annotations

import sys
import threading
import time
import uuid
from typing import Callable


def _fmt_seconds(s: float) -> str:
    s = int(max(s, 0))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


def progress_line(label: str, done: float, total: float | None, unit: str, elapsed: float, note: str = "") -> str:
    """``[label] 1,200 / 5,000 documents (24%)  12s, ETA 38s`` (no total: the count and the rate)."""
    rate = done / elapsed if elapsed > 0 else 0.0
    note = f"  ({note})" if note else ""
    if total:
        eta = (total - done) / rate if rate > 0 else None
        return (f"  [{label}] {done:,.0f} / {total:,.0f} {unit} ({done / total:.0%})  {_fmt_seconds(elapsed)}"
                + (f", ETA {_fmt_seconds(eta)}" if eta is not None else "") + note)
    return f"  [{label}] {done:,.0f} {unit}  {_fmt_seconds(elapsed)}, {rate:,.0f} {unit}/s{note}"


def interactive(stream=None) -> bool:
    """Whether progress goes to a terminal (a rich bar) rather than a log (plain lines)."""
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


class Progress:
    """``with Progress("eval", total=n, unit="pairs") as p: ... p.advance(k)``. A rich bar on a terminal; else a
    line through ``printer`` at most every ``every`` seconds and one at the end."""

    def __init__(self, label: str, total: float | None = None, unit: str = "items", every: float = 10.0,
                 printer: Callable[[str], None] | None = None, bar: bool | None = None):
        self.label, self.total, self.unit, self.every = label, total, unit, every
        self.printer = printer or (lambda m: print(m, file=sys.stderr, flush=True))
        self.bar = interactive() if bar is None else bar
        self.done = 0.0
        self.note = ""  # shown after the count, e.g. the tasks of a stage whose total is unknown
        self._start = self._last = 0.0
        self._rich = self._task = None

    def __enter__(self):
        self._start = self._last = time.time()
        if self.bar:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            self._rich = RichProgress(TextColumn(f"[{self.label}]"), BarColumn(), MofNCompleteColumn(),
                                      TextColumn(self.unit), TimeElapsedColumn(), TextColumn("ETA"),
                                      TimeRemainingColumn(), console=Console(stderr=True),
                                      transient=False)
            self._rich.start()
            self._task = self._rich.add_task(self.label, total=self.total)
        return self

    def advance(self, n: float = 1) -> None:
        self.update(self.done + n)

    def update(self, done: float, total: float | None = None, force: bool = False) -> None:
        """Set the count (it never goes backwards) and, when it becomes known, the total; ``force``: print the
        line now (a caller on its own timer)."""
        self.done = max(self.done, done)
        if total is not None:
            self.total = total
        if self._rich is not None:
            self._rich.update(self._task, completed=self.done, total=self.total)
            return
        now = time.time()
        if force or now - self._last >= self.every:
            self._last = now
            self.printer(progress_line(self.label, self.done, self.total, self.unit, now - self._start, self.note))

    def __exit__(self, *exc):
        if self._rich is not None:
            self._rich.stop()
        elif time.time() - self._start >= self.every:  # a step long enough to have shown progress says it ended
            self.printer(progress_line(self.label, self.done, self.total, self.unit, time.time() - self._start))


class ProgressReporter:
    """Documents done of a running pipeline stage (see the module docstring), shown every ``every`` seconds while
    the stage runs; ``total`` is the stage's input documents when known (a source stage counts records read)."""

    def __init__(self, spark, label: str, every: float = 5.0, printer=print, total: int | None = None,
                 bar: bool = False):
        self.sc = spark.sparkContext
        self.label = label
        self.total = total
        self.group = f"curation-{label}-{uuid.uuid4().hex[:8]}"
        self.progress = Progress(label, total, "documents" if total is not None else "records", every, printer,
                                 bar=bar)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self):
        self.sc.setJobGroup(self.group, f"stage {self.label}")
        self.progress.__enter__()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=2)
        self.sc.setLocalProperty("spark.jobGroup.id", None)
        self.progress.__exit__(*exc)

    def records(self) -> int:
        """The most records one Spark stage of this stage's jobs has read or written so far (and, in ``note``, the
        tasks done of all its jobs)."""
        tracker = self.sc.statusTracker()
        store = self.sc._jsc.sc().statusStore()
        best = tasks_done = tasks = 0
        for job in tracker.getJobIdsForGroup(self.group):
            info = tracker.getJobInfo(job)
            for sid in (info.stageIds if info is not None else []):
                try:
                    s = store.lastStageAttempt(sid)
                except Exception:  # not registered yet, or already evicted
                    continue
                best = max(best, s.inputRecords(), s.outputRecords(), s.shuffleReadRecords())
                tasks_done, tasks = tasks_done + s.numCompleteTasks(), tasks + s.numTasks()
        if self.total is None and tasks:
            self.progress.note = f"tasks {tasks_done}/{tasks}"
        return best

    def _loop(self):
        while not self._stop.wait(min(self.progress.every, 1.0) if self.progress.bar else self.progress.every):
            try:
                done = self.records()
            except Exception:  # the session is stopping
                return
            self.progress.update(min(done, self.total) if self.total is not None else done, force=True)
