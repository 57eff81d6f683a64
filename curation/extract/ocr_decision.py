"""The decision for each PDF page: its text layer, or OCR. The one place that decides it.

:func:`ocr_reason` says why a page needs OCR, or that its text layer is sound: a garbled layer (:func:`garbled_reason`:
``(cid:NN)`` artifacts, replacement characters, symbols in place of letters, implausible words), little or no text on
a page with ink, an image-dominated page with little text, or an invisible text layer over an image (someone else's
OCR). :func:`read_page` applies it: the text layer, OCR of the page rendered within a pixel budget and turned upright
first (the backend's orientation detection), ``blank`` for a page with nothing visible, or the text layer kept when
OCR reads less of a short but sound layer. OCR output that fails the same plausibility test as a text layer is not
kept as text: the page is ``ocr_implausible``. It records the method (``text_layer`` / ``ocr`` / ``ocr_implausible``
/ ``blank`` / ``error``), why, and the rotation applied. No Spark here.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pymupdf

from curation.extract.ocr_backends import OcrBackend
from curation.extract.pdf_cleanup import PageLines, drop_ocr_noise
from curation.extract.pdf_text_layer import text_layer_lines

if TYPE_CHECKING:
    from curation.extract.pdf import PdfOptions


@dataclass
class PageResult:
    lines: PageLines
    method: str  # text_layer / ocr / ocr_implausible / blank / error
    note: str | None = None  # OCR pages: why OCR was needed; others: why OCR was not used, or what failed
    rotation: int = 0  # degrees clockwise the page image was turned before OCR


# why a page is OCR'd, besides a garbled text layer (see garbled_reason)
NO_TEXT = "little or no text"
IMAGE_PAGE = "image-dominated"
INVISIBLE_LAYER = "invisible text layer over an image"

_CID = re.compile(r"\(cid:\d+\)")
_WORD = re.compile(r"\S+")
_ALPHA_WORD = re.compile(r"[^\W\d_]{4,}")  # shorter ones are often symbols (math: "xP", "yQ")
# letter case that no writing uses inside a word: a capital after a small letter ("pUe", "OWeEp") or small letters
# after two capitals ("WOTe"); OCR of upside-down or wrongly-scripted pages is full of them
_ODD_CASE = re.compile(r"[^\W\d_]*[a-zß-ÿ][A-ZÀ-Þ][^\W\d_]*|[A-ZÀ-Þ]{2,}[a-zß-ÿ]+")
# Share of such words (of 4 letters or more) above which text is implausible: at most 0.078 on any page of the
# shared PDFs' text layers (an OLMo paper: "OLMo"), 0.4 and more on OCR of upside-down Latin text
_MAX_ODD_CASE_SHARE = 0.2
_MIN_WORDS_FOR_CASE = 10


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
    words = _ALPHA_WORD.findall(text)
    if len(words) >= _MIN_WORDS_FOR_CASE and \
            sum(bool(_ODD_CASE.fullmatch(w)) for w in words) > _MAX_ODD_CASE_SHARE * len(words):
        return "implausible letter case"
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


def ocr_pixmap(page: pymupdf.Page, opts: PdfOptions) -> pymupdf.Pixmap:
    long_side = max(page.rect.width, page.rect.height) or 1.0
    zoom = max(opts.dpi / 72.0, opts.min_ocr_long_side / long_side)
    max_pixels = opts.max_ocr_pixels
    pixels = page.rect.width * zoom * page.rect.height * zoom
    if pixels > max_pixels:
        zoom *= math.sqrt(max_pixels / pixels)
    pixmap = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), colorspace=pymupdf.csRGB, alpha=False)
    pixmap.set_dpi(round(zoom * 72), round(zoom * 72))
    return pixmap


def upright(pixmap: pymupdf.Pixmap, clockwise: int) -> pymupdf.Pixmap:
    """``pixmap`` turned ``clockwise`` degrees (a multiple of 90)."""
    quarter_turns = (clockwise // 90) % 4
    if not quarter_turns:
        return pixmap
    pixels = np.frombuffer(pixmap.samples, dtype=np.uint8).reshape(pixmap.height, pixmap.width, pixmap.n)
    turned = np.ascontiguousarray(np.rot90(pixels, -quarter_turns))  # rot90 turns counter-clockwise
    out = pymupdf.Pixmap(pixmap.colorspace, turned.shape[1], turned.shape[0], turned.tobytes(), bool(pixmap.alpha))
    out.set_dpi(pixmap.xres, pixmap.yres)
    return out


def ocr_upright(page: pymupdf.Page, opts: PdfOptions, ocr: OcrBackend) -> tuple[str, int]:
    """OCR text of ``page`` and the clockwise rotation applied first: the backend's orientation answer when it is
    confident enough (``opts.min_rotation_confidence``), else none. When that reading fails the plausibility test,
    the other one (the suggested turn, or none) is tried and kept if it passes."""
    pixmap = ocr_pixmap(page, opts)
    suggested, confidence = 0, 0.0
    if opts.detect_orientation:
        found = ocr.orientation(pixmap)
        if found is not None and found[0] % 90 == 0:
            suggested, confidence = found[0] % 360, found[1]
    first = suggested if confidence >= opts.min_rotation_confidence else 0
    text = drop_ocr_noise(ocr.recognize(upright(pixmap, first)))
    other = 0 if first else suggested
    if other != first and garbled_reason(text) is not None:
        retry = drop_ocr_noise(ocr.recognize(upright(pixmap, other)))
        if garbled_reason(retry) is None:
            return retry, other
    return text, first


def ocr_reason(page: pymupdf.Page, layer_text: str, opts: PdfOptions) -> str | None:
    """Why ``page`` is OCR'd rather than read from its text layer (``layer_text``), or None: the layer is sound."""
    garbled = garbled_reason(layer_text)
    if garbled is not None:
        return garbled
    chars = sum(1 for c in layer_text if not c.isspace())
    if chars < opts.min_text_chars:
        return NO_TEXT
    if _image_coverage(page) >= 0.5:
        if chars < opts.image_page_max_text_chars:
            return IMAGE_PAGE
        if opts.reocr_invisible_text and _mostly_invisible(page):
            return INVISIBLE_LAYER
    return None


