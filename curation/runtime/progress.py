"""Progress of running Spark jobs, printed while a long stage runs."""
from __future__ import annotations

import threading
import time


class ProgressReporter:
    """Prints task progress of running Spark jobs every few seconds while a long stage runs."""

    def __init__(self, spark, label: str, every: float = 5.0, printer=print):
        self.sc = spark.sparkContext
        self.label = label
        self.every = every
        self.printer = printer
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=1)

    def _loop(self):
        start = time.time()
        while not self._stop.wait(self.every):
            tracker = self.sc.statusTracker()
            done = total = 0
            for sid in tracker.getActiveStageIds():
                info = tracker.getStageInfo(sid)
                if info is not None:
                    done += info.numCompletedTasks
                    total += info.numTasks
            if total:
                self.printer(f"  [{self.label}] {time.time() - start:5.0f}s  tasks {done}/{total}")
