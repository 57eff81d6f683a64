"""Guards around HTML extraction in the WARC reader: a nesting-depth check before parsing and a watchdog process.

The extractors are C code (resiliparse) or lxml underneath (trafilatura): a signal cannot stop them mid-page, and
their time grows faster than linearly with nesting depth (a page 10,000 ``<div>`` deep takes ~5 s in resiliparse,
20,000 deep ~19 s). So:

* :func:`nesting_depth` estimates a page's element depth from its tags in one regex pass; a page deeper than
  ``max_html_depth`` is an error row without being parsed;
* :class:`ExtractionWatchdog` runs the extraction in a child process (forked from a fork server, reused from page to
  page) and kills it when a page runs past the time limit; the page becomes an error row and the next page gets a
  fresh child.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import re
import sys
import types

from curation.extract.html import Extraction, extract_text

# Elements whose end tag HTML lets authors omit, and void elements: they do not count towards the depth.
_NOT_NESTING = frozenset(
    "p li dt dd tr td th option optgroup thead tbody tfoot colgroup caption html head body rb rt rp "
    "area base br col embed hr img input link meta source track wbr param keygen command".split())
STARTUP_S = 60
_TAG = re.compile(rb"<(/?)([A-Za-z][A-Za-z0-9]{0,15})[^>]{0,2048}?(/?)>")


def nesting_depth(html: bytes | str) -> int:
    """The deepest element nesting the tags of ``html`` open (elements with optional end tags excluded)."""
    data = html.encode("utf-8", "replace") if isinstance(html, str) else html
    depth = deepest = 0
    for close, name, self_closing in _TAG.findall(data):
        tag = name.lower().decode("ascii")
        if self_closing or tag in _NOT_NESTING:
            continue
        if close:
            depth = max(0, depth - 1)
        else:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


@contextlib.contextmanager
def _no_main_module():
    """Start a child without it importing the caller's ``__main__`` first: in a Spark worker that is the worker
    daemon, which imports every stage module (seconds per child); the child needs only this module."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


def _serve(conn) -> None:
    """Child loop: (html, engine) in, the Extraction's fields out."""
    from curation.extract.ocr_backends import die_with_parent

    die_with_parent()
    conn.send("ready")  # start-up (the fork server imports the caller's main module) is not the page's time
    while True:
        try:
            html, engine = conn.recv()
        except EOFError:  # the parent went away
            return
        ext = extract_text(html, engine, 0.0)
        conn.send((ext.text, ext.title, ext.extractor, ext.seconds, ext.error))


class ExtractionWatchdog:
    """``extract(html, engine, limit_s)``: :func:`curation.extract.html.extract_text` in a child process that is
    killed (and restarted for the next page) when a page runs past ``limit_s``."""

    def __init__(self):
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["curation.readers.html_guard"])
        self._process = None
        self._conn = None
        self._served = False  # a child answered at least once
        self._broken = False

    def _start(self) -> None:
        parent_end, child_end = self._context.Pipe()
        self._process = self._context.Process(target=_serve, args=(child_end,), daemon=True)
        with _no_main_module():
            self._process.start()
        child_end.close()
        self._conn = parent_end
        if not (parent_end.poll(STARTUP_S) and parent_end.recv() == "ready"):
            raise OSError(f"extraction process did not start within {STARTUP_S} s")

    def _stop(self) -> None:
        self._process.kill()
        self._process.join()
        self._conn.close()
        self._process = self._conn = None

    def extract(self, html: str, engine: str, limit_s: float) -> Extraction:
        if self._broken:  # no child process can start here: the extractor's own (signal-based) limit
            return extract_text(html, engine, limit_s)
        try:
            if self._process is None or not self._process.is_alive():
                self._start()
            self._conn.send((html, engine))
            if self._conn.poll(limit_s if limit_s > 0 else None):
                result = Extraction(*self._conn.recv())
                self._served = True
                return result
            self._stop()
            return Extraction(None, None, engine, limit_s, f"time limit of {limit_s:g} s exceeded (extraction "
                                                            f"process stopped)")
        except (EOFError, OSError) as exc:
            code = self._process.exitcode if self._process is not None else None
            if self._process is not None:
                self._stop()
            if not self._served:  # it died before its first page: it cannot run here, not because of this page
                self._broken = True
                return extract_text(html, engine, limit_s)
            return Extraction(None, None, engine, 0.0, f"extraction process died (exit code {code}): {exc}")
