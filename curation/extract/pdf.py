"""PDF to text, one document at a time: text layer where it is good, OCR where it is missing or garbled.

:func:`extract_pdf` is a pure function (PDF bytes or path -> result dict) with no Spark in it. Per page it decides
between the text layer and OCR and records the decision (``text_layer`` / ``ocr`` / ``blank`` / ``error``); then
it removes running headers, footers and page numbers, undoes line-end hyphenation and normalizes whitespace
(:mod:`curation.extract.pdf_cleanup`). Broken, encrypted, empty, non-PDF and oversized inputs give a result with a
``reason`` instead of raising.
"""
from __future__ import annotations

import math
import os
import re
import time
import unicodedata
from dataclasses import dataclass

import numpy as np
import pymupdf
from pydantic import BaseModel, ConfigDict, Field, field_validator

from curation.readers.file_source import open_binary
from curation.extract.ocr_backends import OCR_BACKENDS, OcrBackend, ocr_backend
from curation.extract.pdf_cleanup import PageLines, clean_pages, drop_ocr_noise

EXTRACTOR = "pymupdf"


class PdfOptions(BaseModel):
    """Options of the ``pdf`` input format (the spec's ``options:``); unknown keys are an error."""

    model_config = ConfigDict(extra="forbid")

    ocr: bool = True  # False: text layer only, pages without one come out empty
    ocr_backend: str = "tesseract"
    language: str = "eng"  # OCR language(s), Tesseract syntax: "eng", "eng+deu"
    dpi: int = Field(200, ge=50, le=600)  # OCR render resolution
    # Small pages (pocket books, thumbnails of scans) are rendered larger, up to this long side in pixels:
    # Tesseract needs glyphs some 20 pixels high whatever size the page claims to be.
    min_ocr_long_side: int = Field(1600, ge=0)
    # A page rendered for OCR is scaled down to at most this many pixels: bounds time and memory on posters,
    # huge monochrome scans and 2400 dpi pages (12 Mpx is a Letter page at ~330 dpi).
    max_ocr_pixels: int = Field(12_000_000, ge=100_000)
    max_pages: int = Field(2000, ge=1)  # pages beyond are not extracted (meta.extra.pages_skipped)
    max_bytes: int = Field(256 << 20, ge=1)  # larger files become "skipped" rows
    timeout_seconds: float = Field(600.0, gt=0)  # per document; OCR stops at 3/4 of it, the child is killed at it
    memory_mb: int = Field(4096, ge=256)  # address-space limit of the extraction child process
    isolate: bool = True  # extract in a child process (timeout and memory limit enforced by killing it)
    # Text-layer acceptance. Fewer non-space characters than this on a page with ink: OCR.
    min_text_chars: int = Field(20, ge=0)
    # Pages at least half covered by images with less text than this are scans or slides: OCR.
    image_page_max_text_chars: int = Field(400, ge=0)
    # Pages at least half covered by images whose text is invisible (an earlier OCR engine's hidden layer, or
    # transparent handwriting recognition) are OCR'd again rather than trusted.
    reocr_invisible_text: bool = True
    remove_headers_footers: bool = True
    timings: bool = False  # keep meta.extract_seconds in the rows (see curation.readers.file_source.read_files)

    @field_validator("ocr_backend")
    @classmethod
    def _known_backend(cls, name: str) -> str:
        if name not in OCR_BACKENDS:
            raise ValueError(f"unknown OCR backend {name!r} (known: {', '.join(sorted(OCR_BACKENDS))})")
        return name


@dataclass
class PageResult:
    lines: PageLines
    method: str  # text_layer / ocr / blank / error
    note: str | None = None  # OCR pages: why OCR was needed; others: why OCR was not used, or what failed


# why a page is OCR'd, besides a garbled text layer (see garbled_reason)
NO_TEXT = "little or no text"
IMAGE_PAGE = "image-dominated"
INVISIBLE_LAYER = "invisible text layer over an image"

