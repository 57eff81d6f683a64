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
import re
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

    def orientation(self, pixmap: pymupdf.Pixmap) -> tuple[int, float] | None:
        """How far (0, 90, 180 or 270 degrees clockwise) the page image must be turned to stand upright, and the
        confidence of that answer; None when the backend cannot tell (a backend that reads any orientation
        itself keeps this default, and pages are then recognized as they lie)."""
        return None


class TesseractOcr(OcrBackend):
    """The ``tesseract`` command (page segmentation mode 3: automatic layout, so columns are read one after
    the other). A child process per page keeps Tesseract's memory and crashes out of the caller and lets a
    runaway page be killed after ``page_timeout`` seconds. ``language`` takes Tesseract's syntax
    (``eng``, ``eng+deu``)."""

    name = "tesseract"

    def __init__(self, language: str = "eng", page_timeout: float = 300.0):
        super().__init__(language)
        self.page_timeout = page_timeout

    def _run(self, pixmap: pymupdf.Pixmap, *args: str) -> subprocess.CompletedProcess:
        gray = pixmap if pixmap.colorspace == pymupdf.csGRAY and not pixmap.alpha else \
            pymupdf.Pixmap(pymupdf.csGRAY, pixmap)
        return subprocess.run(
            ["tesseract", "stdin", "stdout", *args, "--dpi", str(pixmap.xres)],
            input=gray.tobytes("png"), capture_output=True, timeout=self.page_timeout,
            # one thread: Spark already runs one task per core
            env={**os.environ, "OMP_THREAD_LIMIT": "1"}, preexec_fn=die_with_parent,
        )

    def recognize(self, pixmap: pymupdf.Pixmap) -> str:
        done = self._run(pixmap, "-l", self.language, "--psm", "3")
        if done.returncode:
            raise RuntimeError(f"tesseract failed ({done.returncode}): {done.stderr.decode(errors='replace')[-200:]}")
        return done.stdout.decode("utf-8", errors="replace")

    def orientation(self, pixmap: pymupdf.Pixmap) -> tuple[int, float] | None:
        """Tesseract's orientation and script detection (``--psm 0``, the ``osd`` model Debian's tesseract-ocr
        ships): ~1 CPU-second a page whatever its resolution (mostly loading the model), about a third on top of
        recognizing it. None when it finds too few characters to tell (Tesseract then exits non-zero)."""
        done = self._run(pixmap, "--psm", "0")
        found = dict(_OSD_LINE.findall(done.stdout.decode(errors="replace"))) if not done.returncode else {}
        if "Rotate" not in found or "Orientation confidence" not in found:
            return None
        return int(float(found["Rotate"])) % 360, float(found["Orientation confidence"])


_OSD_LINE = re.compile(r"^(Rotate|Orientation confidence): *([-\d.]+)", re.MULTILINE)


# backend name (the ``ocr_backend`` reader option) -> "module:Class"
OCR_BACKENDS = Registry("OCR backend", {
    "tesseract": "curation.extract.ocr_backends:TesseractOcr",
})


def ocr_backend(name: str, language: str) -> OcrBackend:
    """Instantiate the named backend for ``language``."""
    return OCR_BACKENDS.load(name)(language=language)
