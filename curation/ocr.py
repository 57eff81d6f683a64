"""OCR backends: turn a rendered page image into text.

The PDF extractor renders a page (with its pixel budget applied) and hands the pixmap to a backend, so every
backend sees the same bounded input. Tesseract, through MuPDF's built-in OCR, is the default and the only one
shipped. A GPU vision-language model (olmOCR-style) plugs in by subclassing :class:`OcrBackend`, implementing
:meth:`OcrBackend.recognize` (e.g. ``pixmap.tobytes("png")`` sent to the model) and adding one line to
``OCR_BACKENDS``.
"""
from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from typing import ClassVar

import pymupdf


class OcrBackend(ABC):
    """Recognizes the text of one page image. Instances are reused for many pages of many documents."""

    name: ClassVar[str] = ""

    def __init__(self, language: str = "eng"):
        self.language = language

    @abstractmethod
    def recognize(self, pixmap: pymupdf.Pixmap) -> str:
        """Text of the page image, lines separated by newlines, in reading order."""


class TesseractOcr(OcrBackend):
    """Tesseract through MuPDF: the pixmap is OCR'd into a one-page PDF whose text layer we read back.

    ``language`` takes Tesseract's syntax (``eng``, ``eng+deu``); traineddata files come from ``tessdata``
    (default: what MuPDF finds through ``TESSDATA_PREFIX`` or the system install).
    """

    name = "tesseract"

    def __init__(self, language: str = "eng", tessdata: str | None = None):
        super().__init__(language)
        self.tessdata = tessdata or pymupdf.get_tessdata()

    def recognize(self, pixmap: pymupdf.Pixmap) -> str:
        if pixmap.n != 3 or pixmap.alpha:
            # MuPDF's OCR writer returns no text for gray or alpha pixmaps
            pixmap = pymupdf.Pixmap(pymupdf.csRGB, pixmap, 0)
        pdf_bytes = pixmap.pdfocr_tobytes(language=self.language, tessdata=self.tessdata)
        with pymupdf.open("pdf", pdf_bytes) as doc:
            return doc[0].get_text()


# backend name (the ``ocr_backend`` reader option) -> "module:Class"
OCR_BACKENDS: dict[str, str] = {
    "tesseract": "curation.ocr:TesseractOcr",
}


def ocr_backend(name: str, language: str) -> OcrBackend:
    """Instantiate the named backend for ``language``."""
    if name not in OCR_BACKENDS:
        raise KeyError(f"unknown OCR backend {name!r}; known: {', '.join(sorted(OCR_BACKENDS))}")
    module_name, cls_name = OCR_BACKENDS[name].split(":")
    return getattr(importlib.import_module(module_name), cls_name)(language=language)
