"""The ``pdf`` input format: one document per PDF file, read on Spark executors.

Spec usage::

    inputs:
      - {format: pdf, path: "data/pdf/**/*.pdf", source: papers, options: {dpi: 200, language: eng}}

Options are :class:`curation.extract.pdf.PdfOptions` (validated on the driver, so a typo fails the run before
any work). Each file becomes one row: a document (``text``; ``meta.page_offsets``, ``meta.page_methods``,
``meta.pages_ocr``, title/author/producer, ``meta.extract_seconds`` in CPU seconds) or an error/skipped row with
its reason. By default every PDF is extracted in a long-lived child process of the Python worker with an
address-space limit (``memory_mb``); a PDF that runs past ``timeout_seconds`` or kills that process becomes an
error row and the process is restarted, so a hostile or huge PDF cannot take the executor down.
"""
from __future__ import annotations

import multiprocessing
import resource
from typing import Iterator

from curation.extract.ocr_backends import OcrBackend, die_with_parent, ocr_backend
from curation.extract.pdf import EXTRACTOR, PdfOptions, extract_pdf
from curation.readers.file_source import NAME_KEY, expand_inputs, file_label, input_names, read_files
from curation.runtime.batches import worker_cached


def _backend_for(opts: PdfOptions, cache: dict) -> OcrBackend | None:
    if not opts.ocr:
        return None
    key = (opts.ocr_backend, opts.language)
    if key not in cache:
        cache[key] = ocr_backend(*key)
    return cache[key]


def _serve(conn, memory_bytes: int) -> None:
    """Child process loop: receive (path, options), send back the extraction result."""
    die_with_parent()
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    backends: dict = {}
    while True:
        try:
            path, options = conn.recv()
        except EOFError:  # the parent went away
            return
        opts = PdfOptions.model_validate(options)
        try:
            result = extract_pdf(path, opts, _backend_for(opts, backends))
        except MemoryError:
            result = {"text": None, "reason": f"error: memory limit of {opts.memory_mb} MiB exceeded", "meta": {}}
        conn.send(result)


class IsolatedExtractor:
    """Runs :func:`extract_pdf` in a child process with a memory limit; kills and restarts it on timeout or crash.

    The child is forked from a fork server (not from the Spark worker, which holds JVM sockets and threads) and
    reused across files, so the process start-up is paid once per worker, not per PDF.
    """

    def __init__(self, memory_mb: int):
        self.memory_bytes = memory_mb << 20
        self._context = multiprocessing.get_context("forkserver")
        # the server imports the extractor once (forks then start warm) instead of the caller's __main__
        self._context.set_forkserver_preload(["curation.readers.pdf"])
        self._process = None
        self._conn = None

    def _start(self) -> None:
        parent_end, child_end = self._context.Pipe()
        self._process = self._context.Process(target=_serve, args=(child_end, self.memory_bytes), daemon=True)
        self._process.start()
        child_end.close()
        self._conn = parent_end

    def _stop(self) -> int | None:
        self._process.kill()
        self._process.join()
        self._conn.close()
        code = self._process.exitcode
        self._process = self._conn = None
        return code

    def extract(self, path: str, opts: PdfOptions) -> dict:
        if self._process is None or not self._process.is_alive():
            self._start()
        self._conn.send((path, opts.model_dump()))
        try:
            if self._conn.poll(opts.timeout_seconds):
                return self._conn.recv()
        except (EOFError, OSError):
            code = self._stop()
            reason = f"error: extraction process died (exit code {code}; memory limit {opts.memory_mb} MiB)"
        else:
            self._stop()
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
