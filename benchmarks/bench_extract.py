"""HTML extraction engines side by side (accuracy and pages per CPU-second), plus language-ID docs per CPU-second.

Uses the shared yardstick's definitions by importing ``../shared/bench/run_extract.py`` (page loading and decoding,
snippet scoring on ``web/html/trafilatura``, token F1 on ``web/html/article_extraction_benchmark``) and runs our
engines through :func:`curation.extract.html.extract_text`, the same call the WARC reader makes.

The pages of both sets are split 50/50 by the crc32 of their file name (odd: ``test``, even: ``dev``). The
default engine's rules and thresholds are chosen on the ``dev`` pages only; ``test`` pages are only scored. Each
set prints the three engines side by side on both splits (snippet F1 as the yardstick computes it, article token
F1). Speed is process CPU time over both sets (the machine is shared); ``--pin-cpu`` pins to one core; foreign load
is the share of the machine's CPUs other processes kept busy meanwhile (as the yardstick reports it).

    .venv/bin/python benchmarks/bench_extract.py --pin-cpu 0 --out bench-out/extract.json
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import zlib
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CURATION_SHARED", REPO.parent / "shared"))
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(SHARED / "bench"))

import run_extract  # noqa: E402  (the shared yardstick)
from benchlib import machine_busy_s  # noqa: E402

from curation.extract.html import ENGINES, extract_text  # noqa: E402
from curation.stages.langid import identify, load_model  # noqa: E402


def split_of(file_name: str) -> str:
    """``dev`` (tuning) or ``test`` (never tuned on): the crc32 of the page's file name, odd or even."""
    return "test" if zlib.crc32(file_name.encode()) % 2 else "dev"


def load_sets(limit: int) -> dict[str, list[dict]]:
    """The yardstick's two page sets, each page with its ``split``."""
    html = SHARED / "data" / "web" / "html"
    traf = run_extract.load_traf(str(html / "trafilatura"), limit)[0]
    files = json.loads((html / "trafilatura" / "ground_truth.json").read_text(encoding="utf-8"))
    for page in traf:
        page["split"] = split_of(files[page["key"]]["file"])
    aeb = run_extract.load_aeb(str(html / "article_extraction_benchmark"), limit)[0]
    for page in aeb:
        page["split"] = split_of(page["key"] + ".html")
    return {"trafilatura": traf, "article_extraction_benchmark": aeb}


def run_engine(engine: str, pages: list[dict]) -> tuple[list[str | None], dict]:
    extract_text(pages[0]["html"], engine)  # warm-up (imports), not timed
    outs, used, cpu = [], Counter(), 0.0
    busy0, wall0 = machine_busy_s(), time.perf_counter()
    for page in pages:
        c0 = time.process_time()
        ext = extract_text(page["html"], engine)
        cpu += time.process_time() - c0
        outs.append(ext.text)
        used[ext.extractor] += 1
    wall, busy1 = time.perf_counter() - wall0, machine_busy_s()
    # share of the machine's CPUs busy with other processes meanwhile (the yardstick's run_timed definition)
    foreign = (round(max(0.0, (busy1 - busy0) - cpu) / (wall * (os.cpu_count() or 1)), 3)
               if busy0 is not None and busy1 is not None and wall > 0 else None)
    return outs, {"pages": len(pages), "cpu_s": round(cpu, 3), "pages_per_cpu_s": round(len(pages) / cpu, 1),
                  "wall_s": round(wall, 3), "foreign_cpu_share": foreign, "extractor_used": dict(used)}


def score(set_name: str, outs: list, pages: list[dict]) -> dict:
    def f1(idx):
        o, p = [outs[i] for i in idx], [pages[i] for i in idx]
        if set_name == "trafilatura":
            return run_extract.score_snippets(o, p)["f1"]
        return run_extract.score_aeb(o, p)["token"]["f1"]

    everything = range(len(pages))
    return {"f1": f1(everything), "f1_dev": f1([i for i in everything if pages[i]["split"] == "dev"]),
            "f1_test": f1([i for i in everything if pages[i]["split"] == "test"])}


def bench_langid(texts: list[str], batch: int = 512) -> dict:
    model = load_model()
    identify(texts[:8], model)
    c0 = time.process_time()
    for i in range(0, len(texts), batch):
        identify(texts[i:i + batch], model)
    cpu = time.process_time() - c0
    chars = sum(len(t) for t in texts)
    return {"docs": len(texts), "cpu_s": round(cpu, 3), "docs_per_cpu_s": round(len(texts) / cpu, 1),
            "mean_chars": round(chars / len(texts))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--limit", type=int, default=0, help="first N pages of each set (0 = all)")
    ap.add_argument("--pin-cpu", type=int, default=None)
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    a = ap.parse_args()
    if a.pin_cpu is not None:
        os.sched_setaffinity(0, {a.pin_cpu})
    sets = load_sets(a.limit)
    engines = a.engines.split(",")
    result: dict = {"pinned_cpu": a.pin_cpu, "split": "crc32(file name) % 2: 1 test, 0 dev", "sets": {}}
    texts_for_langid: list[str] = []
    for set_name, pages in sets.items():
        result["sets"][set_name] = {}
        for engine in engines:
            outs, speed = run_engine(engine, pages)
            quality = score(set_name, outs, pages)
            result["sets"][set_name][engine] = {**quality, **speed}
            print(f"{set_name:30s} {engine:12s} F1 {quality['f1']:.4f}  {speed['pages_per_cpu_s']:7.1f} pages/CPU-s"
                  f"  foreign load {speed['foreign_cpu_share']}  {speed['extractor_used']}", flush=True)
            if engine == engines[0]:
                texts_for_langid += [t for t in outs if t]
    measure = {"trafilatura": "snippet F1", "article_extraction_benchmark": "article token F1"}
    print(f"\n{'':42s}" + "".join(f"{e:>14s}" for e in engines))
    for set_name, per_engine in result["sets"].items():
        for split in ("dev", "test"):
            n = sum(p["split"] == split for p in sets[set_name])
            print(f"{measure[set_name] + f', {split} ({n} pages)':42s}"
                  + "".join(f"{per_engine[e][f'f1_{split}']:14.4f}" for e in engines))
    speeds = {e: sum(len(sets[s]) for s in sets) / sum(result["sets"][s][e]["cpu_s"] for s in sets) for e in engines}
    result["pages_per_cpu_s"] = {e: round(v, 1) for e, v in speeds.items()}
    print(f"{'pages per CPU-second (both sets)':42s}" + "".join(f"{speeds[e]:14.1f}" for e in engines))
    result["langid"] = bench_langid(texts_for_langid)
    print(f"langid (lid.176, first 2000 chars): {result['langid']['docs_per_cpu_s']} docs/CPU-s over "
          f"{result['langid']['docs']} extracted pages")
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
