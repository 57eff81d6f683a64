"""Dense per-document quality features: the shape of a page rather than its words (no Spark, no model files).

A bag of words learns *what* a page is about, which on mixed training data is mostly *where* it comes from. These
features describe *how* it is written: length, word shape, function-word share, lines that end a sentence, short
and boilerplate lines, symbols, and the Gopher repetition measures (imported from the heuristic rule sets so the
two never drift apart). :func:`dense_features` works on one Arrow batch (or a list of texts) at a time, as the
``quality`` stage calls it: the counts are Arrow string kernels over the batch (lines are flattened into one array
and summed back per document), only the repetition measures loop per document. Every value is finite, whatever
the text (empty and ``None`` included).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Features read at most this many characters of a document (its full length is a feature of its own): bounds the
# cost of very long documents; a page's shape shows in its opening.
FEATURE_CHARS = 8000

WORD = r"\pL+(?:['’]\pL+)?"  # a run of letters, with one inner apostrophe
# The commonest English function words: running prose is 40-50% these; lists, menus and spam far less.
STOP_WORDS = (
    "a about after all also an and any are as at be been but by can could did do does for from had has have he her "
    "his how i if in into is it its just may me more most my no not of on one only or other our out she so some "
    "such than that the their them then there these they this to up was we were what when where which while who "
    "will with would you your").split()
STOP_WORD = r"(?i)\b(?:" + "|".join(STOP_WORDS) + r")\b"
LINE_END = r"[.!?\"'”’):]$"  # a line that ends a sentence (or a quote, a bracket, a lead-in colon)
BULLET_START = r"^[•●○▪■◦‣\-*|»·]"
# Lines of site furniture: navigation, sharing, comment widgets, legal footers, shop buttons, table rows.
BOILERPLATE = (
    r"(?i)\b(?:copyright|all rights reserved|privacy policy|terms of (?:use|service)|cookies?|log ?in|sign (?:in|up)|"
    r"register|subscribe|newsletter|comments?|reply|posted (?:by|in|on)|share (?:this|on)|facebook|twitter|"
    r"pinterest|instagram|click here|read more|continue reading|add to (?:cart|basket|wishlist)|buy now|in stock|"
    r"free shipping|home page|skip to|powered by|related posts|tags?:|categor(?:y|ies):|archives?|previous|"
    r"next page|back to top|contact us|about us|follow us|rss|view all|search)\b|©|\|")
URL = r"(?i)https?://|\bwww\.|@\w+\.\w+"
SENTENCE_END = r"[.!?]+(?:\s|$)"
CAPITALISED = r"(?:^|\s)\p{Lu}"

FEATURE_NAMES = (
    "log_chars", "log_words", "mean_word_length", "stop_word_frac", "line_end_punct_frac", "log_words_per_line",
    "short_line_frac", "long_line_frac", "boilerplate_line_frac", "bullet_line_frac", "title_case_line_frac",
    "alpha_char_frac", "digit_char_frac", "upper_letter_frac", "punct_char_frac", "url_per_word", "log_sentences",
    "log_words_per_sentence", "dup_line_frac", "dup_line_char_frac", "top_2gram_char_frac", "top_3gram_char_frac",
    "dup_5gram_char_frac", "dup_10gram_char_frac",
)
REPETITION_FEATURES = FEATURE_NAMES[-6:]


def _repetition_rules():
    # Imported here: the rule sets live with the heuristics stage (curation/), this module only borrows them.
    from curation.rules.gopher import GopherRepetitionRules

    return GopherRepetitionRules(
        max_dup_para_frac=None, max_dup_para_char_frac=None, max_top_4gram_char_frac=None,
        max_dup_6gram_char_frac=None, max_dup_7gram_char_frac=None, max_dup_8gram_char_frac=None,
        max_dup_9gram_char_frac=None)


def _numbers(arr) -> np.ndarray:
    return arr.to_numpy(zero_copy_only=False).astype(np.float64)


def _count(arr, pattern: str) -> np.ndarray:
    return _numbers(pc.count_substring_regex(arr, pattern))


def _flag(arr, pattern: str) -> np.ndarray:
    return _numbers(pc.match_substring_regex(arr, pattern))


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros_like(num, dtype=np.float64), where=den > 0)


def _sum_by(owner: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per-document sums of ``values`` whose document is ``owner``."""
    return np.bincount(owner, weights=values, minlength=n).astype(np.float64)


