"""PDF extraction benchmark on ../shared/data/pdf: throughput, accounting and quality.

    .venv/bin/python benchmarks/bench_pdf.py [--data ../shared/data/pdf] [--out benchmarks/out/pdf.json]

Every PDF of ``manifest.jsonl`` goes through the production path (:class:`curation.readers.pdf.IsolatedExtractor`,
default options). Reported:

* throughput: pages per CPU-second (one core) for documents extracted entirely from the text layer and for
  documents entirely OCR'd (``meta.extract_seconds`` is the child process's CPU time for the document);
* accounting: every file is a document (pages: text_layer / ocr / blank / error) or an error row; every PDF the
  manifest marks as needing OCR has text unless all its pages are blank;
* olmOCR-bench unit tests (``olmocr-bench/dataset.jsonl``): present / absent / order / baseline, matched the way
  olmOCR's ``bench/tests.py`` matches (re-implemented here); table and math tests need Markdown tables and LaTeX,
  which plain-text extraction does not produce, so they are listed but not scored;
* word recall against the LaTeX sources of the py-pdf samples (commands stripped), per file and overall;
* word recall against docling's reviewed Markdown conversions (``docling/*.groundtruth.md``);
* character error rate of ``ocrmypdf/linn.pdf`` against ``linn.txt``.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from curation.extract.pdf import PdfOptions  # noqa: E402
from curation.readers.pdf import IsolatedExtractor  # noqa: E402

# ---------------------------------------------------------------- edit distances (bit-parallel, any length)


def _char_masks(pattern: str) -> dict[str, int]:
    masks: dict[str, int] = {}
    for i, c in enumerate(pattern):
        masks[c] = masks.get(c, 0) | (1 << i)
    return masks


def lcs_length(a: str, b: str) -> int:
    """Length of the longest common subsequence (Hyyrö's bit-vector algorithm)."""
    masks, v = _char_masks(a), (1 << len(a)) - 1
    for c in b:
        u = v & masks.get(c, 0)
        v = (v + u) | (v - u)
    return len(a) - bin(v & ((1 << len(a)) - 1)).count("1")


def _levenshtein_row(pattern: str, text: str, search: bool):
    """Myers' bit-vector Levenshtein: per text position, the distance of ``pattern`` to ``text[:j+1]``
    (``search=False``) or to the best substring of ``text`` ending at ``j`` (``search=True``)."""
    m = len(pattern)
    masks, full, high = _char_masks(pattern), (1 << m) - 1, 1 << (m - 1)
    pv, mv, score = full, 0, m
    for c in text:
        eq = masks.get(c, 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = mv | ~(xh | pv)
        mh = pv & xh
        if ph & high:
            score += 1
        elif mh & high:
            score -= 1
        ph = (ph << 1) | (0 if search else 1)
        mh <<= 1
        pv = (mh | ~(xv | ph)) & full
        mv = ph & xv & full
        yield score


def levenshtein(a: str, b: str) -> int:
    if not a or not b:
        return len(a) + len(b)
    score = len(a)
    for score in _levenshtein_row(a, b, search=False):
        pass
    return score


# ---------------------------------------------------------------- olmOCR-bench matching rules

_BENCH_REPLACEMENTS = {"‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"', "＿": "_", "–": "-", "—": "-",
                       "‑": "-", "‒": "-", "−": "-", "\u00b5": "\u03bc"}


def bench_normalize(text: str) -> str:
    """olmOCR-bench's normalization: drop <br>, bold/italic markers; collapse whitespace; NFC; ASCII punctuation."""
    text = re.sub(r"<br/?>", " ", text)
    text = re.sub(r"\*\*(.*?)\*\*", r"\1", text)
    text = re.sub(r"__(.*?)__", r"\1", text)
    text = re.sub(r"</?[bi]>", "", text)
    text = re.sub(r"(\*\*|__)(.*?)\1", r"\2", text)
    text = re.sub(r"(\*|_)(.*?)\1", r"\2", text)
    text = re.sub(r"\s+", " ", text)
    text = unicodedata.normalize("NFC", text)
    for fancy, plain in _BENCH_REPLACEMENTS.items():
        text = text.replace(fancy, plain)
    return text


def _indel_ratio(a: str, b: str) -> float:
    """rapidfuzz's normalized Indel similarity in percent, with its floating-point steps (ties with the
    threshold ``1 - max_diffs / len`` must come out as they do there)."""
    total = len(a) + len(b)
    return 100.0 if total == 0 else (1.0 - (total - 2 * lcs_length(a, b)) / total) * 100


def partial_ratio(query: str, text: str) -> float:
    """Best normalized Indel similarity of the shorter string against any window of the longer one of its
    length (plus the shorter windows at both ends), as rapidfuzz's ``fuzz.partial_ratio`` / 100. Every window is
    scored (rapidfuzz scores only windows aligned to matching blocks for needles over 64 characters; this can
    only score equal or higher)."""
    short, long_ = (query, text) if len(query) <= len(text) else (text, query)
    m, n = len(short), len(long_)
    if m == 0:
        return 1.0 if n == 0 else 0.0
    if short in long_:
        return 1.0
    chars = set(short)
    best = 0.0
    windows = [long_[:i] for i in range(1, m) if long_[i - 1] in chars]
    windows += [long_[i:i + m] for i in range(n - m + 1) if long_[i + m - 1] in chars]
    windows += [long_[i:] for i in range(n - m + 1, n) if long_[i] in chars]
    for window in windows:
        best = max(best, _indel_ratio(short, window))
    return best / 100.0


def presence_passes(test: dict, page_text: str) -> bool:
    """A ``present`` / ``absent`` test on one page's text."""
    query, content = bench_normalize(test["text"]), bench_normalize(page_text)
    max_diffs = test.get("max_diffs", 0)
    if not test.get("case_sensitive", True):
        query, content = query.lower(), content.lower()
    first_n, last_n = test.get("first_n"), test.get("last_n")
    if first_n and last_n:
        content = content[:first_n] + content[-last_n:]
    elif first_n:
        content = content[:first_n]
    elif last_n:
        content = content[-last_n:]
    present = test["type"] == "present"
    if len(content) < len(query) - max_diffs:  # too short to contain the query at all
        return not present
    found = partial_ratio(query, content) >= 1.0 - max_diffs / max(len(query), 1)
    return found if present else not found


def _match_starts(pattern: str, text: str, max_diffs: int) -> list[int]:
    """Start offsets of substrings of ``text`` within Levenshtein distance ``max_diffs`` of ``pattern``
    (what ``fuzzysearch.find_near_matches`` finds, before it merges overlapping matches)."""
    if max_diffs == 0:
        return [m.start() for m in re.finditer(f"(?={re.escape(pattern)})", text)]
    # a match starting at s in text ends at len(text) - s in the reversed text
    scores = _levenshtein_row(pattern[::-1], text[::-1], search=True)
    return [len(text) - 1 - j for j, score in enumerate(scores) if score <= max_diffs]


def order_passes(test: dict, page_text: str) -> bool:
    content = bench_normalize(page_text)
    max_diffs = test.get("max_diffs", 0)
    before = _match_starts(bench_normalize(test["before"]), content, max_diffs)
    after = _match_starts(bench_normalize(test["after"]), content, max_diffs)
    return bool(before and after) and min(before) < max(after)


def baseline_passes(test: dict, page_text: str) -> bool:
    """Blank-page test: at most ``max_length`` alphanumeric characters."""
    return sum(c.isalnum() for c in page_text) <= test.get("max_length", 0)


SCORERS = {"present": presence_passes, "absent": presence_passes, "order": order_passes,
           "baseline": baseline_passes}


# ---------------------------------------------------------------- other quality measures

_LATEX_UNPRINTED = re.compile(
    r"\\(documentclass|usepackage|begin|end|label|ref|eqref|cite|includegraphics|date|lipsum|blindtext)"
    r"\*?(\s*(\[[^\]]*\]|\{[^}]*\}))*")


def latex_words(source: str) -> list[str]:
    """Words a LaTeX source prints itself: its document body with comments, environments, unprinted commands
    (with their arguments) and remaining command names removed."""
    body = source.split(r"\begin{document}", 1)[-1].split(r"\end{document}", 1)[0]
    body = re.sub(r"(?<!\\)%.*", "", body)
    body = _LATEX_UNPRINTED.sub(" ", body)
    body = re.sub(r"\\[A-Za-z]+\*?(\[[^\]]*\])?", " ", body)
    return words(body)


def words(text: str) -> list[str]:
    return re.findall(r"[^\W\d_]+", unicodedata.normalize("NFC", text).lower())


def character_error_rate(reference: str, hypothesis: str) -> float:
    ref, hyp = " ".join(reference.split()), " ".join(hypothesis.split())
    return levenshtein(ref, hyp) / max(1, len(ref))


# ---------------------------------------------------------------- the run


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "pdf")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out" / "pdf.json")
    args = parser.parse_args()
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
