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
from numba import njit

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
        # Python's string hash (salted per process, but only compared within one document), scrambled so the
        # polynomial n-gram keys below do not collide on structured inputs.
        hashes = np.fromiter(map(hash, doc_words), dtype=np.int64, count=len(doc_words)).view(np.uint64)
        self.mixed = hashes * _GOLDEN
        self.mixed ^= self.mixed >> np.uint64(29)
        lengths = np.fromiter(map(len, doc_words), dtype=np.int64, count=len(doc_words))
        self.char_end = np.concatenate([[0], np.cumsum(lengths)])
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
        return int(_ngram_repetition(self.keys(n), self.lengths(n), n)[0])

    def duplicate_ngram_chars(self, n: int) -> int:
        """Characters in n-grams that repeat an earlier one, skipping past each repeat (DataTrove's
        ``find_all_duplicate``), so overlapping repeats are not counted twice."""
        return int(_ngram_repetition(self.keys(n), self.lengths(n), n)[1])


@njit(cache=True)
def _ngram_repetition(keys, lengths, n):
    """(top n-gram characters, skip-ahead repeated characters) with an open-addressing hash table: sequential by
    definition (a repeat makes the scan jump n positions), hence compiled."""
    m = keys.size
    if m == 0:
        return 0, 0
    size = 1
    while size < 2 * m:
        size *= 2
    mask = np.uint64(size - 1)
    slot_key = np.zeros(size, dtype=np.uint64)
    used = np.zeros(size, dtype=np.bool_)
    count = np.zeros(size, dtype=np.int64)
    first = np.zeros(size, dtype=np.int64)
    slot_of = np.empty(m, dtype=np.int64)
    for i in range(m):
        s = np.int64(keys[i] & mask)
        while used[s] and slot_key[s] != keys[i]:
            s = (s + 1) & (size - 1)
        if not used[s]:
            used[s] = True
            slot_key[s] = keys[i]
            first[s] = i
        count[s] += 1
        slot_of[i] = s
    best = -1
    for s in range(size):
        if used[s] and (best < 0 or count[s] > count[best] or (count[s] == count[best] and first[s] < first[best])):
            best = s
    top = count[best] * lengths[first[best]]
    seen = np.zeros(size, dtype=np.bool_)
    repeated = 0
    i = 0
    while i < m:
        if seen[slot_of[i]]:
            repeated += lengths[i]
            i += n
        else:
            seen[slot_of[i]] = True
            i += 1
    return top, repeated


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
