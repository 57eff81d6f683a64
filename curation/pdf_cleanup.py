"""Cleanup of extracted PDF page text: running headers/footers and page numbers, hyphenation, whitespace.

Works on :class:`PageLines` (the lines of each page in reading order, with their vertical position when the
text layer gave one) so that headers and footers are recognized by where they sit and by their repetition
across pages, before the pages are joined into one document text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass
class Line:
    text: str
    top: float | None = None  # 0 = top edge of the page, 1 = bottom edge; None for OCR text
    bottom: float | None = None


@dataclass
class PageLines:
    """A page's lines; ``None`` entries end a block (paragraph, table cell, column piece)."""

    items: list[Line | None] = field(default_factory=list)

    def add(self, text: str, top: float | None = None, bottom: float | None = None) -> None:
        self.items.append(Line(text, top, bottom))

    def end_block(self) -> None:
        if self.items and self.items[-1] is not None:
            self.items.append(None)

    @classmethod
    def from_text(cls, text: str) -> "PageLines":
        page = cls()
        for raw in text.split("\n"):
            if raw.strip():
                page.add(raw)
            else:
                page.end_block()
        return page

    def lines(self) -> list[Line]:
        return [item for item in self.items if item is not None]

    def text(self) -> str:
        """Lines joined by newlines, blocks by blank lines."""
        out: list[str] = []
        for item in self.items:
            if item is None:
                if out and out[-1] != "":
                    out.append("")
            else:
                out.append(item.text)
        return "\n".join(out).strip("\n")


# How many lines at the top and at the bottom of a page can be a running header or footer.
EDGE_LINES = 3
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")
_PAGE_NUMBER = re.compile(
    r"^(page|seite|p\.)?\s*[-–—]?\s*(\d{1,4}|[ivxlcdm]{1,7})\s*[-–—]?\s*((of|/|von)\s*\d{1,4})?$", re.IGNORECASE)


def _edge_indexes(lines: list[Line]) -> list[int]:
    n = len(lines)
    return sorted(set(range(min(EDGE_LINES, n))) | set(range(max(0, n - EDGE_LINES), n)))


def _repetition_key(text: str) -> str:
    # page numbers and dates inside a running header change from page to page
    return _SPACE.sub(" ", _DIGITS.sub("#", text.strip().lower()))


def _running_lines(pages: list[list[Line]]) -> set[str]:
    """Keys of edge lines repeated on enough pages to be running headers/footers."""
    with_text = [p for p in pages if p]
    if len(with_text) < 3:
        return set()
    counts: dict[str, int] = {}
    for lines in with_text:
        for key in {_repetition_key(lines[i].text) for i in _edge_indexes(lines)}:
            counts[key] = counts.get(key, 0) + 1
    # 40%: headers alternating between even and odd pages still qualify
    needed = max(2, 0.4 * len(with_text))
    return {key for key, count in counts.items() if count >= needed and key}


def _is_page_number(line: Line) -> bool:
    return bool(_PAGE_NUMBER.match(line.text.strip()))


def _drop_edges(page: PageLines, running: set[str]) -> PageLines:
    lines = page.lines()
    edges = set(_edge_indexes(lines))
    drop = {id(lines[i]) for i in edges if _repetition_key(lines[i].text) in running or _is_page_number(lines[i])}
    if len(drop) == len(lines):  # a page that is nothing but its "header" (every page alike): keep it
        return page
    return PageLines([item for item in page.items if item is None or id(item) not in drop])


_HYPHEN_BREAK = re.compile(r"(\w)[-\u2010\u00ad]\n(?=[a-z])")
_SOFT_HYPHEN = "\u00ad"
_ODD_SPACES = re.compile(r"[^\S\n]+")  # any whitespace but newline (NBSP, thin spaces, tabs)
_BLANK_LINES = re.compile(r"\n{3,}")


def normalize_page_text(text: str) -> str:
    """Undo line-end hyphenation, unify spaces, strip line ends, at most one blank line in a row."""
    text = _HYPHEN_BREAK.sub(r"\1", text)
    text = text.replace(_SOFT_HYPHEN, "")
    text = _ODD_SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def clean_pages(pages: list[PageLines], remove_headers_footers: bool = True) -> tuple[str, list[int]]:
    """One document text from its pages, and the character offset where each page starts in it."""
    if remove_headers_footers:
        running = _running_lines([p.lines() for p in pages])
        pages = [_drop_edges(p, running) for p in pages]
    text = ""
    offsets: list[int] = []
    for page in pages:
        page_text = normalize_page_text(page.text())
        if text and page_text:
            text += "\n\n"
        offsets.append(len(text))
        text += page_text
    return text, offsets
