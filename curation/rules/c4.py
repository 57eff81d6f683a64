"""C4 rules (Raffel et al. 2020, Sec. 2.2; TensorFlow Datasets ``c4_utils.clean_page``; DataTrove
``C4QualityFilter``), as document-level rules.

C4 first drops lines (no terminal punctuation, fewer than 3 words, a word over 1000 characters, mentioning
"javascript", cookie/terms-of-use boilerplate) and then judges the page by the lines that survive: a page is
rejected if such a line contains "lorem ipsum" or a curly bracket, or if they hold fewer than 5 sentences.
This stage annotates and never rewrites text, so the line filters only decide which lines the three page rules
look at. The bad-words list rule is not included (the list cannot be downloaded at run time).
"""
from __future__ import annotations

import re
from typing import ClassVar

import numpy as np
from pydantic import Field

from curation.pipeline.stage import StageParams
from curation.rules.text import enabled_failures

CITATION_RE = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
END_PUNCTUATION = (".", "?", "!", '"', "'")
POLICY_PHRASES = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")
# A sentence ends at . ! or ? (possibly followed by closing quotes/brackets) before whitespace or the line end;
# stands in for NLTK's punkt sentence splitter.
SENTENCE_END_RE = re.compile(r"[.!?]+[\"'’”)\]]*(?=\s|$)")


class C4Rules(StageParams):
    """Page rules (``lorem_ipsum``, ``curly_bracket``, ``min_sentences``) over the lines C4 keeps."""

    set_name: ClassVar[str] = "c4"

    lorem_ipsum: bool = Field(True, description="fail a page whose kept lines say 'lorem ipsum'")
    curly_bracket: bool = Field(True, description="fail a page whose kept lines hold a curly bracket")
    min_sentences: int | None = Field(5, description="fail a page whose kept lines hold fewer sentences than this")
    # Which lines count (C4's line filters). FineWeb runs C4 with ``line_end_punct: false``.
    line_end_punct: bool = Field(True, description="keep only lines that end in terminal punctuation (FineWeb runs C4 "
                                                   "with false)")
    min_words_per_line: int = Field(3, description="keep only lines with at least this many words")
    max_word_length: int = Field(1000, description="drop lines with a word longer than this many characters")
    drop_javascript_lines: bool = Field(True, description="drop lines that mention javascript")
    drop_policy_lines: bool = Field(True, description="drop cookie, privacy and terms-of-use lines")
    remove_citations: bool = Field(True, description="remove citation marks ([1], [edit], [citation needed]) before "
                                                     "judging a line")

    def page_features(self, text: str) -> tuple[bool, bool, int]:
        """(a kept line says "lorem ipsum", a kept line has "{", sentences in kept lines)."""
        lorem = curly = False
        sentences = 0
        for raw in text.splitlines():
            line = raw.strip()
            line_words = line.split()
            if any(len(w) > self.max_word_length for w in line_words):
                continue
            if self.remove_citations:
                line = CITATION_RE.sub("", line)
            if self.line_end_punct and (not line.endswith(END_PUNCTUATION) or line.endswith("...")):
                continue
            if len(line_words) < self.min_words_per_line:
                continue
            lower = line.lower()
            lorem = lorem or "lorem ipsum" in lower
            if self.drop_javascript_lines and "javascript" in lower:
                continue
            curly = curly or "{" in line
            if self.drop_policy_lines and any(p in lower for p in POLICY_PHRASES):
                continue
            sentences += max(1, len(SENTENCE_END_RE.findall(line)))
        return lorem, curly, sentences

    def failures(self, texts: list[str]) -> dict[str, np.ndarray]:
        m = np.array([self.page_features(t) for t in texts], dtype=np.int64).reshape(-1, 3)
        return enabled_failures(self, self.set_name, {
            "lorem_ipsum": lambda _: m[:, 0] > 0,
            "curly_bracket": lambda _: m[:, 1] > 0,
            "min_sentences": lambda t: m[:, 2] < t,
        })
