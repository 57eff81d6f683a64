"""Peak memory of a whole run (driver JVM + Python workers + their children) with and without the bad-input set.

The bad-input set is the tests' (tests/curation/readers/conftest.py): a 10 GiB gzip bomb of zeros and 1 GiB bombs
in zstd, bz2 and xz, a 3 MB line, truncated and corrupt gzip, 100,000-deep JSON, damaged WARCs, a 20,000-deep HTML
page, unreadable Parquet files, a blank PDF, each beside good documents. Both runs read the same good documents;
the process tree's resident memory (sum of VmRSS over `curate run` and every descendant) is sampled every 100 ms.

    .venv/bin/python benchmarks/bench_bad_inputs.py            # writes benchmarks/results/bad_inputs.json
    .venv/bin/python benchmarks/bench_bad_inputs.py watchdog   # HTML extraction with and without the watchdog
                                                               # process on the shared crawl: html_watchdog.json
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.curation.readers.conftest import Goods, write_bad_inputs, write_good_inputs  # noqa: E402


def _label(pid: int, parent: str) -> str:
    """What a process is, from its command line (a forked child keeps its parent's, so it is named by the parent)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmd = fh.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return "gone"
    if "java" in cmd.split(" ", 1)[0]:
        return "java"
    if "helper_process" in cmd:  # an extraction helper: named by its handler
        return "helper " + next((w for w in cmd.split() if ":" in w and w.startswith(("curation.", "tests."))), "?")
    for needle, name in (("forkserver", "forkserver"), ("worker_daemon", "pyspark daemon"),
                         ("curate", "driver (python)")):
        if needle in cmd:
            if name == "pyspark daemon" and parent == "pyspark daemon":
                return "python worker"
            if name == "forkserver" and parent == "forkserver":
                return "forkserver child"
            return name
    return cmd[:60]


def _status_kib(pid: int, field: str, name: str = "status") -> int:
    with open(f"/proc/{pid}/{name}") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(field))


def tree_rss(root: int, parts: dict | None = None) -> int:
    """Bytes resident in ``root`` and all its descendants; with ``parts``: per process kind (java, python and
    others), the tree's proportional set size ("pss": shared pages of forked processes counted once) and a
    per-process list ("processes": pid, parent, label, RSS and PSS in MiB)."""
    kids: dict[int, list[int]] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                kids.setdefault(int(fh.read().rsplit(")", 1)[1].split()[1]), []).append(int(pid))
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [(root, 0, "")]
    while todo:
        pid, parent, parent_label = todo.pop()
        label = _label(pid, parent_label)
        try:
            rss = _status_kib(pid, "VmRSS:") * 1024
            pss = _status_kib(pid, "Pss:", "smaps_rollup") * 1024 if parts is not None else 0
        except (OSError, StopIteration):
            rss = pss = 0
            label = "gone"
        total += rss
        if parts is not None and label != "gone":
            kind = "java" if label == "java" else "python and others"
            parts[kind] = parts.get(kind, 0) + rss
            parts["pss"] = parts.get("pss", 0) + pss
            parts.setdefault("processes", []).append(
                {"pid": pid, "parent": parent, "what": label, "rss_mib": round(rss / 2**20), "pss_mib": round(pss / 2**20)})
        todo += [(kid, pid, label) for kid in kids.get(pid, [])]
    return total


def run(spec: Path) -> dict:
    proc = subprocess.Popen([str(REPO / ".venv/bin/curate"), "run", str(spec), "--master", "local[2]",
                             "--driver-memory", "2g"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak, t0, at_peak, peak_pss, peak_s, at_peak_pss = 0, time.monotonic(), {"processes": []}, 0, 0.0, []
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.extend(proc.stdout))
    reader.start()
    while proc.poll() is None:
        parts: dict = {}
        now = tree_rss(proc.pid, parts)
        pss = parts.pop("pss", 0)
        if pss > peak_pss:
            peak_pss, at_peak_pss = pss, parts["processes"]
        if now > peak:
            peak, at_peak, peak_s = now, parts, time.monotonic() - t0
        time.sleep(0.1)
    reader.join()
    if proc.returncode != 0:
        raise SystemExit("".join(out)[-3000:])
    return {"peak_rss_mib": round(peak / 2**20), "peak_pss_mib": round(peak_pss / 2**20),
            "seconds": round(time.monotonic() - t0, 1),
            "peak_at_s": round(peak_s, 1), "processes_at_peak_rss": sorted(
                at_peak.pop("processes"), key=lambda p: -p["rss_mib"]),
            "processes_at_peak_pss": sorted(at_peak_pss, key=lambda p: -p["pss_mib"]),
            "at_peak_mib": {k: round(v / 2**20) for k, v in sorted(at_peak.items())}}


def spec_file(root: Path, out: Path) -> Path:
    spec = {"out": str(out), "stages": {"ingest": {}}, "inputs": [
        {"format": "jsonl", "path": str(root / "jsonl"), "options": {"max_doc_bytes": 1 << 20}},
        {"format": "warc", "path": str(root / "warc"), "source": "web", "options": {"extractor": "resiliparse"}},
        {"format": "parquet", "path": str(root / "parquet"), "source": "tables"},
        {"format": "pdf", "path": str(root / "pdf"), "source": "papers", "options": {"ocr": False}}]}
    path = root / "spec.json"  # JSON is YAML
    path.write_text(json.dumps(spec))
    return path


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        good, bad = tmp / "good", tmp / "bad"
        write_good_inputs(good, Goods())
        goods = Goods()
        write_good_inputs(bad, goods)
        write_bad_inputs(bad, goods)
        result = {"good_only": run(spec_file(good, tmp / "out-good")),
                  "with_bad_inputs": run(spec_file(bad, tmp / "out-bad"))}
        ledger = json.loads((tmp / "out-bad" / "ledger.json").read_text())
    result["ratio"] = round(result["with_bad_inputs"]["peak_rss_mib"] / result["good_only"]["peak_rss_mib"], 3)
    result["ratio_pss"] = round(result["with_bad_inputs"]["peak_pss_mib"] / result["good_only"]["peak_pss_mib"], 3)
    result["bad_run_stages"] = [{k: s.get(k) for k in ("stage", "in", "kept", "rejected")} for s in ledger["stages"]]
    result["cpu_count"] = os.cpu_count()
    out = REPO / "benchmarks" / "results" / "bad_inputs.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def watchdog_cost(reps: int = 3) -> None:
    """Wall time of reading shared WARC files with extraction in the watchdog process vs in the worker; the first
    watchdog pass includes the helper process's start."""
    from curation.readers.warc import warc_records

    warc = REPO.parent / "shared" / "data" / "web" / "warc"
    files = sorted(warc.glob("dolma__*.warc.gz")) + sorted(warc.glob("ukwa__BL-*.warc.gz"))
    result: dict = {"files": [f.name for f in files]}
    for _ in range(reps):
        for isolate in (False, True):
            t0 = time.monotonic()
            docs = sum(r["reason"] is None for f in files for r in warc_records(
                str(f), {"extractor": "resiliparse", "extract_isolation": isolate}))
            result.setdefault("watchdog" if isolate else "in_worker", []).append(round(time.monotonic() - t0, 2))
            result["documents"] = docs
    out = REPO / "benchmarks" / "results" / "html_watchdog.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    watchdog_cost() if sys.argv[1:] == ["watchdog"] else main()