_CID = re.compile(r"\(cid:\d+\)")
_WORD = re.compile(r"\S+")


def garbled_reason(text: str) -> str | None:
    """Why a text layer looks garbled (broken font encodings, missing ToUnicode maps), or None if it looks like text."""
    chars = [c for c in text if not c.isspace()]
    n = len(chars)
    if n == 0:
        return None
    cids = len(_CID.findall(text))
    if cids and cids * 7 / n > 0.05:
        return "cid artifacts"
    bad = sum(1 for c in chars if c == "\ufffd" or unicodedata.category(c) in ("Cc", "Co", "Cs", "Cn"))
    if bad / n > 0.05:
        return "replacement or control characters"
    letters = sum(1 for c in chars if c.isalpha())
    # digits and punctuation are normal (tables, dot leaders of a table of contents); symbols in place of
    # letters are what a broken font encoding produces
    symbols = sum(1 for c in chars if unicodedata.category(c)[0] in "SM")
    if symbols > letters:
        return "more symbols than letters"
    word_letters = [sum(c.isalpha() for c in w) for w in _WORD.findall(text)]
    word_letters = [k for k in word_letters if k]
    if letters >= 50:
        letters_per_word = letters / len(word_letters)
        if letters_per_word > 25:
            return "implausibly long words"
        if letters_per_word < 1.5:
            return "implausibly short words"
    return None


def _image_coverage(page: pymupdf.Page) -> float:
    area = abs(page.rect)
    if not area:
        return 0.0
    covered = sum(abs(pymupdf.Rect(info["bbox"]) & page.rect) for info in page.get_image_info())
    return min(1.0, covered / area)


def _mostly_invisible(page: pymupdf.Page) -> bool:
    """Whether most characters of the text layer are drawn invisibly (render mode 3 or fully transparent)."""
    visible = invisible = 0
    for span in page.get_texttrace():
        n = len(span["chars"])
        if span["type"] == 3 or span["opacity"] == 0:
            invisible += n
        else:
            visible += n
    return invisible > visible


def _has_ink(page: pymupdf.Page) -> bool:
    """Whether anything visible is drawn on the page (checked on a ~200 px thumbnail)."""
    longest = max(page.rect.width, page.rect.height) or 1.0
    zoom = min(1.0, 200.0 / longest)
    pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), colorspace=pymupdf.csGRAY, alpha=False)
    samples = np.frombuffer(pix.samples, dtype=np.uint8)
    return bool(samples.size) and int(samples.max()) - int(samples.min()) > 16


def _ocr_pixmap(page: pymupdf.Page, opts: PdfOptions) -> pymupdf.Pixmap:
    long_side = max(page.rect.width, page.rect.height) or 1.0
    zoom = max(opts.dpi / 72.0, opts.min_ocr_long_side / long_side)
    max_pixels = opts.max_ocr_pixels
    pixels = page.rect.width * zoom * page.rect.height * zoom
    if pixels > max_pixels:
        zoom *= math.sqrt(max_pixels / pixels)
    pixmap = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), colorspace=pymupdf.csRGB, alpha=False)
    pixmap.set_dpi(round(zoom * 72), round(zoom * 72))
    return pixmap


# A "word" of 20+ letters ("CompositionofthepretrainingdataforOLMo2"): a font without space glyphs whose
# word gaps are too narrow for MuPDF to turn into spaces
_RUN_TOGETHER = re.compile(r"[^\W\d_]{20,}")
# a gap wider than this fraction of the font size between two glyphs of a line is a word space
WORD_GAP = 0.1


def _respaced(line: dict) -> str:
    """A line's text rebuilt from its glyph boxes, with a space wherever two glyphs stand a word gap apart."""
    out: list[str] = []
    previous = None
    for span in line["spans"]:
        for char in span["chars"]:
            if previous is not None and char["c"] != " " and out[-1] != " " \
                    and char["bbox"][0] - previous["bbox"][2] > WORD_GAP * span["size"]:
                out.append(" ")
            out.append(char["c"])
            previous = char
    return "".join(out)


