"""The text units heuristic rules count (words, lines, paragraphs, word n-grams) and the duplicate measures the
Gopher and FineWeb rule sets share.

Words are maximal runs of word characters, joined across inner apostrophes and hyphens (``don't``,
``state-of-the-art``); punctuation is not a word. This stands in for NLTK's ``word_tokenize`` used by DataTrove
(no model download, ~20x faster); counts differ from it only around punctuation.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Callable

import numpy as np

WORD_RE = re.compile(r"\w+(?:['’\-]\w+)*")
# Words plus single punctuation marks: close to NLTK's token count, used where a rule divides by tokens.
TOKEN_RE = re.compile(r"\w+(?:['’\-]\w+)*|[^\w\s]")
PARAGRAPH_BREAK_RE = re.compile(r"\n{2,}")

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def words(text: str) -> list[str]:
    return WORD_RE.findall(text)


def duplicate_counts(items: list[str]) -> tuple[int, int]:
    """(items that repeat an earlier item, characters in those repeats): DataTrove's ``find_duplicates``."""
    counts = Counter(items)
    repeats = len(items) - len(counts)
    chars = sum((c - 1) * len(item) for item, c in counts.items() if c > 1)
    return repeats, chars


class WordNgrams:
    """Word n-grams of one document as 64-bit keys, with their character lengths (words joined by one space)."""

    def __init__(self, doc_words: list[str]):
        vocab: dict[str, int] = {}
        ids = np.fromiter((vocab.setdefault(w, len(vocab)) for w in doc_words), dtype=np.uint64, count=len(doc_words))
        # Scramble ids so the polynomial n-gram keys below do not collide on small id patterns.
        self.mixed = (ids + np.uint64(1)) * _GOLDEN
        self.mixed ^= self.mixed >> np.uint64(29)
        self.char_end = np.concatenate([[0], np.cumsum([len(w) for w in doc_words], dtype=np.int64)])
        self.n_words = len(doc_words)

    def keys(self, n: int) -> np.ndarray:
        count = self.n_words - n + 1
        if count <= 0:
            return np.empty(0, dtype=np.uint64)
        key = self.mixed[:count].copy()
        for k in range(1, n):
            key = key * _GOLDEN + self.mixed[k:k + count]
        return key

    def lengths(self, n: int) -> np.ndarray:
        count = max(self.n_words - n + 1, 0)
        return self.char_end[n:n + count] - self.char_end[:count] + (n - 1)

    def top_ngram_chars(self, n: int) -> int:
        """Characters covered by the most frequent n-gram (count x length; the earliest one among ties)."""
        key = self.keys(n)
        if key.size == 0:
            return 0
        _, first, counts = np.unique(key, return_index=True, return_counts=True)
        best = counts.max()
        j = first[counts == best].min()
        return int(best * self.lengths(n)[j])

    def duplicate_ngram_chars(self, n: int) -> int:
        """Characters in n-grams that repeat an earlier one, skipping past each repeat (DataTrove's
        ``find_all_duplicate``), so overlapping repeats are not counted twice."""
        key = self.keys(n).tolist()
        length = self.lengths(n).tolist()
        seen: set[int] = set()
        repeated = i = 0
        while i < len(key):
            if key[i] in seen:
                repeated += length[i]
                i += n
            else:
                seen.add(key[i])
                i += 1
        return repeated


def enabled_failures(params, set_name: str, tests: dict[str, Callable[[object], np.ndarray]]) -> dict[str, np.ndarray]:
    """``{"<set>.<param>": failed mask}`` for each rule whose parameter is set (not null / not false).

    ``tests`` maps a threshold parameter name to a function of its value returning a boolean fail mask.
    """
    out = {}
    for name, test in tests.items():
        value = getattr(params, name)
        if value is not None and value is not False:
            out[f"{set_name}.{name}"] = np.asarray(test(value), dtype=bool)
    return out


def ratio(numerator, denominator) -> np.ndarray:
    """Element-wise numerator / denominator with 0 where the denominator is 0."""
    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)