def read_page(page: pymupdf.Page, opts: PdfOptions, ocr: OcrBackend | None, no_ocr_why: str) -> PageResult:
    """Text of one page and how it was obtained; ``no_ocr_why`` says why ``ocr`` is None when it is."""
    layer = text_layer_lines(page)
    layer_text = layer.text()
    chars = sum(1 for c in layer_text if not c.isspace())
    reason = ocr_reason(page, layer_text, opts)
    if reason is None:
        return PageResult(layer, "text_layer")
    if not _has_ink(page):
        # nothing visible to OCR: an empty page, or an invisible text layer that is all there is
        return PageResult(layer, "text_layer") if chars else PageResult(PageLines(), "blank")
    if ocr is None:
        note = f"not OCR'd, {no_ocr_why} ({reason})"
        return PageResult(layer, "text_layer", note=note) if chars else PageResult(PageLines(), "error", note=note)
    text, rotation = ocr_upright(page, opts, ocr)
    if reason in (NO_TEXT, IMAGE_PAGE) and _alnum(text) < _alnum(layer_text):
        # a short but sound text layer (form labels, a title over a picture) beats OCR that read less of it;
        # a garbled or invisible (someone else's OCR) layer is replaced whatever OCR reads
        return PageResult(layer, "text_layer", note=f"OCR read less than the text layer ({reason})")
    implausible = garbled_reason(text)
    if implausible is not None:
        # what OCR makes of a photo, a texture or an unreadable scan is not text to train on
        return PageResult(PageLines(), "ocr_implausible", note=f"{reason}; OCR output: {implausible}", rotation=rotation)
    return PageResult(PageLines.from_text(text), "ocr", note=reason, rotation=rotation)


def _alnum(text: str) -> int:
    return sum(c.isalnum() for c in text)
