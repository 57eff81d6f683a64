"""HTML to main text: charset decoding and main-content extraction, as pure functions (no Spark).

Engines (``engine=`` / the WARC input option ``extractor``):

* ``resiliparse``: ``extract_plain_text(main_content=True)``; fast (~1.5 ms/page), keeps some boilerplate.
* ``trafilatura``: ``trafilatura.extract`` with library defaults; accurate, ~15x slower.
* ``auto`` (default): resiliparse main content with boilerplate-named containers skipped (trafilatura's id/class
  vocabulary as CSS selectors), extracted once as ``minimal_html`` with links so that each line's share of link
  words is known; link lines (mostly linked and short, or the text of a link of the extract) are dropped with
  the heading of a run of them, and short leading (above the first ``<h1>``) and trailing furniture is trimmed.
  The class rules are narrowed per page to the tokens its class attributes contain (the same matches, fewer
  tests). Pages whose cleaned text is still short (< ``FALLBACK_MIN_CHARS``, or ``FALLBACK_OVERPRUNED_MIN_CHARS``
  where the pruning removed most of the main content and was undone) or keeps less than ``FALLBACK_KEPT_SHARE`` of
  resiliparse's unpruned main content (about 1 page in 12) go to ``trafilatura.extract(fast=True,
  include_comments=False)``. The thresholds were chosen on the ``dev`` half of the shared pages only. Needs
  resiliparse with ``preserve_formatting="minimal_html"`` (measured with 2.0.1). Accuracy on the ``dev`` and
  ``test`` halves and pages per CPU-second against resiliparse and trafilatura alone: README,
  measured by ``benchmarks/bench_extract.py``.

:func:`extract_texts` maps a list (or Arrow array) of HTML strings to an Arrow table, so the same code serves the
WARC reader, tests and benchmarks.
"""
from __future__ import annotations

import codecs
import html as html_lib
import re
import signal
import threading
import time
from dataclasses import dataclass
from typing import Iterable

ENGINES = ("auto", "resiliparse", "trafilatura")
DEFAULT_ENGINE = "auto"


def __getattr__(name: str):
    """``EXTRACTION_SCHEMA``, built on first use: pyarrow is imported by the Arrow-facing functions only, so the
    HTML extraction helper process (curation/readers/helper_process.py) runs without it."""
    if name != "EXTRACTION_SCHEMA":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import pyarrow as pa

    schema = pa.schema([pa.field("text", pa.string()), pa.field("title", pa.string()),
                        pa.field("extractor", pa.string()), pa.field("extract_seconds", pa.float64()),
                        pa.field("error", pa.string())])
    globals()["EXTRACTION_SCHEMA"] = schema
    return schema


@dataclass(frozen=True)
class Extraction:
    text: str | None  # main text; None when extraction failed (see ``error``)
    title: str | None
    extractor: str  # engine that produced ``text``
    seconds: float
    error: str | None = None


class ExtractionTimeout(BaseException):  # not an Exception: libraries must not swallow it
    pass


def _codec_name(charset: str | None) -> str | None:
    if not charset:
        return None
    try:
        return codecs.lookup(charset.strip().strip("'\"")).name
    except LookupError:
        return None


def decode_html(raw: bytes, declared_charset: str | None = None) -> tuple[str, str]:
    """Decode an HTML payload; returns ``(text, charset_used)``.

    The declared (HTTP header) charset is used when the bytes decode cleanly with it; otherwise the charset is
    detected (``<meta>`` declaration, then byte statistics) and undecodable bytes become U+FFFD.
    """
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    declared = _codec_name(declared_charset)
    if declared:
        try:
            return raw.decode(declared), declared
        except UnicodeDecodeError:
            pass
    detected = _codec_name(detect_encoding(raw, from_html_meta=True)) or "utf-8"
    return bytes_to_str(raw, detected, errors="replace"), detected


def _resiliparse(html: str) -> tuple[str, str | None]:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    tree = HTMLTree.parse(html)
    return extract_plain_text(tree, main_content=True), tree.title or None


def _trafilatura(html: str) -> tuple[str, str | None]:
    import trafilatura

    return trafilatura.extract(html) or "", None


# Containers whose id / class name them as boilerplate (sharing, navigation, ads, related links, author boxes,
# consent banners, metadata, captions). The vocabulary follows trafilatura's OVERALL_DISCARD / TEASER rules, written as
# CSS attribute selectors so that resiliparse skips them in C. A token inside another one is left out ("bar" covers
# "navbar").
_ID_AND_CLASS_TOKENS = ("social", "viral", "newsletter", "syndication", "tags", "sidebar", "banner", "breadcrumb",
                        "bread-crumb", "button", "author", "cookie", "teaser", "Teaser")
