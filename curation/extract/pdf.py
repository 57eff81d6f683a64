"""PDF to text, one document at a time: text layer where it is good, OCR where it is missing or garbled.

:func:`extract_pdf` is a pure function (PDF bytes or path -> result dict) with no Spark in it. Per page it decides
between the text layer and OCR (:mod:`curation.extract.ocr_decision`; OCR'd pages are turned upright first) and
records the decision (``text_layer`` / ``ocr`` / ``ocr_implausible`` / ``blank`` / ``error``) and the rotation; then
it removes running headers, footers and page numbers, undoes line-end hyphenation and normalizes whitespace
(:mod:`curation.extract.pdf_cleanup`). Broken, encrypted, empty, non-PDF and oversized inputs, and documents with no
text or only implausible text, give a result with a ``reason`` instead of raising.
"""
from __future__ import annotations

import functools
import os
import time
from collections import Counter

import pymupdf
from pydantic import BaseModel, ConfigDict, Field, field_validator

from curation.extract.ocr_backends import OCR_BACKENDS, OcrBackend, ocr_backend
from curation.extract.ocr_decision import PageResult, garbled_reason, read_page
from curation.extract.pdf_cleanup import PageLines, clean_pages

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
    # Turn each OCR'd page upright first (the backend's orientation detection; Tesseract's OSD: ~1 CPU-s a page)
    detect_orientation: bool = True
    # Orientation answers below this confidence (Tesseract's units) leave the page as it lies, unless that reads as
    # implausible text and the suggested turn does not. Turned text pages read 5.6-31 (shared scans 19-31); the one
    # upright shared page misjudged (ocrmypdf's lichtenstein.pdf, a photo of a painting: "180") reads 4.8
    min_rotation_confidence: float = Field(5.0, ge=0)
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
        if "://" in source and not source.startswith("file://"):  # a URI: pyarrow's file systems
            from curation.readers.file_source import open_binary
        else:  # a local path: no pyarrow, so the extraction helper process stays small
            open_binary = functools.partial(open, mode="rb")
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
                result = read_page(doc[number], opts, ocr if in_time else None, no_ocr_why)
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
    pages_ocr = sum(p.method in ("ocr", "ocr_implausible") for p in pages)
    meta.update(
        extractor=f"{EXTRACTOR}+{ocr.name}" if pages_ocr else EXTRACTOR,
        pages_ocr=pages_ocr,
        page_offsets=offsets,
        page_methods=[p.method for p in pages],
        page_rotations=[p.rotation for p in pages],
        extract_seconds=_cpu_seconds() - started,
        extra=extra or None,
    )
    return {"text": text, "reason": _no_text_reason(text, pages), "meta": meta}


def _no_text_reason(text: str, pages: list[PageResult]) -> str | None:
    """Why a document holds nothing to train on (no text, or text that fails the plausibility test), or None."""
    if not text.strip():
        methods = Counter(p.method for p in pages)
        return f"skipped: no text ({', '.join(f'{n} {m}' for m, n in sorted(methods.items()))} pages)"
    implausible = garbled_reason(text)
    return f"skipped: implausible text ({implausible})" if implausible else None


def helper_handler(memory_bytes: int):
    """The helper process's side of :class:`curation.readers.pdf.IsolatedExtractor` (run by
    :mod:`curation.readers.helper_process`): this process limited to ``memory_bytes`` of address space, then
    ``{"path", "options"}`` in, :func:`extract_pdf`'s result out."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    backends: dict = {}

    def handle(request: dict) -> dict:
        opts = PdfOptions.model_validate(request["options"])
        key = (opts.ocr_backend, opts.language)
        if opts.ocr and key not in backends:
            backends[key] = ocr_backend(*key)
        try:
            return extract_pdf(request["path"], opts, backends[key] if opts.ocr else None)
        except MemoryError:
            return {"text": None, "reason": f"error: memory limit of {opts.memory_mb} MiB exceeded", "meta": {}}
    return handle
