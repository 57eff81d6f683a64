"""HTML extraction engines side by side (accuracy and pages per CPU-second), plus language-ID docs per CPU-second.

Uses the shared yardstick's definitions by importing ``../shared/bench/run_extract.py`` (page loading and decoding,
snippet scoring on ``web/html/trafilatura``, token F1 on ``web/html/article_extraction_benchmark``) and runs our
engines through :func:`curation.extract.html.extract_text`, the same call the WARC reader makes.

The default engine's rules were tuned on two thirds of the pages; the ``holdout`` third (crc32 of the page key
mod 3 == 0) was only scored. Speed is process CPU time (the machine is shared); ``--pin-cpu`` pins to one core;
foreign load is the share of the machine's CPUs other processes kept busy meanwhile (as the yardstick reports it).

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


def is_holdout(key: str) -> bool:
    return zlib.crc32(key.encode()) % 3 == 0


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
    holdout = [i for i in everything if is_holdout(pages[i]["key"])]
    tune = [i for i in everything if not is_holdout(pages[i]["key"])]
    return {"f1": f1(everything), "f1_tune": f1(tune), "f1_holdout": f1(holdout)}


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
    html = SHARED / "data" / "web" / "html"
    sets = {"trafilatura": run_extract.load_traf(str(html / "trafilatura"), a.limit)[0],
            "article_extraction_benchmark": run_extract.load_aeb(str(html / "article_extraction_benchmark"),
                                                                 a.limit)[0]}
    result: dict = {"pinned_cpu": a.pin_cpu, "sets": {}}
    texts_for_langid: list[str] = []
    for set_name, pages in sets.items():
        result["sets"][set_name] = {}
        for engine in a.engines.split(","):
            outs, speed = run_engine(engine, pages)
            quality = score(set_name, outs, pages)
            result["sets"][set_name][engine] = {**quality, **speed}
            print(f"{set_name:30s} {engine:12s} F1 {quality['f1']:.4f} (tune {quality['f1_tune']:.4f}, holdout "
                  f"{quality['f1_holdout']:.4f})  {speed['pages_per_cpu_s']:7.1f} pages/CPU-s  foreign load "
                  f"{speed['foreign_cpu_share']}  {speed['extractor_used']}", flush=True)
            if engine == a.engines.split(",")[0]:
                texts_for_langid += [t for t in outs if t]
    result["langid"] = bench_langid(texts_for_langid)
    print(f"langid (lid.176, first 2000 chars): {result['langid']['docs_per_cpu_s']} docs/CPU-s over "
          f"{result['langid']['docs']} extracted pages")
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
