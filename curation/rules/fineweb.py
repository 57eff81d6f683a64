"""FineWeb's own quality rules (Penedo et al. 2024, "The FineWeb Datasets", Sec. 3.6 and App. E; DataTrove
``FineWebQualityFilter`` defaults, which the released dataset used).

Lines are split on "\\n" only, as in FineWeb. Boundaries follow DataTrove: ``min_line_punct_ratio`` fails at or
below the threshold, ``max_short_line_ratio`` and ``max_dup_line_char_ratio`` at or above it,
``max_newline_token_ratio`` above it.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from curation.pipeline.stage import StageParams
from curation.rules.text import TOKEN_RE, duplicate_counts, enabled_failures, ratio

STOP_CHARS = (".", "'", '"', "!", "?")


class FineWebRules(StageParams):
    """Line-shape rules: lines ending in punctuation, short lines, duplicated line characters, list-like pages."""

    set_name: ClassVar[str] = "fineweb"

    min_line_punct_ratio: float | None = Field(
        0.12, description="fail a page whose share of lines ending with . ' \" ! ? is at or below this")
    line_punct_exclude_zero: bool = Field(False, description="let a page with no such line at all pass (for "
                                                             "unpunctuated languages)")
    max_short_line_ratio: float | None = Field(0.67, description="fail a page whose share of lines of at most "
                                                                 "short_line_length characters is at or above this")
    short_line_length: int = Field(30, description="the longest line, in characters, that counts as short")
    max_dup_line_char_ratio: float | None = Field(0.01, description="fail a page whose characters in repeated "
                                                                    "non-empty lines, over its non-newline "
                                                                    "characters, are at or above this")
    max_newline_token_ratio: float | None = Field(0.3, description="fail a page with more newlines per word or "
                                                                   "punctuation token than this")

    def features(self, texts: list[str]) -> dict[str, np.ndarray]:
        rows = []
        for text in texts:
            lines = text.split("\n")
            rows.append((
                len(lines),
                sum(line.endswith(STOP_CHARS) for line in lines),
                sum(len(line) <= self.short_line_length for line in lines),
                duplicate_counts([line for line in lines if line.strip()])[1],
                len(text) - (len(lines) - 1),
                len(lines) - 1,
                len(TOKEN_RE.findall(text)),
            ))
        m = np.array(rows, dtype=np.float64).reshape(-1, 7)
        return {
            "line_punct_ratio": ratio(m[:, 1], m[:, 0]),
            "short_line_ratio": ratio(m[:, 2], m[:, 0]),
            "dup_line_char_ratio": ratio(m[:, 3], m[:, 4]),
            "newline_token_ratio": ratio(m[:, 5], m[:, 6]),
        }

    def failures(self, texts: list[str]) -> dict[str, np.ndarray]:
        f = self.features(texts)
        punct = f["line_punct_ratio"]
        return enabled_failures(self, self.set_name, {
            "min_line_punct_ratio": lambda t: (punct <= t) & ~((punct == 0) & self.line_punct_exclude_zero),
            "max_short_line_ratio": lambda t: f["short_line_ratio"] >= t,
            "max_dup_line_char_ratio": lambda t: f["dup_line_char_ratio"] >= t,
            "max_newline_token_ratio": lambda t: f["newline_token_ratio"] > t,
        })