_ID_TOKENS = ("footer", "Footer", "share", "Share", "nav", "Nav", "menu", "related", "premium")
_CLASS_TOKENS = ("subnav", "avigation", "navbox", "menu", "bar", " ad ", "-ad-", " ad-", "outbrain",
                 "taboola", "criteo", "paid-content", "widget", "footer", "Footer", "byline", "Byline", "share-",
                 "sociable", "embed", "tag-list", "consent", "modal-content", "permission", "elated",
                 "next-", "-stories", "most-popular", "more-on", "meta", "rating", "attachment", "timestamp",
                 "user-info", "user-profile", "-icon", "article-infos", "message-container", "slide", "viewport",
                 "overlay", "options", "expand")
_PREFIXES = ("shar", "ad-")
_CLASS_PREFIXES = ("nav", "post-nav")
_CAPTION_TOKENS = ("caption",)  # image captions and credits: trafilatura drops them too unless images are kept
_ID_SELECTORS = ([f'[id*="{t}"]' for t in _ID_AND_CLASS_TOKENS + _ID_TOKENS + _CAPTION_TOKENS]
                 + [f'[id^="{t}"]' for t in _PREFIXES])
_CLASS_RULES = ([(t, f'[class*="{t}"]') for t in _ID_AND_CLASS_TOKENS + _CLASS_TOKENS + _CAPTION_TOKENS]
                + [(t, f'[class^="{t}"]') for t in _PREFIXES + _CLASS_PREFIXES])
_CLASS_SELECTORS = [rule for _, rule in _CLASS_RULES]
_OTHER_SELECTORS = ['[aria-hidden="true"]', '[style*="display:none"]', '[style*="display: none"]', "figcaption"]


def _selector(class_selectors: list[str]) -> str:
    # lexbor tries every selector of a list on every element; behind an attribute-presence guard the id/class
    # rules cost one failed test on the many elements that have no id / class (same matches, ~0.3 ms/page less)
    return ", ".join([f"[id]:is({', '.join(_ID_SELECTORS)})"]
                     + ([f"[class]:is({', '.join(class_selectors)})"] if class_selectors else [])
                     + _OTHER_SELECTORS)


BOILERPLATE_SELECTOR = _selector(_CLASS_SELECTORS)
# Every class rule costs lexbor a substring test on every element that has a class, yet a page's class values
# contain only a few of the ~60 tokens (16 on average on the shared pages). A rule whose token (any case) occurs in
# none of the page's class attribute values matches nothing, so leaving it out changes no match. The values are
# read off the ASCII-lowercased bytes of the page with one regex (attribute names in any case), with character
# references decoded (one could spell a token): 0.5 ms a page, against 1.0 ms a page that the left-out rules cost
# resiliparse (2.65 -> 1.67 ms for the pruned pass; the same text on all 892 shared pages).
_CLASS_ATTR = re.compile(rb"""class\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+)""")
_CLASS_TOKENS_LOWER = [(token.strip().lower().encode(), rule) for token, rule in _CLASS_RULES]


def boilerplate_selector(html: str) -> str:
    """:data:`BOILERPLATE_SELECTOR` without the class rules that cannot match any element of ``html``."""
    # distinct values only: a page repeats a few dozen class values hundreds of times
    values = b" ".join(set(_CLASS_ATTR.findall(html.encode("utf-8", "surrogatepass").lower())))
    if b"&" in values:
        values += b" " + html_lib.unescape(values.decode("utf-8", "replace")).lower().encode("utf-8", "replace")
    return _selector([rule for token, rule in _CLASS_TOKENS_LOWER if token in values])


