"""How :mod:`mixes.run` trains its swarms: progress lines with an ETA, and the worker processes (one torch thread
each on the CPU) that train groups of runs in parallel and die with their parent."""
from __future__ import annotations

import os
import queue
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Callable, Iterator


class _Progress:
    """Finished proxy runs out of all, with an ETA: a rich bar on a terminal, plain lines otherwise."""

    def __init__(self, total: int, done: int, enabled: bool, stream=None):
        self.total, self.done_at_start, self.done = total, done, done
        self.todo = total - done
        self.stream = stream or sys.stderr
        self.enabled = enabled and self.todo > 0
        self.start = time.monotonic()
        self.last_line = time.monotonic()
        self.last_finished = done
        self.bar = None
        if self.enabled and getattr(self.stream, "isatty", lambda: False)():
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("proxy runs"), BarColumn(), TextColumn("{task.fields[runs]}"),
                                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                console=Console(file=self.stream), transient=False)
            self.task = self.bar.add_task("runs", total=total, completed=done, runs=f"runs {done}/{total}")
            self.bar.start()

    def _eta(self, fraction_done: float) -> str:
        if fraction_done <= 0:
            return "?"
        seconds = (time.monotonic() - self.start) * (1 - fraction_done) / fraction_done
        minutes, secs = divmod(int(round(seconds)), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"

    def update(self, finished: int, in_flight: float = 0.0) -> None:
        """``finished`` runs done in all; ``in_flight``: runs' worth of the current swarm's work done so far."""
        if not self.enabled:
            return
        self.done = finished
        progress = finished + in_flight
        fraction = (progress - self.done_at_start) / self.todo
        if self.bar is not None:
            self.bar.update(self.task, completed=progress, runs=f"runs {finished}/{self.total}")
            return
        now = time.monotonic()
        # a line when a swarm finishes, and every 30 s while swarms train
        if finished != self.last_finished or now - self.last_line >= 30:
            self.last_line, self.last_finished = now, finished
            print(f"runs {finished}/{self.total}, ETA {self._eta(fraction)}", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _die_with_parent() -> None:
    """Linux: have the kernel end this worker when the process that started it dies (killed, even with SIGKILL),
    so a killed ``curate mix run`` leaves no swarm training on; elsewhere a no-op."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _worker_init(progress_queue) -> None:
    import signal

    import torch

    global _worker_progress
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops the workers
    _worker_progress = progress_queue
    torch.set_num_threads(1)


def _train_group(index: int, mixtures, sources, evals, config, token_budget, seed) -> list[dict]:
    from train.swarm import train_swarm

    last = [0.0]

    def on_step(done: int, steps: int) -> None:
        now = time.monotonic()
        if done == steps or now - last[0] >= 1.0:
            last[0] = now
            _worker_progress.put((index, done / steps))

    return train_swarm(mixtures, sources, evals, config, token_budget, seed, on_step=on_step)


def _train_groups(jobs: list[tuple], workers: int,
                  on_progress: Callable[[dict[int, float]], None]) -> Iterator[tuple[int, list[dict]]]:
    """Train each job ``(mixtures, sources, evals, config, token_budget, seed)``; yield (job index, metrics) as
    each finishes. ``on_progress({job index: fraction done})`` reports the jobs in flight."""
    if workers <= 1:
        from train.swarm import train_swarm

        for index, job in enumerate(jobs):
            yield index, train_swarm(*job, on_step=lambda done, steps, i=index: on_progress({i: done / steps}))
        return
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")  # torch's threads do not survive a fork
    progress_queue = ctx.Queue()
    in_flight: dict[int, float] = {}
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init, initargs=(progress_queue,))
    completed = False
    try:
        futures = {pool.submit(_train_group, index, *job): index for index, job in enumerate(jobs)}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
            while True:
                try:
                    index, fraction = progress_queue.get_nowait()
                except queue.Empty:
                    break
                in_flight[index] = fraction
            for future in done:
                index = futures[future]
                in_flight.pop(index, None)
                yield index, future.result()
            on_progress({i: f for i, f in in_flight.items() if f < 1})
        completed = True
    finally:
        if completed:
            pool.shutdown()
        else:  # an error or an interrupt: stop the swarms still training (finished runs are already saved)
            workers_alive = list(getattr(pool, "_processes", {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for process in workers_alive:
                process.terminate()


def default_workers(device_type: str, groups: int) -> int:
    """Processes that train swarms at once: one per usable CPU core on the CPU (at most one per swarm), one on CUDA."""
    if device_type != "cpu":
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, groups))