def _owners(lists: pa.ListArray) -> np.ndarray:
    """The row of each element of a flattened list array."""
    return np.repeat(np.arange(len(lists)), pc.list_value_length(lists).fill_null(0).to_numpy(zero_copy_only=False))


def dense_features(texts: pa.Array | pa.ChunkedArray | Sequence[str | None]) -> np.ndarray:
    """``(n_docs, len(FEATURE_NAMES))`` float64 features of raw documents (``None`` counts as empty)."""
    arr = texts if isinstance(texts, (pa.Array, pa.ChunkedArray)) else pa.array(list(texts), type=pa.string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks else pa.array([], type=pa.string())
    if pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.string())
    n = len(arr)
    out = np.zeros((n, len(FEATURE_NAMES)), dtype=np.float64)
    if n == 0:
        return out
    arr = pc.fill_null(arr, "")
    head = pc.utf8_slice_codeunits(arr, 0, FEATURE_CHARS)

    words = _count(head, WORD)
    letters = _numbers(pc.utf8_length(pc.replace_substring_regex(head, r"[^\pL]+", "")))
    digits = _count(head, r"\p{Nd}")
    upper = _count(head, r"\p{Lu}")
    tokens = pc.utf8_split_whitespace(head)
    non_space = _sum_by(_owners(tokens), _numbers(pc.utf8_length(pc.list_flatten(tokens))), n)
    sentences = _count(head, SENTENCE_END)

    # Lines: the non-empty lines of every document in one flat array, summed back per document.
    lines = pc.split_pattern(head, "\n")
    line_doc = _owners(lines)
    flat = pc.utf8_trim_whitespace(pc.list_flatten(lines))
    keep = _numbers(pc.utf8_length(flat)) > 0
    flat, line_doc = flat.filter(pa.array(keep)), line_doc[keep]
    n_lines = _sum_by(line_doc, np.ones(len(flat)), n)

    def line_frac(values: np.ndarray) -> np.ndarray:
        return _div(_sum_by(line_doc, np.asarray(values, dtype=np.float64), n), n_lines)

    line_tokens = _numbers(pc.list_value_length(pc.utf8_split_whitespace(flat)))
    title_case = (line_tokens >= 2) & (line_tokens <= 12) & (_count(flat, CAPITALISED) >= 0.7 * line_tokens)

    columns = {
        "log_chars": np.log1p(_numbers(pc.utf8_length(arr))),
        "log_words": np.log1p(words),
        "mean_word_length": _div(letters, words),
        "stop_word_frac": _div(_count(head, STOP_WORD), words),
        "line_end_punct_frac": line_frac(_flag(flat, LINE_END)),
        "log_words_per_line": np.log1p(line_frac(line_tokens)),
        "short_line_frac": line_frac(line_tokens < 4),
        "long_line_frac": line_frac(line_tokens >= 20),
        "boilerplate_line_frac": line_frac(_flag(flat, BOILERPLATE)),
        "bullet_line_frac": line_frac(_flag(flat, BULLET_START)),
        "title_case_line_frac": line_frac(title_case),
        "alpha_char_frac": _div(letters, non_space),
        "digit_char_frac": _div(digits, non_space),
        "upper_letter_frac": _div(upper, letters),
        "punct_char_frac": _div(np.maximum(non_space - letters - digits, 0), non_space),
        "url_per_word": _count(head, URL) / (words + 1),
        "log_sentences": np.log1p(sentences),
        "log_words_per_sentence": np.log1p(words / (sentences + 1)),
    }
    repetition = _repetition_rules().features(head.to_pylist())
    columns.update({name: repetition[name] for name in REPETITION_FEATURES})
    for j, name in enumerate(FEATURE_NAMES):
        out[:, j] = columns[name]
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)
