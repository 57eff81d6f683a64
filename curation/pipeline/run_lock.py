"""The run lock: one run at a time per run directory.

``<out>/run.lock`` holds the owner's pid, host and start time and is ``flock``-ed for the whole run. The kernel
drops the ``flock`` when its process dies however it dies, so a lock file left by a killed run is stale by
definition and the next run takes it over; a live holder makes a second run stop at once with a message naming it.
Taken before anything is written to ``out`` (only the folder itself is created first).
"""
from __future__ import annotations

import fcntl
import json
import os
import socket
import time

from curation.pipeline.errors import RunLocked

LOCK_NAME = "run.lock"


def _holder(path: str) -> str:
    try:
        with open(path) as fh:
            info = json.load(fh)
        return f"pid {info.get('pid')} on {info.get('host')}, started {info.get('started')}"
    except (OSError, ValueError):
        return "a run that is starting"


class RunLock:
    """Context manager holding ``<out>/run.lock`` (a local folder; other file systems are not locked)."""

    def __init__(self, out: str):
        local = out[len("file://"):] if out.startswith("file://") else out
        self.path = None if "://" in local else os.path.join(local, LOCK_NAME)
        self.fd: int | None = None
        self.created_dir = False

    def acquire(self) -> None:
        if self.path is None:
            return
        folder = os.path.dirname(self.path) or "."
        self.created_dir = not os.path.isdir(folder)
        os.makedirs(folder, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise RunLocked(f"{os.path.dirname(self.path)} is in use by another run ({_holder(self.path)}); "
                                f"wait for it, or use another out") from None
            try:  # the file may have been removed by its releasing owner after we opened it: lock the live one
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        os.ftruncate(fd, 0)
        os.write(fd, (json.dumps(info) + "\n").encode())
        os.fsync(fd)
        self.fd = fd

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        os.close(self.fd)  # closing drops the flock
        self.fd = None
        if self.created_dir:  # a run that wrote nothing (e.g. a batch stopped before its spec) leaves no folder
            try:
                os.rmdir(os.path.dirname(self.path) or ".")
            except OSError:
                pass

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()