def _text_layer_lines(page: pymupdf.Page) -> PageLines:
    """Lines of the text layer in content order with their vertical position; blocks end with a blank line.

    Lines written in a minority direction (rotated margin stamps such as "Downloaded from ...", arXiv ids,
    rotated axis labels) are dropped.
    """
    data = page.get_text("dict", flags=pymupdf.TEXTFLAGS_TEXT)
    glyphs = None  # the page's glyph positions, read only if some line needs its word spaces rebuilt
    lines = []
    for b, block in enumerate(data["blocks"]):
        for n, line in enumerate(block.get("lines", ())):
            text = "".join(span["text"] for span in line["spans"])
            if _RUN_TOGETHER.search(text):
                glyphs = glyphs or page.get_text("rawdict", flags=pymupdf.TEXTFLAGS_TEXT)
                text = _respaced(glyphs["blocks"][b]["lines"][n])
            if text.strip():
                lines.append((line["dir"], line["bbox"], text))
        lines.append(None)
    weight: dict[tuple, int] = {}
    for entry in lines:
        if entry:
            key = (round(entry[0][0]), round(entry[0][1]))
            weight[key] = weight.get(key, 0) + len(entry[2])
    main_dir = max(weight, key=weight.get) if weight else (1, 0)
    height = page.cropbox.height or 1.0  # text coordinates ignore /Rotate, so does the margin test
    out = PageLines()
    for entry in lines:
        if entry is None:
            out.end_block()
        elif (round(entry[0][0]), round(entry[0][1])) == main_dir:
            bbox = entry[1]
            out.add(entry[2], top=bbox[1] / height, bottom=bbox[3] / height)
    return out


def _page(page: pymupdf.Page, opts: PdfOptions, ocr: OcrBackend | None, no_ocr_why: str) -> PageResult:
    """Text of one page and how it was obtained; ``no_ocr_why`` says why ``ocr`` is None when it is."""
    layer = _text_layer_lines(page)
    layer_text = layer.text()
    chars = sum(1 for c in layer_text if not c.isspace())
    garbled = garbled_reason(layer_text)
    reason = garbled
    if reason is None:
        if chars < opts.min_text_chars:
            reason = NO_TEXT
        elif _image_coverage(page) >= 0.5:
            if chars < opts.image_page_max_text_chars:
                reason = IMAGE_PAGE
            elif opts.reocr_invisible_text and _mostly_invisible(page):
                reason = INVISIBLE_LAYER
    if reason is None:
        return PageResult(layer, "text_layer")
    if not _has_ink(page):
        # nothing visible to OCR: an empty page, or an invisible text layer that is all there is
        return PageResult(layer, "text_layer") if chars else PageResult(PageLines(), "blank")
    if ocr is None:
        note = f"not OCR'd, {no_ocr_why} ({reason})"
        return PageResult(layer, "text_layer", note=note) if chars else PageResult(PageLines(), "error", note=note)
    text = drop_ocr_noise(ocr.recognize(_ocr_pixmap(page, opts)))
    if reason in (NO_TEXT, IMAGE_PAGE) and _alnum(text) < _alnum(layer_text):
        # a short but sound text layer (form labels, a title over a picture) beats OCR that read less of it;
        # a garbled or invisible (someone else's OCR) layer is replaced whatever OCR reads
        return PageResult(layer, "text_layer", note=f"OCR read less than the text layer ({reason})")
    return PageResult(PageLines.from_text(text), "ocr", note=reason)


def _alnum(text: str) -> int:
    return sum(c.isalnum() for c in text)


