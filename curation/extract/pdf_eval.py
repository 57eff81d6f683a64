"""Scoring PDF extraction against references, with no Spark: the olmOCR-bench unit tests (present / absent / order
/ baseline, matched the way olmOCR's ``bench/tests.py`` matches, re-implemented here with bit-parallel edit
distances), word lists of LaTeX sources (what the document prints) and of extracted text, and the character error
rate. ``benchmarks/bench_pdf.py`` runs them over the shared PDF data.
"""
from __future__ import annotations

import re
import unicodedata

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
