"""Gopher quality and repetition rules (Rae et al. 2021, "Scaling Language Models", App. A, Table A1).

Thresholds follow the paper and DataTrove's ``GopherQualityFilter`` / ``GopherRepetitionFilter``. Every rule is
one parameter; its failure is named ``<set>.<parameter>`` (``gopher_quality.min_words``); a null parameter turns
the rule off. Unlike DataTrove, all rules are evaluated (not stopping at the first failure), so each document
lists every rule it fails.
"""
from __future__ import annotations

import re
from typing import ClassVar

import numpy as np
from pydantic import Field

from curation.pipeline.stage import StageParams
from curation.rules.text import PARAGRAPH_BREAK_RE, WordNgrams, duplicate_counts, enabled_failures, ratio, words

# Gopher counts "•"; the other marks are the bullets extracted web text and Markdown lists use.
BULLETS = ("•", "●", "○", "▪", "■", "◦", "‣", "-", "*")
ELLIPSES = ("...", "…")
LETTER_RE = re.compile(r"[^\W\d_]")


class GopherQualityRules(StageParams):
    """Document-level quality rules: length, word shape, symbols, list-like and ellipsis-heavy pages, stop words."""

    set_name: ClassVar[str] = "gopher_quality"

    min_words: int | None = Field(50, description="fail a document with fewer words than this")
    max_words: int | None = Field(100_000, description="fail a document with more words than this")
    min_avg_word_length: float | None = Field(3, description="fail a document whose mean word length (characters) is "
                                                             "below this")
    max_avg_word_length: float | None = Field(10, description="fail a document whose mean word length (characters) is "
                                                              "above this")
    max_hash_word_ratio: float | None = Field(0.1, description="fail a document with more '#' per word than this")
    max_ellipsis_word_ratio: float | None = Field(0.1, description="fail a document with more '...' or '…' per word "
                                                                   "than this")
    max_bullet_lines_ratio: float | None = Field(0.9, description="fail a document whose share of lines starting with "
                                                                  "a bullet is above this")
    max_ellipsis_lines_ratio: float | None = Field(0.3, description="fail a document whose share of lines ending with "
                                                                    "an ellipsis is above this")
    min_alpha_words_ratio: float | None = Field(0.8, description="fail a document whose share of words with a letter "
                                                                 "is below this")
    min_stop_words: int | None = Field(2, description="fail a document with fewer occurrences of stop_words than this "
                                                      "(case-insensitive)")
    stop_words: list[str] = Field(["the", "be", "to", "of", "and", "that", "have", "with"],
                                  description="the words min_stop_words counts")

    def features(self, texts: list[str]) -> dict[str, np.ndarray]:
        stop_re = re.compile(r"\b(?:" + "|".join(map(re.escape, self.stop_words)) + r")\b")
        rows = []
        for text in texts:
            doc_words = words(text)
            lines = text.splitlines() or [""]
            rows.append((
                len(doc_words),
                sum(map(len, doc_words)),
                text.count("#"),
                sum(text.count(e) for e in ELLIPSES),
                len(lines),
                sum(line.lstrip().startswith(BULLETS) for line in lines),
                sum(line.rstrip().endswith(ELLIPSES) for line in lines),
                len(list(filter(LETTER_RE.search, doc_words))),
                len(stop_re.findall(text.lower())),
            ))
        m = np.array(rows, dtype=np.float64).reshape(-1, 9)
        n_words, n_lines = m[:, 0], m[:, 4]
        return {
            "words": n_words,
            "avg_word_length": ratio(m[:, 1], n_words),
            "hash_word_ratio": ratio(m[:, 2], n_words),
            "ellipsis_word_ratio": ratio(m[:, 3], n_words),
            "bullet_lines_ratio": ratio(m[:, 5], n_lines),
            "ellipsis_lines_ratio": ratio(m[:, 6], n_lines),
            "alpha_words_ratio": ratio(m[:, 7], n_words),
            "stop_words": m[:, 8],
        }

    def failures(self, texts: list[str]) -> dict[str, np.ndarray]:
        f = self.features(texts)
        # An empty document has no average word length or alpha ratio to judge; min_words rejects it.
        has_words = f["words"] > 0
        return enabled_failures(self, self.set_name, {
            "min_words": lambda t: f["words"] < t,
            "max_words": lambda t: f["words"] > t,
            "min_avg_word_length": lambda t: has_words & (f["avg_word_length"] < t),
            "max_avg_word_length": lambda t: f["avg_word_length"] > t,
            "max_hash_word_ratio": lambda t: f["hash_word_ratio"] > t,
            "max_ellipsis_word_ratio": lambda t: f["ellipsis_word_ratio"] > t,
            "max_bullet_lines_ratio": lambda t: f["bullet_lines_ratio"] > t,
            "max_ellipsis_lines_ratio": lambda t: f["ellipsis_lines_ratio"] > t,
            "min_alpha_words_ratio": lambda t: has_words & (f["alpha_words_ratio"] < t),
            "min_stop_words": lambda t: f["stop_words"] < t,
        })


