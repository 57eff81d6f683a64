"""The ``pdf`` input format: one document per PDF file, read on Spark executors.

Spec usage::

    inputs:
      - {format: pdf, path: "data/pdf/**/*.pdf", source: papers, options: {dpi: 200, language: eng}}

Options are :class:`curation.extract.pdf.PdfOptions` (validated on the driver, so a typo fails the run before
any work). Each file becomes one row: a document (``text``; ``meta.page_offsets``, ``meta.page_methods``,
``meta.pages_ocr``, title/author/producer, ``meta.extract_seconds`` in CPU seconds) or an error/skipped row with
its reason. By default every PDF is extracted in a long-lived helper process of the Python worker with an
address-space limit (``memory_mb``); a PDF that runs past ``timeout_seconds`` or kills that process becomes an
error row and the process is restarted, so a hostile or huge PDF cannot take the executor down.
"""
from __future__ import annotations

from typing import Iterator

from curation.readers.helper_process import Helper, HelperDied, HelperTimeout, block_unused_modules

block_unused_modules()  # before pymupdf's first import: the Spark worker reading PDFs carries no layout stack either

from curation.extract.ocr_backends import OcrBackend, ocr_backend  # noqa: E402
from curation.extract.pdf import EXTRACTOR, PdfOptions, extract_pdf  # noqa: E402
from curation.readers.file_source import NAME_KEY, expand_inputs, file_label, input_names, read_files  # noqa: E402
from curation.runtime.batches import worker_cached  # noqa: E402


def _backend_for(opts: PdfOptions, cache: dict) -> OcrBackend | None:
    if not opts.ocr:
        return None
    key = (opts.ocr_backend, opts.language)
    if key not in cache:
        cache[key] = ocr_backend(*key)
    return cache[key]


class IsolatedExtractor:
    """Runs :func:`extract_pdf` in a helper process with a memory limit; kills and restarts it on timeout or crash.

    The helper is a fresh interpreter (:mod:`curation.readers.helper_process`), not a fork of the Spark worker
    (which holds JVM sockets, threads and the worker's whole import set), and is reused across files, so its
    start-up is paid once per worker, not per PDF.
    """

    def __init__(self, memory_mb: int):
        self._helper = Helper("curation.extract.pdf:helper_handler", memory_bytes=memory_mb << 20)

    def extract(self, path: str, opts: PdfOptions) -> dict:
        try:
            return self._helper.call({"path": path, "options": opts.model_dump(mode="json")}, opts.timeout_seconds)
        except HelperDied as exc:
            reason = f"error: extraction process died ({exc}; memory limit {opts.memory_mb} MiB)"
        except HelperTimeout:
            reason = f"error: timeout after {opts.timeout_seconds:g} s"
        return {"text": None, "reason": reason, "meta": {"extractor": EXTRACTOR}}


def pdf_records(path: str, options: dict) -> Iterator[dict]:
    """``record_fn`` for :func:`curation.readers.file_source.read_files`: the one row of one PDF."""
    label = file_label(path, options)
    opts = PdfOptions.model_validate({k: v for k, v in options.items() if k != NAME_KEY})
    if opts.isolate:
        result = worker_cached(("pdf-extractor", opts.memory_mb), lambda: IsolatedExtractor(opts.memory_mb)) \
            .extract(path, opts)
    else:
        result = extract_pdf(path, opts, _backend_for(opts, worker_cached("pdf-ocr-backends", dict)))
    reason = result["reason"]
    if reason is None and not (result["text"] or "").strip():  # blank pages (and OCR finding nothing on them)
        reason = f"skipped: no text on any of the {result['meta'].get('page_count')} pages"
    yield {
        "id": label,
        "text": result["text"],
        "format": "pdf",
        "reason": reason,
        "meta": {**result["meta"], "source_path": path, "content_type": "application/pdf"},
    }


def read_pdf(spark, inp):
    """Reader for ``format: pdf`` (registered in :data:`curation.readers.formats.READERS`)."""
    PdfOptions.model_validate(inp.options)
    files = expand_inputs(inp.path)
    return read_files(spark, files, pdf_records, inp.options, inp.source, "pdf", input_names(inp, files))
