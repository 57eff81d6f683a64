"""PDF extraction benchmark on ../shared/data/pdf: throughput, accounting and quality.

    .venv/bin/python benchmarks/bench_pdf.py [--data ../shared/data/pdf] [--out benchmarks/out/pdf.json]

Every PDF of ``manifest.jsonl`` goes through the production path (:class:`curation.readers.pdf.IsolatedExtractor`,
default options). Reported:

* throughput: pages per CPU-second (one core) for documents extracted entirely from the text layer and for
  documents entirely OCR'd (``meta.extract_seconds`` is the child process's CPU time for the document);
* accounting: every file is a document (pages: text_layer / ocr / blank / error) or an error row; every PDF the
  manifest marks as needing OCR has text unless all its pages are blank;
* olmOCR-bench unit tests (``olmocr-bench/dataset.jsonl``): present / absent / order / baseline, matched the way
  olmOCR's ``bench/tests.py`` matches (:mod:`curation.extract.pdf_eval`); table and math tests need Markdown tables and LaTeX,
  which plain-text extraction does not produce, so they are listed but not scored;
* word recall against the LaTeX sources of the py-pdf samples (commands stripped), per file and overall;
* word recall against docling's reviewed Markdown conversions (``docling/*.groundtruth.md``);
* character error rate of ``ocrmypdf/linn.pdf`` against ``linn.txt``.

``--rotated`` measures only the scans of ``linn.txt`` that lie rotated or skewed (``ocrmypdf/cardinal.pdf``: the
page at 0/90/180/270 degrees, ``rotated_skew.pdf``, ``skew.pdf``): word recall of each page against ``linn.txt``,
relative to the upright scan's, with orientation detection on and off, and its cost in CPU-seconds::

    .venv/bin/python benchmarks/bench_pdf.py --rotated --out benchmarks/results/pdf_rotated.json
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from curation.extract.pdf import PdfOptions  # noqa: E402
from curation.extract.pdf_eval import SCORERS, character_error_rate, latex_words, words  # noqa: E402
from curation.readers.pdf import IsolatedExtractor  # noqa: E402


def page_texts(result: dict) -> list[str]:
    text, offsets = result["text"] or "", result["meta"].get("page_offsets") or []
    ends = offsets[1:] + [len(text)]
    return [text[a:b] for a, b in zip(offsets, ends)]


def extract_all(data: Path, manifest: list[dict], opts: PdfOptions) -> dict[str, dict]:
    extractor = IsolatedExtractor(opts.memory_mb)
    results = {}
    for entry in manifest:
        rel = entry["file"].split("/", 1)[1]
        started = time.monotonic()
        results[rel] = extractor.extract(str(data / rel), opts)
        results[rel]["wall_seconds"] = time.monotonic() - started
        meta = results[rel]["meta"]
        print(f"  {rel:70s} {results[rel]['reason'] or ''}{Counter(meta.get('page_methods') or [])} "
              f"{meta.get('extract_seconds') or 0:.1f} CPU-s", flush=True)
    return results


def throughput(results: dict[str, dict]) -> dict:
    """Pages per CPU-second of documents read entirely from the text layer (no page even tried with OCR:
    no page notes) and of documents entirely OCR'd."""
    paths = {"text_layer": [0, 0.0], "ocr": [0, 0.0]}
    for result in results.values():
        methods = set(result["meta"].get("page_methods") or [])
        tried_ocr = "page_notes" in (result["meta"].get("extra") or {})
        if len(methods) == 1 and (path := methods.pop()) in paths and not (path == "text_layer" and tried_ocr):
            paths[path][0] += len(result["meta"]["page_methods"])
            paths[path][1] += result["meta"]["extract_seconds"]
    return {name: {"pages": pages, "cpu_seconds": round(cpu, 2),
                   "pages_per_cpu_second": round(pages / cpu, 2) if cpu else None}
            for name, (pages, cpu) in paths.items()}


def accounting(results: dict[str, dict], manifest: list[dict]) -> dict:
    """Per source folder: documents, error rows and pages by method; needs-OCR PDFs that came out empty."""
    by_source: dict[str, dict] = defaultdict(lambda: {"files": 0, "documents": 0, "pages": Counter()})
    errors, needs_ocr_empty = {}, {}
    for entry in manifest:
        rel = entry["file"].split("/", 1)[1]
        result, tally = results[rel], by_source[rel.split("/")[0]]
        tally["files"] += 1
        if result["reason"]:
            errors[rel] = result["reason"]
            continue
        tally["documents"] += 1
        methods = result["meta"]["page_methods"]
        tally["pages"].update(methods)
        if entry["text_layer"].startswith("none (needs OCR)") and not (result["text"] or "").strip():
            needs_ocr_empty[rel] = dict(Counter(methods))
    return {"files": len(manifest), "documents": len(manifest) - len(errors), "error_rows": errors,
            "pages": dict(sum((t["pages"] for t in by_source.values()), Counter())),
            "by_source": {src: {**t, "pages": dict(t["pages"])} for src, t in sorted(by_source.items())},
            "needs_ocr_without_text": needs_ocr_empty}