def _meta_str(value) -> str | None:
    value = (value or "").strip()
    return value or None


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the OCR engine may run as a child process)."""
    return sum(os.times()[:4])


def _failure(reason: str, started: float, **meta) -> dict:
    return {"text": None, "reason": reason,
            "meta": {"extractor": EXTRACTOR, "extract_seconds": _cpu_seconds() - started, **meta}}


def _read(source: bytes | str, max_bytes: int) -> bytes | str:
    """The file's bytes, or a reason why it is not read."""
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        with open_binary(source) as f:
            data = f.read(max_bytes + 1)
    if not data:
        return "error: empty file"
    if len(data) > max_bytes:
        return f"skipped: larger than max_bytes={max_bytes}"
    # the header may follow some junk, the PDF spec tolerates it within the first KiB
    if b"%PDF-" not in data[:1024]:
        return "error: not a PDF (no %PDF- header)"
    return data


def extract_pdf(source: bytes | str, options: PdfOptions | None = None, ocr: OcrBackend | None = None) -> dict:
    """Extract one PDF.

    Returns ``{"text", "reason", "meta"}``: ``reason`` is None for a document, ``"error: ..."`` or
    ``"skipped: ..."`` otherwise; ``meta`` holds the fields of the schema's ``meta`` struct that PDFs fill.
    ``ocr`` defaults to the backend named in the options (None with ``ocr=False``).
    """
    opts = options or PdfOptions()
    started = _cpu_seconds()
    wall_deadline = time.monotonic() + opts.timeout_seconds * 0.75
    if ocr is None and opts.ocr:
        ocr = ocr_backend(opts.ocr_backend, opts.language)
    data = _read(source, opts.max_bytes)
    if isinstance(data, str):
        return _failure(data, started)
    pymupdf.TOOLS.mupdf_display_errors(False)  # MuPDF repairs broken files noisily on stderr
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:
        return _failure(f"error: corrupt PDF: {exc}"[:300], started)
    with doc:
        if doc.needs_pass:
            return _failure("error: encrypted, password required", started)
        info = doc.metadata or {}
        meta = {"title": _meta_str(info.get("title")), "author": _meta_str(info.get("author")),
                "producer": _meta_str(info.get("producer")), "page_count": doc.page_count}
        if doc.page_count == 0:
            return _failure("error: PDF has no pages", started, **meta)
        pages: list[PageResult] = []
        for number in range(min(doc.page_count, opts.max_pages)):
            # past 3/4 of the timeout, remaining pages get their text layer only, so the document still finishes
            in_time = time.monotonic() < wall_deadline
            no_ocr_why = "ocr disabled" if ocr is None else "time budget spent"
            try:
                result = _page(doc[number], opts, ocr if in_time else None, no_ocr_why)
            except Exception as exc:  # one broken page does not lose the document
                result = PageResult(PageLines(), "error", note=f"{type(exc).__name__}: {exc}"[:200])
            pages.append(result)
    text, offsets = clean_pages([p.lines for p in pages], remove_headers_footers=opts.remove_headers_footers)
    extra = {}
    if meta["page_count"] > opts.max_pages:
        extra["pages_skipped"] = str(meta["page_count"] - opts.max_pages)
    not_ocred = [f"{i + 1}: {p.note}" for i, p in enumerate(pages) if p.method != "ocr" and p.note]
    if not_ocred:
        extra["page_notes"] = "; ".join(not_ocred)[:1000]
    ocr_reasons = sorted({p.note for p in pages if p.method == "ocr" and p.note})
    if ocr_reasons:
        extra["ocr_reasons"] = ", ".join(ocr_reasons)
    pages_ocr = sum(p.method == "ocr" for p in pages)
    meta.update(
        extractor=f"{EXTRACTOR}+{ocr.name}" if pages_ocr else EXTRACTOR,
        pages_ocr=pages_ocr,
        page_offsets=offsets,
        page_methods=[p.method for p in pages],
        extract_seconds=_cpu_seconds() - started,
        extra=extra or None,
    )
    return {"text": text, "reason": None, "meta": meta}