# A boilerplate rule that removes more than this share of the main text hit a wrapper of the article itself.
_MAX_PRUNED_SHARE = 0.7
# Results shorter than this are compared with the unpruned main content (over-pruning, and the fallback's kept share)
_UNPRUNED_CHECK_CHARS = 5000
_HEADING_CHARS = 60
# A cleaned main text shorter than this means resiliparse likely missed the article (or kept only its teaser):
# the page goes to trafilatura (about 1 page in 12). One trafilatura call costs ~25 resiliparse extractions. On the
# dev pages, below 600 characters trafilatura finds missed snippets on about half the pages; between 600 and 800
# it changed no snippet count on the 7 pages whose pruning held, and it scored higher on both over-pruned ones (the
# text there is resiliparse's unpruned main content, furniture included), hence the higher bar for those.
FALLBACK_MIN_CHARS = 600
FALLBACK_OVERPRUNED_MIN_CHARS = 800
# ... or whose cleaned text keeps less than this share of resiliparse's unpruned main content (the cleanup cut
# into the article, or the page is mostly lists and links)
FALLBACK_KEPT_SHARE = 0.6
# A line that is mostly link text (at least this share of its words) and short is navigation or a teaser.
_LINK_LINE_SHARE = 0.5
_LINK_LINE_MAX_CHARS = 100
# A heading-like line followed by at least this many link lines heads a link list and goes with it.
_LINK_LIST_MIN_LINES = 3
_BULLET = re.compile(r"^\s*(?:[•·*-]|\d+\.)\s*")
_TAG = re.compile(r"<[^>]*>")
_ANCHOR_TAG = re.compile(r"<a\b[^>]*>|</a>")
_ANCHOR_MAX_CHARS = 2000  # longer link texts never equal a line worth dropping; the cap keeps the scan linear
_LINK_TOKENS = re.compile(r"(<a\b[^>]*>)|(</a>)|<[^>]*>|([^<]+)")
_WORD = re.compile(r"\w+")


def _is_heading(line: str) -> bool:
    line = line.strip()
    return 0 < len(line) < _HEADING_CHARS and line[-1] not in ".!?\"”"


def _plain(markup: str) -> str:
    return html_lib.unescape(_TAG.sub("", markup))


def _text_chars(markup: str) -> int:
    return len(_TAG.sub("", markup)) - markup.count("\n")


def _link_share(line: str) -> float:
    """Share of a markup line's words that stand inside ``<a>`` (links never span lines here: a block inside a
    link breaks the line, and its text then counts as not linked)."""
    depth = inside = outside = 0
    for opening, closing, text in _LINK_TOKENS.findall(line):
        if opening:
            depth += 1
        elif closing:
            depth = max(0, depth - 1)
        elif text:
            n = len(_WORD.findall(text))
            inside, outside = (inside + n, outside) if depth else (inside, outside + n)
    return inside / (inside + outside) if inside + outside else 0.0


def _anchor_texts(markup: str) -> set[str]:
    """Whitespace-normalised texts of the extract's links (a link may wrap blocks, i.e. span lines; unclosed
    ones are left out)."""
    texts, starts = set(), []
    for tag in _ANCHOR_TAG.finditer(markup):
        if tag.group().startswith("<a"):
            starts.append(tag.end())
        elif starts:
            start = starts.pop()
            if tag.start() - start <= _ANCHOR_MAX_CHARS:
                texts.add(" ".join(_plain(markup[start:tag.start()]).split()))
    return texts


def _main_lines(markup: str) -> list[str]:
    """Plain lines of a ``minimal_html`` extract without its link lines: lines mostly of link text (short ones;
    any length when all of it is linked), lines that are exactly the text of a link of the extract (a table of
    contents repeats headings), and the heading of a run of link lines ("Related", "Mehr zum Thema")."""
    anchors = _anchor_texts(markup)
    raws = markup.split("\n")
    # one tag-stripping pass over the whole extract gives the same lines as one per line when no tag spans a
    # line break (then the line counts agree)
    lines = _TAG.sub("", markup).split("\n")
    if len(lines) != len(raws):
        lines = [_TAG.sub("", raw) for raw in raws]
    if "&" in markup:
        lines = [html_lib.unescape(line) if "&" in line else line for line in lines]
    is_link = []
    for raw, line in zip(raws, lines):
        share = _link_share(raw) if "<a" in raw else 0.0
        is_link.append(share == 1.0 or (share >= _LINK_LINE_SHARE and len(line) < _LINK_LINE_MAX_CHARS)
                       or (bool(anchors) and bool(line.strip())
                           and " ".join(_BULLET.sub("", line).split()) in anchors))
    keep = [not x for x in is_link]
    for i, line in enumerate(lines):
        if keep[i] and _is_heading(line):
            j, run = i + 1, 0
            while j < len(lines) and (is_link[j] or not lines[j].strip()):
                run, j = run + is_link[j], j + 1
            keep[i] = run < _LINK_LIST_MIN_LINES
    return [line for line, k in zip(lines, keep) if k]


