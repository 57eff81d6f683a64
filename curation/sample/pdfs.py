"""The PDF part of the sample: born-digital reports with metadata, running headers, page numbers and hyphenated line
ends, one with a scanned (image-only) page that only OCR recovers, and a corrupt file."""
from __future__ import annotations

import functools
import random
import re
from pathlib import Path

import pymupdf

from curation.sample import bank
from curation.sample.compose import Composer, Planted, slug

_PAGE = pymupdf.paper_rect("a4")
_MARGIN = 72
_BODY_SIZE = 11
_LEADING = 15
_HYPHEN_SPLIT = re.compile(r"(?<=[aeiouy][b-df-hj-np-tv-z])(?=[b-df-hj-np-tv-z][aeiouy])")  # VC-CV: tem-perature


@functools.lru_cache(maxsize=None)
def _word_width(word: str, size: float, font: str) -> float:
    return pymupdf.get_text_length(word, fontname=font, fontsize=size)


def _text_width(text: str, size: float = _BODY_SIZE, font: str = "helv") -> float:
    # Base-14 fonts have no kerning, so widths add up; measuring word by word (cached) is far faster.
    words = text.split(" ")
    return sum(_word_width(w, size, font) for w in words) + (len(words) - 1) * _word_width(" ", size, font)


def _hyphenate(word: str, room: float, size: float, font: str) -> tuple[str, str] | None:
    """Split ``word`` at the last VC-CV boundary whose head plus "-" fits in ``room`` points, if any."""
    core = re.match(r"[A-Za-z]+", word)
    if core is None or len(core.group(0)) < 7:
        return None
    cuts = [m.start() for m in _HYPHEN_SPLIT.finditer(core.group(0)) if 3 <= m.start() <= len(core.group(0)) - 3]
    for cut in reversed(cuts):
        if _text_width(word[:cut] + "-", size, font) <= room:
            return word[:cut] + "-", word[cut:]
    return None


def _wrap(text: str, width: float, size: float, font: str, hyphenate: bool) -> list[str]:
    """Greedy line breaking; with ``hyphenate``, long words are split at line ends as typeset reports do."""
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if _text_width(candidate, size, font) <= width:
            line = candidate
            continue
        room = width - _text_width(line + " ", size, font)
        split = _hyphenate(word, room, size, font) if line and hyphenate else None
        if split:
            lines.append(f"{line} {split[0]}")
            line = split[1]
        else:
            lines.append(line)
            line = word
    return lines + [line] if line else lines


class _PdfLayout:
    """Flows headings and paragraphs onto A4 pages, top to bottom, starting new pages as needed."""

    def __init__(self, doc: pymupdf.Document):
        self.doc = doc
        self.page = doc.new_page(width=_PAGE.width, height=_PAGE.height)
        self.y = _MARGIN

    def _line(self, text: str, size: float, font: str, height: float) -> None:
        if self.y + height > _PAGE.height - _MARGIN:
            self.page = self.doc.new_page(width=_PAGE.width, height=_PAGE.height)
            self.y = _MARGIN
        self.y += height
        self.page.insert_text((_MARGIN, self.y), text, fontsize=size, fontname=font)

    def heading(self, text: str, size: float = 13) -> None:
        self.y += 8
        for line in _wrap(text, _PAGE.width - 2 * _MARGIN, size, "hebo", hyphenate=False):
            self._line(line, size, "hebo", size + 6)

    def paragraph(self, text: str, size: float = _BODY_SIZE, font: str = "helv") -> None:
        for line in _wrap(text, _PAGE.width - 2 * _MARGIN, size, font, hyphenate=True):
            self._line(line, size, font, _LEADING)
        self.y += 6


def _scanned_page(doc: pymupdf.Document, lines: tuple[str, ...], dpi: int = 150) -> None:
    """Append a page holding only a raster image of typed text: no text layer, recoverable by OCR."""
    typed = pymupdf.open()
    layout = _PdfLayout(typed)
    for line in lines:
        layout.paragraph(line, size=12, font="cour")
    pixmap = typed[0].get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
    page = doc.new_page(width=_PAGE.width, height=_PAGE.height)
    page.insert_image(page.rect, pixmap=pixmap)


def _report_pdf(topic: str, title: str, organisation: str, author: str, year: int, scanned: bool) -> bytes:
    """A born-digital report: title block, one section per bank paragraph, running header, page numbers."""
    doc = pymupdf.open()
    layout = _PdfLayout(doc)
    layout.heading(title, size=18)
    layout.paragraph(f"{author}, {organisation}, {year}", font="heit")
    for heading, text in zip(bank.TITLES[topic], bank.PARAGRAPHS[topic]):
        layout.heading(heading)
        layout.paragraph(text)
    text_pages = doc.page_count
    if scanned:
        _scanned_page(doc, bank.SCANNED_LETTER)
    for number, page in enumerate(doc, start=1):
        if number > text_pages:
            continue  # a scan carries no text layer, not even the running header
        if number > 1:
            page.insert_text((_MARGIN, 40), title, fontsize=8, fontname="heit")
        footer = f"Page {number} of {doc.page_count}"
        page.insert_text(((_PAGE.width - _text_width(footer, 9)) / 2, _PAGE.height - 36), footer, fontsize=9)
    stamp = f"D:{year}0301120000Z"
    doc.set_metadata({"title": title, "author": author, "subject": organisation, "keywords": topic,
                      "creator": "curation sample corpus writer", "producer": "PyMuPDF",
                      "creationDate": stamp, "modDate": stamp})
    return doc.tobytes(garbage=3, deflate=True, no_new_id=True)


def write_pdfs(out: Path, rng: random.Random, composer: Composer, planted: Planted) -> dict:
    files = {}
    scanned_topic = "local_history"
    for topic, title, organisation in bank.REPORTS:
        composer.accept(topic, " ".join(bank.PARAGRAPHS[topic]))
        name = f"{slug(title)}.pdf"
        data = _report_pdf(topic, title, organisation, rng.choice(bank.AUTHORS), rng.randint(2019, 2024),
                           scanned=topic == scanned_topic)
        (out / name).write_bytes(data)
        with pymupdf.open(stream=data, filetype="pdf") as doc:
            image_only = [i for i, page in enumerate(doc) if not page.get_text().strip()]
            files[name] = {"pages": doc.page_count, "image_only_pages": image_only, "topic": topic}
    # A download that stopped early: the header and first objects survive, the page tree and xref do not.
    (out / "corrupt-truncated.pdf").write_bytes(data[:len(data) // 5])
    planted.broken.append("pdf/corrupt-truncated.pdf")
    return {"files": files, "documents": len(files), "pages": sum(f["pages"] for f in files.values()),
            "corrupt": ["corrupt-truncated.pdf"]}