TOP_NGRAM_SIZES = (2, 3, 4)
DUP_NGRAM_SIZES = (5, 6, 7, 8, 9, 10)


class GopherRepetitionRules(StageParams):
    """Repetition rules: duplicated lines and paragraphs, the most frequent short n-gram, repeated long n-grams.

    Fractions are of the document's characters, except ``max_dup_line_frac`` / ``max_dup_para_frac`` (of lines /
    paragraphs). Paragraphs are separated by two or more newlines. Blank lines are not lines here (DataTrove counts
    them, so any page with blank lines between paragraphs fails ``max_dup_line_frac``).
    """

    set_name: ClassVar[str] = "gopher_repetition"

    max_dup_para_frac: float | None = Field(0.30, description="fail a document whose share of duplicated paragraphs is "
                                                              "above this")
    max_dup_para_char_frac: float | None = Field(0.20, description="fail a document whose share of characters in "
                                                                   "duplicated paragraphs is above this")
    max_dup_line_frac: float | None = Field(0.30, description="fail a document whose share of duplicated lines is "
                                                              "above this")
    max_dup_line_char_frac: float | None = Field(0.20, description="fail a document whose share of characters in "
                                                                   "duplicated lines is above this")
    max_top_2gram_char_frac: float | None = Field(0.20, description="fail a document whose most frequent word 2-gram "
                                                                    "covers more of its characters than this")
    max_top_3gram_char_frac: float | None = Field(0.18, description="fail a document whose most frequent word 3-gram "
                                                                    "covers more of its characters than this")
    max_top_4gram_char_frac: float | None = Field(0.16, description="fail a document whose most frequent word 4-gram "
                                                                    "covers more of its characters than this")
    max_dup_5gram_char_frac: float | None = Field(0.15, description="fail a document whose repeated word 5-grams cover "
                                                                    "more of its characters than this")
    max_dup_6gram_char_frac: float | None = Field(0.14, description="fail a document whose repeated word 6-grams cover "
                                                                    "more of its characters than this")
    max_dup_7gram_char_frac: float | None = Field(0.13, description="fail a document whose repeated word 7-grams cover "
                                                                    "more of its characters than this")
    max_dup_8gram_char_frac: float | None = Field(0.12, description="fail a document whose repeated word 8-grams cover "
                                                                    "more of its characters than this")
    max_dup_9gram_char_frac: float | None = Field(0.11, description="fail a document whose repeated word 9-grams cover "
                                                                    "more of its characters than this")
    max_dup_10gram_char_frac: float | None = Field(0.10, description="fail a document whose repeated word 10-grams "
                                                                     "cover more of its characters than this")

    def features(self, texts: list[str]) -> dict[str, np.ndarray]:
        top_sizes = [n for n in TOP_NGRAM_SIZES if getattr(self, f"max_top_{n}gram_char_frac") is not None]
        dup_sizes = [n for n in DUP_NGRAM_SIZES if getattr(self, f"max_dup_{n}gram_char_frac") is not None]
        width = 7 + len(top_sizes) + len(dup_sizes)
        rows = []
        for text in texts:
            paragraphs = PARAGRAPH_BREAK_RE.split(text.strip())
            lines = [line for line in text.splitlines() if line.strip()]
            row = [len(text), len(paragraphs), *duplicate_counts(paragraphs), len(lines), *duplicate_counts(lines)]
            ngrams = WordNgrams(words(text)) if top_sizes or dup_sizes else None
            row += [ngrams.top_ngram_chars(n) for n in top_sizes]
            row += [ngrams.duplicate_ngram_chars(n) for n in dup_sizes]
            rows.append(row)
        m = np.array(rows, dtype=np.float64).reshape(-1, width)
        chars = m[:, 0]
        out = {
            "dup_para_frac": ratio(m[:, 2], m[:, 1]),
            "dup_para_char_frac": ratio(m[:, 3], chars),
            "dup_line_frac": ratio(m[:, 5], m[:, 4]),
            "dup_line_char_frac": ratio(m[:, 6], chars),
        }
        for j, n in enumerate(top_sizes):
            out[f"top_{n}gram_char_frac"] = ratio(m[:, 7 + j], chars)
        for j, n in enumerate(dup_sizes):
            out[f"dup_{n}gram_char_frac"] = ratio(m[:, 7 + len(top_sizes) + j], chars)
        return out

    def failures(self, texts: list[str]) -> dict[str, np.ndarray]:
        f = self.features(texts)

        def above(feature: str):
            return lambda t: f[feature] > t

        names = ["dup_para_frac", "dup_para_char_frac", "dup_line_frac", "dup_line_char_frac"]
        names += [f"top_{n}gram_char_frac" for n in TOP_NGRAM_SIZES] + [f"dup_{n}gram_char_frac" for n in DUP_NGRAM_SIZES]
        return enabled_failures(self, self.set_name, {f"max_{name}": above(name) for name in names})