def olmocr_bench(data: Path, results: dict[str, dict]) -> dict:
    tests = [json.loads(line) for name in ("dataset.jsonl", "blanks.jsonl")
             for line in (data / "olmocr-bench" / name).read_text().splitlines() if line.strip()]
    by_type: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_pdf: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    failed, unscored = [], Counter()
    for test in tests:
        scorer = SCORERS.get(test["type"])
        if scorer is None:
            unscored[test["type"]] += 1
            continue
        result = results[f"olmocr-bench/{test['pdf']}"]
        pages = page_texts(result)
        page_text = pages[test["page"] - 1] if test["page"] <= len(pages) else ""
        passed = scorer(test, page_text)
        for tally in (by_type[test["type"]], by_pdf[test["pdf"]]):
            tally[0] += passed
            tally[1] += 1
        if not passed:
            failed.append(test["id"])
    present_absent = [sum(by_type[t][i] for t in ("present", "absent")) for i in (0, 1)]
    scored = [sum(v[i] for v in by_type.values()) for i in (0, 1)]
    return {
        "present_absent_pass_rate": round(present_absent[0] / present_absent[1], 3),
        "scored_pass_rate": round(scored[0] / scored[1], 3),
        "by_type": {t: f"{p}/{n}" for t, (p, n) in sorted(by_type.items())},
        "by_pdf": {pdf: f"{p}/{n}" for pdf, (p, n) in sorted(by_pdf.items())},
        "not_scored": dict(unscored),
        "failed": failed,
    }


def pypdf_recall(data: Path, results: dict[str, dict]) -> dict:
    per_file, hits, total = {}, 0, 0
    for tex in sorted((data / "py-pdf-sample-files").glob("*.source.tex")):
        reference = Counter(latex_words(tex.read_text()))
        if not reference:  # the body is macros only (\blindtext), nothing to compare with
            continue
        pdf = f"py-pdf-sample-files/{tex.name.replace('.source.tex', '.pdf')}"
        found = sum((reference & Counter(words(results[pdf]["text"] or ""))).values())
        per_file[pdf] = round(found / sum(reference.values()), 3)
        hits, total = hits + found, total + sum(reference.values())
    return {"overall": round(hits / max(1, total), 3), "per_file": per_file}


def docling_recall(data: Path, results: dict[str, dict]) -> dict:
    """Word recall against docling's reviewed Markdown conversions (a machine-made reference)."""
    per_file, hits, total = {}, 0, 0
    for truth in sorted((data / "docling").glob("*.groundtruth.md")):
        reference = Counter(words(re.sub(r"<!--.*?-->", " ", truth.read_text(), flags=re.DOTALL)))
        pdf = f"docling/{truth.name.replace('.groundtruth.md', '.pdf')}"
        found = sum((reference & Counter(words(results[pdf]["text"] or ""))).values())
        per_file[pdf] = round(found / max(1, sum(reference.values())), 3)
        hits, total = hits + found, total + sum(reference.values())
    return {"overall": round(hits / max(1, total), 3), "per_file": per_file}


ROTATED = ("linn.pdf", "cardinal.pdf", "rotated_skew.pdf", "skew.pdf")


def rotated(data: Path) -> dict:
    """Word recall per page of the rotated and skewed linn scans, relative to the upright ``linn.pdf``."""
    reference = Counter(words((data / "ocrmypdf" / "linn.txt").read_text()))
    report = {}
    for detect in (True, False):
        opts = PdfOptions(detect_orientation=detect)
        extractor, runs = IsolatedExtractor(opts.memory_mb), {}
        for name in ROTATED:
            result = extractor.extract(str(data / "ocrmypdf" / name), opts)
            recall = [round(sum((reference & Counter(words(t))).values()) / sum(reference.values()), 3)
                      for t in page_texts(result)]
            runs[name] = {"recall": recall, "page_methods": result["meta"].get("page_methods"),
                          "page_rotations": result["meta"].get("page_rotations"),
                          "cpu_seconds": round(result["meta"].get("extract_seconds") or 0, 2)}
        upright = runs["linn.pdf"]["recall"][0]
        for run in runs.values():
            run["relative_to_upright"] = [round(r / upright, 3) for r in run["recall"]]
        report["orientation_detection" if detect else "as_it_lies"] = runs
        print(json.dumps({("orientation_detection" if detect else "as_it_lies"): runs}, indent=1), flush=True)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "pdf")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out" / "pdf.json")
    parser.add_argument("--rotated", action="store_true", help="only the rotated / skewed scans of linn.txt")
    args = parser.parse_args()
    if args.rotated:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rotated(args.data), indent=2))
        return
    manifest = [json.loads(line) for line in (args.data / "manifest.jsonl").read_text().splitlines() if line.strip()]
    opts = PdfOptions()
    print(f"extracting {len(manifest)} PDFs (one child process, default options)")
    results = extract_all(args.data, manifest, opts)
    linn = results["ocrmypdf/linn.pdf"]["text"] or ""
    report = {
        "options": opts.model_dump(),
        "throughput": throughput(results),
        "accounting": accounting(results, manifest),
        "olmocr_bench": olmocr_bench(args.data, results),
        "pypdf_word_recall": pypdf_recall(args.data, results),
        "docling_word_recall": docling_recall(args.data, results),
        "linn_cer": round(character_error_rate((args.data / "ocrmypdf" / "linn.txt").read_text(), linn), 4),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
