"""Long-lived helper processes for extraction that may hang or crash: a fresh interpreter per helper, serving
requests over a pipe.

A helper is exec'd (``python -c``), not forked from the Spark worker or from a fork server that has imported the
worker's modules: a fork carries every page of the worker's import set (pyarrow, pyspark, the extractors), ~160 MB
resident per helper, and bad inputs start helpers in every worker (the HTML watchdog beside the PDF child). An
exec'd helper imports only its handler's module: the HTML one Python and resiliparse (~25 MB), the PDF one pymupdf
without the layout packages pymupdf loads when they are installed (``BLOCKED_MODULES``: onnxruntime and friends,
~80 MB, which nothing here calls).

Requests and answers are JSON objects (no pickle: a helper parses hostile input, so what it sends back is data, not
code); the parent waits with a time limit and kills the helper when it runs past it or dies.
"""
from __future__ import annotations

import ctypes
import importlib
import json
import os
import signal
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path

STARTUP_S = 60
# pymupdf imports these when they are installed (layout analysis, markdown output); extraction here uses neither
BLOCKED_MODULES = ("pymupdf4llm", "pymupdf.layout")
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_CHILD = "import sys; from curation.readers.helper_process import _main; _main(sys.argv[1:])"


def block_unused_modules() -> None:
    """Make :data:`BLOCKED_MODULES` unimportable in this process (before pymupdf is first imported: it then skips
    them, as when they are not installed)."""
    for name in BLOCKED_MODULES:
        sys.modules.setdefault(name, None)


class HelperDied(OSError):
    """The helper exited (or could not be started) before answering."""


class HelperTimeout(TimeoutError):
    """The helper ran past the time limit and was killed."""


def die_with_parent() -> None:
    """Have the kernel kill this process when its parent dies (Linux), so a killed worker leaves no helper."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Helper:
    """``call(request, limit_s)``: ``handler(request)`` in a helper process, where ``handler`` is what
    ``module.factory(**setup)`` returned in that process. The helper starts on the first call and after one that
    killed it; :meth:`close` stops it."""

    def __init__(self, factory: str, **setup):
        self.factory, self.setup = factory, setup
        self._proc: subprocess.Popen | None = None
        self._send = self._recv = None

    def _start(self) -> None:
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        env = dict(os.environ)  # the same curation as the caller's, wherever the caller found it
        env["PYTHONPATH"] = os.pathsep.join([_PACKAGE_ROOT, *filter(None, [env.get("PYTHONPATH")])])
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _CHILD, self.factory, str(req_r), str(resp_w), json.dumps(self.setup),
                 str(os.getpid())], pass_fds=(req_r, resp_w), stdin=subprocess.DEVNULL, env=env)
        finally:
            os.close(req_r)
            os.close(resp_w)
        self._send, self._recv = Connection(req_w, readable=False), Connection(resp_r, writable=False)
        # start-up (interpreter, imports) is not the first request's time
        if not self._recv.poll(STARTUP_S):
            self.close()
            raise HelperDied(f"helper {self.factory} did not start within {STARTUP_S} s")
        try:
            ready = json.loads(self._recv.recv_bytes())
        except (EOFError, OSError, ValueError):
            ready = None
        if ready != "ready":
            code = self.close()
            raise HelperDied(f"helper {self.factory} failed to start (exit code {code})")

    def close(self) -> int | None:
        """Kill the helper; its exit code (None when none ran)."""
        proc, self._proc = self._proc, None
        for conn in (self._send, self._recv):
            if conn is not None:
                conn.close()
        self._send = self._recv = None
        if proc is None:
            return None
        proc.kill()
        return proc.wait()

    @property
    def exitcode(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

    def call(self, request: dict, limit_s: float | None = None):
        """The handler's answer; :class:`HelperTimeout` after ``limit_s`` seconds (None or <= 0: no limit) and
        :class:`HelperDied` when the helper exits first (either way it is killed and the next call starts a new
        one)."""
        if self._proc is None or self._proc.poll() is not None:
            self.close()
            self._start()
        try:
            self._send.send_bytes(json.dumps(request).encode())
            if self._recv.poll(limit_s if limit_s and limit_s > 0 else None):
                return json.loads(self._recv.recv_bytes())
        except (EOFError, OSError, ValueError) as exc:  # it closed the pipe (exiting) or sent no JSON
            try:
                self._proc.wait(timeout=5)  # its own exit code, not the kill's
            except subprocess.TimeoutExpired:
                pass
            code = self.close()
            raise HelperDied(f"exit code {code}") from exc
        self.close()
        raise HelperTimeout(f"no answer within {limit_s:g} s")


def _main(argv: list[str]) -> None:
    """The helper's side: build the handler, answer ``ready``, then one answer per request until the pipe closes."""
    factory, req_fd, resp_fd, setup, parent = argv
    die_with_parent()
    if os.getppid() != int(parent):  # the parent died before the death signal was armed
        return
    block_unused_modules()
    module, _, attr = factory.partition(":")
    handler = getattr(importlib.import_module(module), attr)(**json.loads(setup))
    recv, send = Connection(int(req_fd), writable=False), Connection(int(resp_fd), readable=False)
    send.send_bytes(b'"ready"')
    while True:
        try:
            request = json.loads(recv.recv_bytes())
        except EOFError:  # the parent went away
            return
        send.send_bytes(json.dumps(handler(request)).encode())
