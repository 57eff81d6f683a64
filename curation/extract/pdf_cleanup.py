"""Cleanup of extracted PDF page text: running headers/footers and page numbers, hyphenation, whitespace.

Works on :class:`PageLines` (the lines of each page in reading order, with their vertical position when the
text layer gave one) so that headers and footers are recognized by where they sit and by their repetition
across pages, before the pages are joined into one document text.
"""
from __future__ import annotations

import re
import unicodedata
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
# Text-layer lines entirely inside the top or bottom 5% of the page are margin material (running heads, page
# numbers, "Downloaded from ..." stamps, journal footers): body text stays inside the page margins.
MARGIN = 0.05
HEAD_BAND = 0.15  # a numbered running head sits in the top or bottom 15% of the page
ROW_TOLERANCE = 0.01  # lines whose bottoms are this close (fraction of page height) share a baseline
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")
_NUMBERED_HEAD = re.compile(r"^\d{1,4}\s+(\D.*)$|^(.*\D)\s+\d{1,4}$")
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


def _is_numbered_head(line: Line) -> bool:
    """A short line of capitalized words with a page number at either end: "400 BRITISH HUSBANDRY. [Ch. XIX."
    or "Brief Notices 17". Lowercase words mean a sentence ("1848 was a year ..."), not a head."""
    match = _NUMBERED_HEAD.match(line.text.strip())
    if not match or len(line.text) > 80:
        return False
    words = (match.group(1) or match.group(2)).split()
    return 2 <= len(words) <= 10 and not any(w[0].islower() for w in words)


def _in_margin(line: Line) -> bool:
    return line.top is not None and (line.bottom <= MARGIN or line.top >= 1 - MARGIN)


def _numbered_head_rows(lines: list[Line]) -> set[int]:
    """Ids of the lines of a page's top-most and bottom-most rows when such a row, within the outer 15% of
    the page and short, holds a page number: a book's "400  BRITISH HUSBANDRY.  [Ch. XIX." running head."""
    placed = [line for line in lines if line.top is not None]
    drop: set[int] = set()
    for edge, inside in ((min, lambda y: y <= HEAD_BAND), (max, lambda y: y >= 1 - HEAD_BAND)):
        if not placed:
            break
        anchor = edge(placed, key=lambda line: line.bottom)
        row = [line for line in placed if abs(line.bottom - anchor.bottom) <= ROW_TOLERANCE]
        if inside(anchor.bottom) and any(_is_page_number(line) or _is_numbered_head(line) for line in row) \
                and sum(len(line.text) for line in row) <= 80:
            drop |= {id(line) for line in row}
    return drop


def _drop_edges(page: PageLines, running: set[str]) -> PageLines:
    lines = page.lines()
    drop = {id(line) for line in lines if _in_margin(line)}
    drop |= _numbered_head_rows([line for line in lines if id(line) not in drop])
    inside = [line for line in lines if id(line) not in drop]
    drop |= {id(inside[i]) for i in _edge_indexes(inside)
             if _repetition_key(inside[i].text) in running or _is_page_number(inside[i])}
    if inside and inside[0].top is None and _is_numbered_head(inside[0]):  # OCR text: no positions, first line
        drop.add(id(inside[0]))
    if len(drop) == len(lines):  # a page that is nothing but its "header" (every page alike): keep it
        return page
    return PageLines([item for item in page.items if item is None or id(item) not in drop])


_HYPHEN_BREAK = re.compile(r"(\w)[-\u2010\u00ad]\n(?=[a-z])")
_SOFT_HYPHEN = "\u00ad"
# A drop cap is a block of its own: "O\n\nver the past" -> "Over the past"
_DROP_CAP = re.compile(r"(?m)^([A-Z])\n\n?(?=[a-z])")
# TeX's ``quotes'' come out as two single quotation marks
_DOUBLE_SINGLE_QUOTES = (("\u2018\u2018", "\u201c"), ("\u2019\u2019", "\u201d"))
# Accents that TeX sets as separate spacing glyphs before the letter ("J´an Min´aˇc"), with their combining form
_SPACING_ACCENTS = {"\u00b4": "\u0301", "\u02c6": "\u0302", "\u02dc": "\u0303",
                    "\u00a8": "\u0308", "\u02c7": "\u030c", "\u02d8": "\u0306", "\u02d9": "\u0307",
                    "\u02da": "\u030a", "\u00b8": "\u0327", "\u02db": "\u0328", "\u00af": "\u0304"}
_ACCENT_BEFORE_LETTER = re.compile(f"([{''.join(_SPACING_ACCENTS)}])([^\\W\\d_])")


def _attach_accent(match: re.Match) -> str:
    composed = unicodedata.normalize("NFC", match.group(2) + _SPACING_ACCENTS[match.group(1)])
    # only where a precomposed letter exists: an acute used as an apostrophe ("don´t") stays as it is
    return composed if len(composed) == 1 else match.group(0)


_ODD_SPACES = re.compile(r"[^\S\n]+")  # any whitespace but newline (NBSP, thin spaces, tabs)
_BLANK_LINES = re.compile(r"\n{3,}")


def normalize_page_text(text: str) -> str:
    """Undo line-end hyphenation, rejoin drop caps and TeX accents and quotes, unify spaces, strip line ends,
    at most one blank line in a row."""
    text = _HYPHEN_BREAK.sub(r"\1", text)
    text = text.replace(_SOFT_HYPHEN, "")
    text = _DROP_CAP.sub(r"\1", text)
    text = _ACCENT_BEFORE_LETTER.sub(_attach_accent, text)
    for pair, quote in _DOUBLE_SINGLE_QUOTES:
        text = text.replace(pair, quote)
    text = _ODD_SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def drop_ocr_noise(text: str) -> str:
    """OCR text without the lines that OCR reads into pictures, rules and specks: fewer than 3 letters or
    digits, or more other symbols than letters and digits."""
    kept = []
    for line in text.split("\n"):
        alnum = sum(c.isalnum() for c in line)
        other = sum(not c.isalnum() and not c.isspace() for c in line)
        kept.append(line if alnum >= 3 and alnum >= other else "")
    return "\n".join(kept)


def clean_pages(pages: list[PageLines], remove_headers_footers: bool = True) -> tuple[str, list[int]]:
    """One document text from its pages, and the character offset where each page starts in it."""
    if remove_headers_footers:
        running = _running_lines([[line for line in p.lines() if not _in_margin(line)] for p in pages])
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
