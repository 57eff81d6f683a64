"""A Spark standalone cluster on 127.0.0.1 for tests: one master and N workers started from the installed pyspark
distribution's ``bin/spark-class``, jobs submitted with its ``bin/spark-submit``. Every process it starts is
stopped by pid (SIGTERM, then SIGKILL), the executors the workers spawned included, even when a test fails."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyspark

SPARK_HOME = Path(pyspark.__file__).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spark_env() -> dict:
    """Environment for the cluster's JVMs and spark-submit: this interpreter for the Python workers, loopback only."""
    env = dict(os.environ)
    env.update(SPARK_HOME=str(SPARK_HOME), SPARK_LOCAL_IP="127.0.0.1", PYSPARK_PYTHON=sys.executable,
               PYSPARK_DRIVER_PYTHON=sys.executable, SPARK_NO_DAEMONIZE="1")
    env.pop("PYSPARK_GATEWAY_PORT", None)
    return env


def _children(pid: int) -> list[int]:
    """Descendant pids of ``pid`` (from /proc), deepest last."""
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        return []
    return out + [g for c in out for g in _children(c)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def stop_pids(pids: list[int], grace: float = 10.0) -> None:
    for pid in pids:
        if _alive(pid):
            os.kill(pid, signal.SIGTERM)
    deadline = time.time() + grace
    while any(_alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.2)
    for pid in pids:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


class StandaloneCluster:
    def __init__(self, scratch: Path, workers: int = 2, cores: int = 1, memory: str = "1g"):
        self.scratch = scratch
        self.port, self.ui_port = free_port(), free_port()
        self.master_url = f"spark://127.0.0.1:{self.port}"
        self.ui = f"http://127.0.0.1:{self.ui_port}"
        self.procs: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []
        self.n_workers, self.cores, self.memory = workers, cores, memory
        self.known: set[int] = set()  # every pid this harness started or saw its workers start

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen:
        with open(self.scratch / log, "wb") as out:
            p = subprocess.Popen([str(SPARK_HOME / "bin" / "spark-class"), *args], stdout=out, stderr=subprocess.STDOUT,
                                 env=spark_env(), cwd=self.scratch)
        self.procs.append(p)
        self.known.add(p.pid)
        return p

    def start(self, timeout: float = 90) -> "StandaloneCluster":
        self.scratch.mkdir(parents=True, exist_ok=True)
        self._spawn(["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(self.port),
                     "--webui-port", str(self.ui_port)], "master.log")
        self._wait(lambda s: True, timeout, "the master did not start")
        for i in range(self.n_workers):
            work = self.scratch / f"worker{i}"
            work.mkdir(exist_ok=True)
            self.workers.append(self._spawn(
                ["org.apache.spark.deploy.worker.Worker", self.master_url, "--host", "127.0.0.1", "--cores",
                 str(self.cores), "--memory", self.memory, "--webui-port", str(free_port()), "--work-dir", str(work)],
                f"worker{i}.log"))
        self._wait(lambda s: sum(w["state"] == "ALIVE" for w in s["workers"]) == self.n_workers, timeout,
                   f"{self.n_workers} workers did not register")
        return self

    def state(self) -> dict | None:
        try:
            with urllib.request.urlopen(self.ui + "/json/", timeout=2) as r:
                return json.load(r)
        except (OSError, ValueError):
            return None

    def _wait(self, ok, timeout: float, what: str) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            s = self.state()
            if s is not None and ok(s):
                return
            if self.procs[0].poll() is not None:
                raise RuntimeError(f"{what}: the master exited; logs in {self.scratch}")
            time.sleep(0.5)
        raise RuntimeError(f"{what} in {timeout:g} s; logs in {self.scratch}")

    def remember_children(self) -> None:
        for p in self.procs:
            self.known.update(_children(p.pid))

    def kill_worker(self, i: int) -> None:
        """SIGKILL worker ``i`` (its executor exits when it loses the worker; it is stopped at the end otherwise)."""
        self.remember_children()
        os.kill(self.workers[i].pid, signal.SIGKILL)
        self.workers[i].wait(timeout=10)

    def stop(self) -> None:
        self.remember_children()
        workers_first = [p.pid for p in reversed(self.procs)]
        stop_pids(workers_first + sorted(self.known - set(workers_first)))
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    def submit(self, args: list[str], log: Path, master: str | None = None, conf: dict | None = None,
               wait: bool = True) -> subprocess.Popen:
        """``spark-submit`` of the project's command line (``curation/cli/app.py``) on this cluster (or ``master``)."""
        cmd = [str(SPARK_HOME / "bin" / "spark-submit"), "--master", master or self.master_url]
        # the executors share this machine's venv, so their Python workers may fork from the project's daemon
        settings = {"spark.ui.enabled": "false", "spark.curation.masterWebUi": self.ui,
                    "spark.python.daemon.module": "curation.runtime.worker_daemon", **(conf or {})}
        for k, v in settings.items():
            cmd += ["--conf", f"{k}={v}"]
        app = Path(__file__).resolve().parents[2] / "curation" / "cli" / "app.py"
        with open(log, "wb") as out:
            p = subprocess.Popen([*cmd, str(app), *args], stdout=out, stderr=subprocess.STDOUT, env=spark_env(),
                                 cwd=self.scratch)
        self.procs.append(p)
        self.known.add(p.pid)
        if wait:
            p.wait()
        return p
