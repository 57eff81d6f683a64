"""OCR backends: turn a rendered page image into text.

The PDF extractor renders a page (with its pixel budget applied) and hands the pixmap to a backend, so every
backend sees the same bounded input. Tesseract (the ``tesseract`` command) is the default and the only one
shipped. A GPU vision-language model (olmOCR-style) plugs in by subclassing :class:`OcrBackend`, implementing
:meth:`OcrBackend.recognize` (e.g. ``pixmap.tobytes("png")`` sent to the model) and adding one line to
``OCR_BACKENDS``.
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
from abc import ABC, abstractmethod
from typing import ClassVar

import pymupdf

from curation.pipeline.registry import Registry

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """On Linux, have the kernel kill the calling process when its parent dies, even mid-page, so no OCR or
    extraction process outlives the Spark worker that started it. Elsewhere a no-op."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


class OcrBackend(ABC):
    """Recognizes the text of one page image. Instances are reused for many pages of many documents."""

    name: ClassVar[str] = ""

    def __init__(self, language: str = "eng"):
        self.language = language

    @abstractmethod
    def recognize(self, pixmap: pymupdf.Pixmap) -> str:
        """Text of the page image, lines separated by newlines, in reading order."""


class TesseractOcr(OcrBackend):
    """The ``tesseract`` command (page segmentation mode 3: automatic layout, so columns are read one after
    the other). A child process per page keeps Tesseract's memory and crashes out of the caller and lets a
    runaway page be killed after ``page_timeout`` seconds. ``language`` takes Tesseract's syntax
    (``eng``, ``eng+deu``)."""

    name = "tesseract"

    def __init__(self, language: str = "eng", page_timeout: float = 300.0):
        super().__init__(language)
        self.page_timeout = page_timeout

    def recognize(self, pixmap: pymupdf.Pixmap) -> str:
        gray = pixmap if pixmap.colorspace == pymupdf.csGRAY and not pixmap.alpha else \
            pymupdf.Pixmap(pymupdf.csGRAY, pixmap)
        done = subprocess.run(
            ["tesseract", "stdin", "stdout", "-l", self.language, "--psm", "3", "--dpi", str(pixmap.xres)],
            input=gray.tobytes("png"), capture_output=True, timeout=self.page_timeout,
            # one thread: Spark already runs one task per core
            env={**os.environ, "OMP_THREAD_LIMIT": "1"}, preexec_fn=die_with_parent,
        )
        if done.returncode:
            raise RuntimeError(f"tesseract failed ({done.returncode}): {done.stderr.decode(errors='replace')[-200:]}")
        return done.stdout.decode("utf-8", errors="replace")


# backend name (the ``ocr_backend`` reader option) -> "module:Class"
OCR_BACKENDS = Registry("OCR backend", {
    "tesseract": "curation.extract.ocr_backends:TesseractOcr",
})


def ocr_backend(name: str, language: str) -> OcrBackend:
    """Instantiate the named backend for ``language``."""
    return OCR_BACKENDS.load(name)(language=language)
