"""Guards around HTML extraction in the WARC reader: a nesting-depth check before parsing and a watchdog process.

The extractors are C code (resiliparse) or lxml underneath (trafilatura): a signal cannot stop them mid-page, and
their time grows faster than linearly with nesting depth (a page 10,000 ``<div>`` deep takes ~5 s in resiliparse,
20,000 deep ~19 s). So:

* :func:`nesting_depth` estimates a page's element depth from its tags in one regex pass; a page deeper than
  ``max_html_depth`` is an error row without being parsed;
* :class:`ExtractionWatchdog` runs the extraction in a helper process (exec'd, reused from page to page) and kills
  it when a page runs past the time limit; the page becomes an error row and the next page gets a fresh helper.
"""
from __future__ import annotations

import re

from curation.extract.html import Extraction, extract_text
from curation.readers.helper_process import Helper, HelperDied, HelperTimeout

# Elements whose end tag HTML lets authors omit, and void elements: they do not count towards the depth.
_NOT_NESTING = frozenset(
    "p li dt dd tr td th option optgroup thead tbody tfoot colgroup caption html head body rb rt rp "
    "area base br col embed hr img input link meta source track wbr param keygen command".split())
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


def watchdog_handler():
    """The helper process's side of :class:`ExtractionWatchdog`: (html, engine) in, the Extraction's fields out."""
    def handle(request: dict) -> list:
        ext = extract_text(request["html"], request["engine"], 0.0)
        return [ext.text, ext.title, ext.extractor, ext.seconds, ext.error]
    return handle


class ExtractionWatchdog:
    """``extract(html, engine, limit_s)``: :func:`curation.extract.html.extract_text` in a helper process
    (:mod:`curation.readers.helper_process`: exec'd, importing this module and the extractor only) that is killed
    (and restarted for the next page) when a page runs past ``limit_s``."""

    def __init__(self):
        self._helper = Helper("curation.readers.html_guard:watchdog_handler")
        self._served = False  # the helper answered at least once
        self._broken = False

    def extract(self, html: str, engine: str, limit_s: float) -> Extraction:
        if self._broken:  # no helper process can start here: the extractor's own (signal-based) limit
            return extract_text(html, engine, limit_s)
        try:
            result = Extraction(*self._helper.call({"html": html, "engine": engine}, limit_s))
            self._served = True
            return result
        except HelperTimeout:
            return Extraction(None, None, engine, limit_s, f"time limit of {limit_s:g} s exceeded (extraction "
                                                            f"process stopped)")
        except HelperDied as exc:
            if not self._served:  # it died before its first page: it cannot run here, not because of this page
                self._broken = True
                return extract_text(html, engine, limit_s)
            return Extraction(None, None, engine, 0.0, f"extraction process died ({exc})")