def _auto(html: str) -> tuple[str, str | None, str]:
    """resiliparse main content minus boilerplate-named containers, link lines and leading / trailing furniture;
    trafilatura for pages whose result is still short."""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    tree = HTMLTree.parse(html)
    title = tree.title or None
    # one pass gives the text and where its links are (no walk over the page's <a> nodes in Python)
    options = dict(main_content=True, comments=False, alt_texts=False, preserve_formatting="minimal_html", links=True)
    markup = extract_plain_text(tree, skip_elements=[boilerplate_selector(html)], **options)
    n_chars = full_chars = _text_chars(markup)
    min_chars = FALLBACK_MIN_CHARS
    if n_chars < _UNPRUNED_CHECK_CHARS:  # only a short result can be an over-pruned one: check against no pruning
        full = extract_plain_text(tree, **options)
        full_chars = _text_chars(full)
        if n_chars < (1 - _MAX_PRUNED_SHARE) * full_chars:
            markup, min_chars = full, FALLBACK_OVERPRUNED_MIN_CHARS
    # short lines above the article's first <h1> are furniture (breadcrumbs, kickers, categories, dates)
    h1 = markup.find("<h1")
    if h1 > 0 and all(len(line.strip()) < _HEADING_CHARS for line in _plain(markup[:h1]).split("\n")):
        markup = markup[h1:]
    lines = _main_lines(markup)
    # what follows the last sentence is page furniture ("Share", "Tags: ...", "Next article")
    while lines and (not lines[-1].strip() or _is_heading(lines[-1])):
        lines.pop()
    text = "\n".join(lines).strip()
    if len(text) >= min_chars and len(text) >= FALLBACK_KEPT_SHARE * full_chars:
        return text, title, "resiliparse+prune"
    import trafilatura

    fallback = trafilatura.extract(html, fast=True, include_comments=False)
    return (fallback, title, "trafilatura") if fallback else (text, title, "resiliparse+prune")


def _extract(html: str, engine: str) -> tuple[str, str | None, str]:
    if engine == "resiliparse":
        return (*_resiliparse(html), "resiliparse")
    if engine == "trafilatura":
        return (*_trafilatura(html), "trafilatura")
    if engine == "auto":
        return _auto(html)
    raise ValueError(f"unknown extraction engine {engine!r}; known: {', '.join(ENGINES)}")


class _Deadline:
    """SIGALRM-based wall-clock limit (main thread only; elsewhere the limit is checked after the fact)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.armed = seconds > 0 and threading.current_thread() is threading.main_thread()

    def __enter__(self):
        if self.armed:
            self._old = signal.signal(signal.SIGALRM, self._fire)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def _fire(self, signum, frame):
        raise ExtractionTimeout()

    def __exit__(self, *exc):
        if self.armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._old)
        return False


def extract_text(html: str, engine: str = DEFAULT_ENGINE, time_limit_s: float = 0.0) -> Extraction:
    """Main text of one HTML page. Never raises for bad HTML: failures come back in ``Extraction.error``."""
    if engine not in ENGINES:
        raise ValueError(f"unknown extraction engine {engine!r}; known: {', '.join(ENGINES)}")
    t0 = time.perf_counter()
    try:
        with _Deadline(time_limit_s):
            text, title, used = _extract(html, engine)
    except ExtractionTimeout:
        text, title, used = None, None, engine
    except Exception as exc:  # a page that breaks the parser is reported, not fatal
        return Extraction(None, None, engine, time.perf_counter() - t0, f"{type(exc).__name__}: {exc}"[:300])
    seconds = time.perf_counter() - t0
    if text is None or (time_limit_s > 0 and seconds > time_limit_s):
        return Extraction(None, None, used, seconds, f"extraction exceeded time limit ({time_limit_s:g} s)")
    return Extraction(text, title, used, seconds)


def extract_texts(htmls: Iterable[str | None] | pa.Array, engine: str = DEFAULT_ENGINE,
                  time_limit_s: float = 0.0) -> pa.Table:
    """Extract every page of a list / Arrow string array; one row per input (``EXTRACTION_SCHEMA``)."""
    import pyarrow as pa

    if isinstance(htmls, (pa.Array, pa.ChunkedArray)):
        htmls = htmls.to_pylist()
    rows = []
    for html in htmls:
        if html is None:
            rows.append(Extraction(None, None, engine, 0.0, "no HTML"))
        else:
            rows.append(extract_text(html, engine, time_limit_s))
    return pa.Table.from_pydict(
        {
            "text": [r.text for r in rows],
            "title": [r.title for r in rows],
            "extractor": [r.extractor for r in rows],
            "extract_seconds": [r.seconds for r in rows],
            "error": [r.error for r in rows],
        },
        schema=__getattr__("EXTRACTION_SCHEMA"),
    )
