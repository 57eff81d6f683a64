"""Write the built-in sample corpus: web pages in WARC files, PDFs, and JSONL text, all generated here.

Documents are composed from the prose bank in :mod:`curation.sample.text` by seeded ``random.Random`` streams,
so the same seed gives byte-identical files (gzip members carry mtime 0, PDFs fixed dates and no /ID).
Composed documents are kept below ``MAX_ORGANIC_JACCARD`` word-5-gram Jaccard of each other, so the only
near-duplicates a dedup stage should find are the planted ones listed in ``manifest.json``.

Layout under ``out_dir``: ``warc/`` (two crawl files and a truncated one), ``pdf/`` (reports, one with a scanned
image-only page, and a corrupt file), ``text/`` (code, forum, wiki and books JSONL), ``README.md`` and
``manifest.json`` (the summary that :func:`write_sample` returns).
"""
from __future__ import annotations

import base64
import datetime as dt
import functools
import gzip
import hashlib
import html
import json
import random
import re
import struct
import uuid
import zlib
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pymupdf

from curation.sample import text as bank

MAX_ORGANIC_JACCARD = 0.5
COMPOSE_ATTEMPTS = 60
WEB_PAGES_PER_TOPIC = 22
FOREIGN_PAGES_PER_TOPIC = 8
WIKI_ARTICLES_PER_TOPIC = 6
BOOK_CHAPTERS = 10
CRAWL_START = dt.datetime(2024, 3, 4, 6, 0, 0, tzinfo=dt.timezone.utc)

_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÄÖÜÀ-Ý])")


def word_shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    """Lower-cased word n-grams: the unit in which the corpus guarantees (and tests) document similarity."""
    words = _WORD.findall(text.lower())
    return {tuple(words[i:i + n]) for i in range(max(1, len(words) - n + 1))}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _sentences(paragraph: str) -> list[str]:
    return _SENTENCE_END.split(paragraph)


class _Composer:
    """Draws paragraphs for documents so that no two composed documents are near-duplicates by accident."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self._seen: dict[str, list[set]] = {}

    def accept(self, topic: str, text: str) -> bool:
        """Register ``text`` unless it is within MAX_ORGANIC_JACCARD of an earlier document on ``topic``."""
        shingles = word_shingles(text)
        seen = self._seen.setdefault(topic, [])
        if any(jaccard(shingles, other) >= MAX_ORGANIC_JACCARD for other in seen):
            return False
        seen.append(shingles)
        return True

    def compose(self, topic: str, pool: tuple[str, ...], lo: int, hi: int) -> tuple[int, list[str]] | None:
        """``lo``..``hi`` paragraphs from ``pool``, some with a sentence dropped, and the pool index of the first
        (titles follow the lead paragraph); None when every draw collides with an earlier document."""
        for _ in range(COMPOSE_ATTEMPTS):
            picks = self.rng.sample(range(len(pool)), self.rng.randint(lo, min(hi, len(pool))))
            paragraphs = [self._trim(pool[i]) for i in picks]
            if self.accept(topic, " ".join(paragraphs)):
                return picks[0], paragraphs
        return None

    def _trim(self, paragraph: str) -> str:
        sentences = _sentences(paragraph)
        if len(sentences) >= 4 and self.rng.random() < 0.5:
            del sentences[self.rng.randrange(1, len(sentences))]
        return " ".join(sentences)


def _near_duplicate(text: str, rng: random.Random) -> str:
    """A lightly edited copy (two words swapped for synonyms or dropped, one sentence appended), Jaccard >= 0.8."""
    edits = {"very": "really", "often": "frequently", "small": "little", "large": "big", "quickly": "fast",
             "usually": "generally", "because": "since", "colour": "color", "grey": "gray"}
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if w.lower() in edits] or list(range(1, len(words), 7))
    for i in sorted(rng.sample(candidates, min(2, len(candidates))), reverse=True):
        if words[i].lower() in edits:
            words[i] = edits[words[i].lower()]
        else:
            del words[i]
    return " ".join(words) + " This copy was shared with permission."


# --------------------------------------------------------------------------------------------------- WARC


def _sha1_digest(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def _http_date(when: dt.datetime) -> str:
    return when.strftime("%a, %d %b %Y %H:%M:%S GMT")


_REASONS = {200: "OK", 301: "Moved Permanently", 404: "Not Found"}


@dataclass
class _Exchange:
    """One fetched URL: what the crawler asked for and what the server answered."""

    url: str
    status: int
    content_type: str
    body: bytes
    extra_headers: tuple[tuple[str, str], ...] = ()


class _WarcFile:
    """Builds one WARC/1.0 file in memory, one gzip member per record as Common Crawl does."""

    def __init__(self, filename: str, rng: random.Random, clock: dt.datetime):
        self.rng = rng
        self.clock = clock
        self.members: list[bytes] = []
        self.counts: Counter = Counter()
        self.warcinfo_id = self._record("warcinfo", "application/warc-fields", (
            "software: curation sample corpus writer\r\nformat: WARC File Format 1.0\r\n"
            "conformsTo: https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.0/\r\n"
            "isPartOf: curation-sample\r\nrobots: checked via robots.txt\r\n").encode(),
            [("WARC-Filename", filename)])

    def _record_id(self) -> str:
        return f"<urn:uuid:{uuid.UUID(int=self.rng.getrandbits(128), version=4)}>"

    def _record(self, warc_type: str, content_type: str, block: bytes, headers: list[tuple[str, str]]) -> str:
        record_id = self._record_id()
        head = [("WARC-Type", warc_type), ("WARC-Date", self.clock.strftime("%Y-%m-%dT%H:%M:%SZ")),
                ("WARC-Record-ID", record_id), ("Content-Length", str(len(block))), ("Content-Type", content_type)]
        if warc_type != "warcinfo":
            head.append(("WARC-Warcinfo-ID", self.warcinfo_id))
        head += headers + [("WARC-Block-Digest", _sha1_digest(block))]
        raw = "WARC/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head) + "\r\n"
        self.members.append(gzip.compress(raw.encode() + block + b"\r\n\r\n", mtime=0))
        self.counts[warc_type] += 1
        return record_id

    def add(self, exchange: _Exchange) -> None:
        """Write the request and response records for one exchange."""
        self.clock += dt.timedelta(seconds=self.rng.randint(1, 45))
        scheme_host, _, path = exchange.url.partition("://")[2].partition("/")
        request = (f"GET /{path} HTTP/1.1\r\nHost: {scheme_host}\r\nUser-Agent: curation-sample-bot/0.1\r\n"
                   "Accept: text/html,application/xhtml+xml,*/*;q=0.8\r\nAccept-Encoding: identity\r\n\r\n")
        ip = f"192.0.2.{sum(scheme_host.encode()) % 250 + 1}"
        uri = [("WARC-IP-Address", ip), ("WARC-Target-URI", exchange.url)]
        request_id = self._record("request", "application/http; msgtype=request", request.encode(), uri)
        http_head = [("Date", _http_date(self.clock)), ("Server", "nginx/1.24.0"),
                     ("Content-Type", exchange.content_type), ("Content-Length", str(len(exchange.body))),
                     *exchange.extra_headers]
        response = (f"HTTP/1.1 {exchange.status} {_REASONS[exchange.status]}\r\n"
                    + "".join(f"{k}: {v}\r\n" for k, v in http_head) + "\r\n").encode() + exchange.body
        self._record("response", "application/http; msgtype=response", response,
                     [("WARC-Concurrent-To", request_id), *uri, ("WARC-Payload-Digest", _sha1_digest(exchange.body))])

    def data(self) -> bytes:
        return b"".join(self.members)


@dataclass(frozen=True)
class _Site:
    host: str
    name: str
    tagline: str
    topic: str
    section: str
    lang: str = "en"
    charset: str = "utf-8"
    charset_in_header: bool = True  # False: declared only in a <meta> tag, as many older sites do
    comments: bool = True
    smart_quotes: bool = False  # typographic apostrophes, as older CMSs write them (0x92 in windows-1252)


_SITES: tuple[_Site, ...] = (
    _Site("www.kitchen-notebook.example", "The Kitchen Notebook", "Home cooking, explained", "cooking", "recipes"),
    _Site("skywatchers.example.org", "Millbrook Skywatchers", "Amateur astronomy since 1972", "astronomy", "observing"),
    _Site("history.millbrook.example", "Millbrook Local History Society", "Our village, our past",
          "local_history", "articles", charset="windows-1252", smart_quotes=True),
    _Site("docs.tinyproject.example", "Tinyproject Documentation", "User guide and reference", "software", "guide"),
    _Site("www.greenplot.example", "Green Plot", "Notes from a small allotment", "gardening", "blog"),
    _Site("riverside-cc.example.net", "Riverside Cycling Club", "Ride, repair, repeat", "cycling", "advice"),
    _Site("pennywise.example.com", "Penny Wise", "Personal finance without the jargon", "finance", "guides"),
    _Site("valleybirds.example.org", "Valley Bird Club", "Watching birds in the valley", "birding", "notes"),
    _Site("fixit-home.example", "Fix It at Home", "Repairs you can do yourself", "home_repair", "how-to"),
    _Site("hillpaths.example.org", "Hill Paths", "Walking in the uplands", "hiking", "routes"),
    _Site("www.gartenfreunde.example.de", "Gartenfreunde", "Tipps für Haus und Garten", "de_garden", "ratgeber",
          lang="de", charset="iso-8859-1", charset_in_header=False),
    _Site("www.cuisine-du-marche.example.fr", "Cuisine du marché", "Cuisine de saison, pas à pas", "fr_cuisine",
          "recettes", lang="fr", charset="windows-1252"),
)
_ENGLISH_SITES = tuple(site for site in _SITES if site.lang == "en")
_AGGREGATOR = _Site("www.dailyreads.example.com", "Daily Reads", "The best of the web, every day", "", "read",
                    comments=False)
_SPAM_HOST = "best-deals-online.example.biz"


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower().encode("ascii", "ignore").decode()).strip("-")


def _render_page(site: _Site, title: str, paragraphs: list[str], rng: random.Random, *,
                 author: str, published: dt.date, related: list[str], preface: str = "") -> str:
    """A full HTML page: cookie banner, header, nav, breadcrumbs, the <article>, comments, sidebar, footer."""
    chrome = bank.SITE_CHROME[site.lang]
    esc = html.escape
    nav = "".join(f'<li><a href="/{_slug(item) or ""}">{esc(item)}</a></li>' for item in chrome["nav"])
    if site.smart_quotes:
        paragraphs = [p.replace("'", "\u2019") for p in paragraphs]
    body = "\n".join(f"<p>{esc(p)}</p>" for p in paragraphs)
    comments = rng.sample(chrome["comment_samples"], rng.randint(0, 3)) if site.comments else []
    comment_html = "".join(
        f'<div class="comment"><p class="comment-author">{esc(rng.choice(bank.FORUM_USERS))}</p>'
        f"<p>{esc(c)}</p></div>" for c in comments)
    related_html = "".join(f'<li><a href="/{site.section}/{_slug(t)}">{esc(t)}</a></li>' for t in related)
    meta_charset = (f'<meta charset="{site.charset}">' if site.charset_in_header else
                    f'<meta http-equiv="Content-Type" content="text/html; charset={site.charset}">')
    preface_html = f'<p class="origin"><em>{esc(preface)}</em></p>\n' if preface else ""
    return f"""<!DOCTYPE html>
<html lang="{site.lang}">
<head>
{meta_charset}
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} | {esc(site.name)}</title>
<meta name="description" content="{esc(_sentences(paragraphs[0])[0])}">
<link rel="stylesheet" href="/assets/site.css">
<script>window.dataLayer = window.dataLayer || []; function gtag(){{dataLayer.push(arguments);}}</script>
</head>
<body class="post">
<div id="cookie-banner" class="cookie-banner" role="dialog"><p>{esc(chrome["cookie"])}</p>
<button class="accept">{esc(chrome["accept"])}</button> <button>{esc(chrome["settings"])}</button></div>
<header class="site-header"><a class="logo" href="/">{esc(site.name)}</a>
<p class="tagline">{esc(site.tagline)}</p>
<nav class="main-nav"><ul>{nav}</ul></nav></header>
<div class="breadcrumbs"><a href="/">{esc(chrome["nav"][0])}</a> &rsaquo;
<a href="/{site.section}/">{esc(site.section.title())}</a> &rsaquo; {esc(title)}</div>
<div class="layout">
<main>
<article class="entry">
<h1>{esc(title)}</h1>
<p class="byline">{esc(chrome["by"])} {esc(author)} &middot; <span class="date">{published.isoformat()}</span>
&middot; {rng.randint(3, 9)} {esc(chrome["read"])}</p>
{preface_html}{body}
</article>
<div class="share">{esc(chrome["share"])}: <a href="#">Facebook</a> <a href="#">Email</a></div>
<section id="comments"><h3>{esc(chrome["comments"])} ({len(comments)})</h3>{comment_html}
<form class="reply"><h4>{esc(chrome["reply"])}</h4><textarea name="comment"></textarea><button>OK</button>
</form></section>
</main>
<aside class="sidebar"><h3>{esc(chrome["popular"])}</h3><ul>{related_html}</ul>
<h3>{esc(chrome["newsletter"])}</h3><form><input type="email" name="email"><button>OK</button></form></aside>
</div>
<footer class="site-footer"><p>&copy; {published.year} {esc(site.name)}. {esc(chrome["rights"])}</p>
<ul>{"".join(f'<li><a href="/{_slug(x)}">{esc(x)}</a></li>' for x in chrome["links"])}</ul></footer>
</body>
</html>
"""


def _html_exchange(site: _Site, path: str, page: str) -> _Exchange:
    header_type = f"text/html; charset={site.charset}" if site.charset_in_header else "text/html"
    return _Exchange(f"https://{site.host}/{path}", 200, header_type, page.encode(site.charset))


def _png(width: int, height: int, rng: random.Random) -> bytes:
    """A small valid RGB PNG (a colour gradient), written by hand to need no imaging library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    base = [rng.randrange(256) for _ in range(3)]
    rows = b"".join(b"\x00" + bytes((base[c] + x * 4 + y * 2) % 256 for x in range(width) for c in range(3))
                    for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


@dataclass
class _Planted:
    """Ground truth for what the pipeline should find: deliberate duplicates, junk and broken inputs."""

    exact_duplicates: list[list[str]] = field(default_factory=list)  # [original id, copy id]
    near_duplicates: list[list[str]] = field(default_factory=list)
    low_quality: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)


def _web_exchanges(rng: random.Random, composer: _Composer, planted: _Planted) -> tuple[list, list, Counter]:
    """HTML articles for every site plus junk, non-HTML, 404 and redirect responses.

    Returns (exchanges to shuffle across the crawl files, exact recrawls that go in the last file, page counts).
    """
    exchanges: list[_Exchange] = []
    articles: list[tuple[_Site, _Exchange, dict]] = []
    pages = Counter()
    for site in _SITES:
        foreign = site.lang != "en"
        pool = (bank.FOREIGN_PARAGRAPHS if foreign else bank.PARAGRAPHS)[site.topic]
        titles = (bank.FOREIGN_TITLES if foreign else bank.TITLES)[site.topic]
        title_uses = Counter()
        for _ in range(FOREIGN_PAGES_PER_TOPIC if foreign else WEB_PAGES_PER_TOPIC):
            drawn = composer.compose(site.topic, pool, 2, 4)
            if drawn is None:
                continue
            lead, paragraphs = drawn
            title_uses[lead] += 1
            title = titles[lead] + (f" (part {title_uses[lead]})" if title_uses[lead] > 1 else "")
            article = dict(title=title, paragraphs=paragraphs, author=rng.choice(bank.AUTHORS),
                           published=CRAWL_START.date() - dt.timedelta(days=rng.randint(5, 900)))
            exchange = _html_exchange(site, f"{site.section}/{_slug(title)}",
                                      _render_page(site, **article, rng=rng, related=rng.sample(titles, 3)))
            exchanges.append(exchange)
            articles.append((site, exchange, article))
            pages[site.lang] += 1

    # Syndicated copies: the same article under another site's chrome (a near-duplicate after extraction).
    english = [a for a in articles if a[0].lang == "en"]
    for site, original, article in rng.sample([a for a in english if len(a[2]["paragraphs"]) >= 3], 4):
        page = _render_page(_AGGREGATOR, **article, rng=rng, related=[],
                            preface=f"Originally published by {site.name}.")
        copy = _html_exchange(_AGGREGATOR, f"read/{_slug(article['title'])}-{rng.randrange(10**6)}", page)
        exchanges.append(copy)
        planted.near_duplicates.append([original.url, copy.url])
        pages["en"] += 1

    exchanges += _junk_pages(rng, planted, pages)
    exchanges += _non_article_responses(rng)
    # Exact duplicates: English articles fetched again, byte for byte, in the last crawl file.
    recrawls = [exchange for _, exchange, _ in rng.sample(english, 3)]
    planted.exact_duplicates += [[e.url, e.url] for e in recrawls]
    pages["en"] += len(recrawls)
    return exchanges, recrawls, pages


def _junk_pages(rng: random.Random, planted: _Planted, pages: Counter) -> list[_Exchange]:
    """Spam keyword pages, a tag archive with nothing but links, and an empty placeholder page."""
    junk = []
    spam_site = _Site(_SPAM_HOST, "Best Deals Online", "Cheap prices every day", "", "deals")
    for n in range(3):
        words = [rng.choice(bank.SPAM_KEYWORDS) for _ in range(120)]
        paragraphs = [" ".join(words[i:i + 30]) for i in range(0, 120, 30)]
        title = " ".join(rng.sample(bank.SPAM_KEYWORDS, 4)).title()
        page = _render_page(spam_site, title, paragraphs, rng, author="admin", published=CRAWL_START.date(),
                            related=rng.sample(bank.SPAM_KEYWORDS, 5))
        junk.append(_html_exchange(spam_site, f"deals/{n}-{_slug(title)}", page))
    for site in rng.sample(_ENGLISH_SITES, 2):
        titles = bank.TITLES[site.topic]
        page = _render_page(site, "Tag archive", [" | ".join(rng.sample(bank.BOILERPLATE_LINES, 8))], rng,
                            author="admin", published=CRAWL_START.date(), related=list(titles[:5]))
        junk.append(_html_exchange(site, "tag/archive", page))
    placeholder = rng.choice(_ENGLISH_SITES)
    junk.append(_html_exchange(placeholder, "new-section", _render_page(
        placeholder, "New section", [rng.choice(bank.SHORT_TEXTS[3:5])], rng, author="admin",
        published=CRAWL_START.date(), related=[])))
    planted.low_quality += [e.url for e in junk]
    pages["en"] += len(junk)
    return junk


def _non_article_responses(rng: random.Random) -> list[_Exchange]:
    """Images, JSON API answers, robots.txt, 404s and redirects: records a web reader must skip."""
    out = []
    for site in rng.sample(_SITES, 3):
        out.append(_Exchange(f"https://{site.host}/assets/logo.png", 200, "image/png", _png(24, 16, rng)))
    for site in rng.sample(_SITES, 3):
        titles = rng.sample(bank.TITLES.get(site.topic) or bank.FOREIGN_TITLES[site.topic], 3)
        payload = {"page": 2, "per_page": 3, "items": [{"id": rng.randrange(10**5), "title": t, "slug": _slug(t)}
                                                       for t in titles]}
        out.append(_Exchange(f"https://{site.host}/api/v1/posts?page=2", 200, "application/json",
                             json.dumps(payload, ensure_ascii=False).encode()))
    for site in rng.sample(_SITES, 2):
        out.append(_Exchange(f"https://{site.host}/robots.txt", 200, "text/plain",
                             b"User-agent: *\nDisallow: /admin/\nSitemap: /sitemap.xml\n"))
    for site in rng.sample(_SITES, 3):
        body = (f"<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1>"
                f"<p>The requested URL was not found on this server.</p><hr><address>{site.host}</address>"
                "</body></html>").encode()
        out.append(_Exchange(f"https://{site.host}/old-page-{rng.randrange(1000)}.html", 404,
                             "text/html; charset=utf-8", body))
    for site in rng.sample(_SITES, 3):
        target = f"https://{site.host}/"
        body = f'<html><body>Moved <a href="{target}">here</a>.</body></html>'.encode()
        out.append(_Exchange(f"http://{site.host}/", 301, "text/html", body, (("Location", target),)))
    return out


def _write_warcs(out: Path, rng: random.Random, composer: _Composer, planted: _Planted) -> dict:
    exchanges, recrawls, pages = _web_exchanges(rng, composer, planted)
    rng.shuffle(exchanges)
    half = len(exchanges) // 2
    batches = {"crawl-0000.warc.gz": exchanges[:half], "crawl-0001.warc.gz": exchanges[half:] + recrawls}
    clock = CRAWL_START
    files = {}
    for name, batch in batches.items():
        warc = _WarcFile(name, rng, clock)
        for exchange in batch:
            warc.add(exchange)
        clock = warc.clock
        (out / name).write_bytes(warc.data())
        files[name] = dict(sorted(warc.counts.items()))

    # A crawl file cut off mid-record, as after an interrupted download.
    broken = _WarcFile("broken-truncated.warc.gz", rng, clock)
    for exchange in exchanges[:4]:
        broken.add(exchange)
    data = broken.data()
    (out / "broken-truncated.warc.gz").write_bytes(data[:len(data) - len(broken.members[-1]) // 2])
    planted.broken.append("warc/broken-truncated.warc.gz")

    all_sent = exchanges + recrawls
    statuses = Counter(str(e.status) for e in all_sent)
    kinds = Counter(e.content_type.split(";")[0] for e in all_sent if e.status == 200)
    charsets = Counter(e.content_type.partition("charset=")[2] or "meta tag only" for e in all_sent
                       if e.status == 200 and e.content_type.startswith("text/html"))
    return {"files": files, "http_status": dict(sorted(statuses.items())),
            "content_types_200": dict(sorted(kinds.items())), "html_charsets": dict(sorted(charsets.items())),
            "html_documents": sum(pages.values()), "html_documents_by_lang": dict(sorted(pages.items())),
            "broken": {"broken-truncated.warc.gz": {"records_written": sum(broken.counts.values()),
                                                    "last_record": "cut in half"}}}


# ---------------------------------------------------------------------------------------------------- PDF

_PAGE = pymupdf.paper_rect("a4")
_MARGIN = 72
_BODY_SIZE = 11
_LEADING = 15
_HYPHEN_SPLIT = re.compile(r"(?<=[aeiouy][b-df-hj-np-tv-z])(?=[b-df-hj-np-tv-z][aeiouy])")  # VC-CV: tem-perature


@functools.lru_cache(maxsize=None)
def _word_width(word: str, size: float, font: str) -> float:
    return pymupdf.get_text_length(word, fontname=font, fontsize=size)


def _text_width(text: str, size: float = _BODY_SIZE, font: str = "helv") -> float:
    # Base-14 fonts have no kerning, so widths add up; measuring word by word (cached) is far faster.
    words = text.split(" ")
    return sum(_word_width(w, size, font) for w in words) + (len(words) - 1) * _word_width(" ", size, font)


def _hyphenate(word: str, room: float, size: float, font: str) -> tuple[str, str] | None:
    """Split ``word`` at the last VC-CV boundary whose head plus "-" fits in ``room`` points, if any."""
    core = re.match(r"[A-Za-z]+", word)
    if core is None or len(core.group(0)) < 7:
        return None
    cuts = [m.start() for m in _HYPHEN_SPLIT.finditer(core.group(0)) if 3 <= m.start() <= len(core.group(0)) - 3]
    for cut in reversed(cuts):
        if _text_width(word[:cut] + "-", size, font) <= room:
            return word[:cut] + "-", word[cut:]
    return None


def _wrap(text: str, width: float, size: float, font: str, hyphenate: bool) -> list[str]:
    """Greedy line breaking; with ``hyphenate``, long words are split at line ends as typeset reports do."""
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if _text_width(candidate, size, font) <= width:
            line = candidate
            continue
        room = width - _text_width(line + " ", size, font)
        split = _hyphenate(word, room, size, font) if line and hyphenate else None
        if split:
            lines.append(f"{line} {split[0]}")
            line = split[1]
        else:
            lines.append(line)
            line = word
    return lines + [line] if line else lines


class _PdfLayout:
    """Flows headings and paragraphs onto A4 pages, top to bottom, starting new pages as needed."""

    def __init__(self, doc: pymupdf.Document):
        self.doc = doc
        self.page = doc.new_page(width=_PAGE.width, height=_PAGE.height)
        self.y = _MARGIN

    def _line(self, text: str, size: float, font: str, height: float) -> None:
        if self.y + height > _PAGE.height - _MARGIN:
            self.page = self.doc.new_page(width=_PAGE.width, height=_PAGE.height)
            self.y = _MARGIN
        self.y += height
        self.page.insert_text((_MARGIN, self.y), text, fontsize=size, fontname=font)

    def heading(self, text: str, size: float = 13) -> None:
        self.y += 8
        for line in _wrap(text, _PAGE.width - 2 * _MARGIN, size, "hebo", hyphenate=False):
            self._line(line, size, "hebo", size + 6)

    def paragraph(self, text: str, size: float = _BODY_SIZE, font: str = "helv") -> None:
        for line in _wrap(text, _PAGE.width - 2 * _MARGIN, size, font, hyphenate=True):
            self._line(line, size, font, _LEADING)
        self.y += 6


def _scanned_page(doc: pymupdf.Document, lines: tuple[str, ...], dpi: int = 150) -> None:
    """Append a page holding only a raster image of typed text: no text layer, recoverable by OCR."""
    typed = pymupdf.open()
    layout = _PdfLayout(typed)
    for line in lines:
        layout.paragraph(line, size=12, font="cour")
    pixmap = typed[0].get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
    page = doc.new_page(width=_PAGE.width, height=_PAGE.height)
    page.insert_image(page.rect, pixmap=pixmap)


def _report_pdf(topic: str, title: str, organisation: str, author: str, year: int, scanned: bool) -> bytes:
    """A born-digital report: title block, one section per bank paragraph, running header, page numbers."""
    doc = pymupdf.open()
    layout = _PdfLayout(doc)
    layout.heading(title, size=18)
    layout.paragraph(f"{author}, {organisation}, {year}", font="heit")
    for heading, text in zip(bank.TITLES[topic], bank.PARAGRAPHS[topic]):
        layout.heading(heading)
        layout.paragraph(text)
    text_pages = doc.page_count
    if scanned:
        _scanned_page(doc, bank.SCANNED_LETTER)
    for number, page in enumerate(doc, start=1):
        if number > text_pages:
            continue  # a scan carries no text layer, not even the running header
        if number > 1:
            page.insert_text((_MARGIN, 40), title, fontsize=8, fontname="heit")
        footer = f"Page {number} of {doc.page_count}"
        page.insert_text(((_PAGE.width - _text_width(footer, 9)) / 2, _PAGE.height - 36), footer, fontsize=9)
    stamp = f"D:{year}0301120000Z"
    doc.set_metadata({"title": title, "author": author, "subject": organisation, "keywords": topic,
                      "creator": "curation sample corpus writer", "producer": "PyMuPDF",
                      "creationDate": stamp, "modDate": stamp})
    return doc.tobytes(garbage=3, deflate=True, no_new_id=True)


def _write_pdfs(out: Path, rng: random.Random, composer: _Composer, planted: _Planted) -> dict:
    files = {}
    scanned_topic = "local_history"
    for topic, title, organisation in bank.REPORTS:
        composer.accept(topic, " ".join(bank.PARAGRAPHS[topic]))
        name = f"{_slug(title)}.pdf"
        data = _report_pdf(topic, title, organisation, rng.choice(bank.AUTHORS), rng.randint(2019, 2024),
                           scanned=topic == scanned_topic)
        (out / name).write_bytes(data)
        with pymupdf.open(stream=data, filetype="pdf") as doc:
            image_only = [i for i, page in enumerate(doc) if not page.get_text().strip()]
            files[name] = {"pages": doc.page_count, "image_only_pages": image_only, "topic": topic}
    # A download that stopped early: the header and first objects survive, the page tree and xref do not.
    (out / "corrupt-truncated.pdf").write_bytes(data[:len(data) // 5])
    planted.broken.append("pdf/corrupt-truncated.pdf")
    return {"files": files, "documents": len(files), "pages": sum(f["pages"] for f in files.values()),
            "corrupt": ["corrupt-truncated.pdf"]}


# --------------------------------------------------------------------------------------------------- JSONL


class _JsonlFile:
    """Collects the lines of one gzipped JSONL file, including deliberately broken ones."""

    def __init__(self, source: str):
        self.source = source
        self.lines: list[bytes] = []
        self.docs: list[dict] = []
        self.error_lines = 0

    def add(self, doc_id: str, text: str, url: str | None = None) -> dict:
        doc = {"id": doc_id, "text": text, "source": self.source, "url": url}
        self.docs.append(doc)
        self.lines.append(json.dumps(doc, ensure_ascii=False).encode())
        return doc

    def add_raw(self, line: bytes) -> None:
        self.lines.append(line)
        self.error_lines += 1

    def write(self, path: Path) -> dict:
        path.write_bytes(gzip.compress(b"".join(line + b"\n" for line in self.lines), mtime=0))
        return {"lines": len(self.lines), "documents": len(self.docs), "error_lines": self.error_lines}


def _plant_copies(jsonl: _JsonlFile, rng: random.Random, planted: _Planted, exact: int, near: int) -> None:
    """Append exact and lightly edited copies of randomly chosen documents of the file."""
    originals = rng.sample(jsonl.docs, exact + near)
    for n, doc in enumerate(originals):
        copy_id = f"{doc['id']}-copy"
        if n < exact:
            jsonl.add(copy_id, doc["text"], doc["url"])
            planted.exact_duplicates.append([doc["id"], copy_id])
        else:
            jsonl.add(copy_id, _near_duplicate(doc["text"], rng), doc["url"])
            planted.near_duplicates.append([doc["id"], copy_id])


def _wiki(rng: random.Random, composer: _Composer, planted: _Planted) -> _JsonlFile:
    wiki = _JsonlFile("wiki")
    for topic, pool in bank.PARAGRAPHS.items():
        for _ in range(WIKI_ARTICLES_PER_TOPIC):
            drawn = composer.compose(topic, pool, 3, 5)
            if drawn is None:
                continue
            doc_id = f"wiki-{len(wiki.docs):04d}"
            title = bank.TITLES[topic][drawn[0]]
            url = f"https://wiki.example.org/wiki/{_slug(title)}-{doc_id}"
            wiki.add(doc_id, "\n\n".join([title, *drawn[1]]), url)
    _plant_copies(wiki, rng, planted, exact=3, near=4)
    junk = [("Lorem ipsum", "\n\n".join([bank.LOREM * 6] * 4)),
            ("Stub", "This article is a stub. You can help by expanding it."),
            ("Navigation", "\n".join(bank.BOILERPLATE_LINES)),
            ("Repeated", "\n".join(["Click here to read more."] * 40))]
    for title, text in junk:
        doc = wiki.add(f"wiki-{len(wiki.docs):04d}", text, f"https://wiki.example.org/wiki/{_slug(title)}")
        planted.low_quality.append(doc["id"])
    # A line from a producer that wrote Latin-1: the é in "café" is the single byte 0xE9.
    bad = dict(id="wiki-bad-utf8", text="The café on the corner opened in 1911.", source="wiki", url=None)
    wiki.add_raw(json.dumps(bad, ensure_ascii=False).encode().replace("café".encode(), "café".encode("latin-1")))
    planted.broken.append("text/wiki.jsonl.gz: line with invalid UTF-8")
    return wiki


def _books(rng: random.Random, composer: _Composer, planted: _Planted) -> _JsonlFile:
    books = _JsonlFile("books")
    for n in range(BOOK_CHAPTERS):
        drawn = composer.compose("narrative", bank.NARRATIVE, 3, 4)
        if drawn is not None:
            title = bank.BOOK_TITLES[n % len(bank.BOOK_TITLES)]
            books.add(f"book-{n:04d}", "\n\n".join([title, "Chapter One", *drawn[1]]))
    _plant_copies(books, rng, planted, exact=1, near=1)
    return books


def _forum_thread(rng: random.Random, topic: str, answer: int, title: str, question: str) -> str:
    asker, *repliers = rng.sample(bank.FORUM_USERS, 4)
    posts = [f"{title}\n\n{asker} wrote:\n{question}"]
    tangents = rng.sample([i for i in range(len(bank.PARAGRAPHS[topic])) if i != answer], 2)
    # The first reply answers the question; later ones drift to neighbouring advice, as threads do.
    for user, index, openers in zip(repliers[:rng.randint(2, 3)], [answer, *tangents],
                                    [bank.REPLY_OPENERS, bank.TANGENT_OPENERS, bank.TANGENT_OPENERS]):
        advice = " ".join(_sentences(bank.PARAGRAPHS[topic][index])[:rng.randint(2, 3)])
        posts.append(f"{user} replied:\n{rng.choice(openers)} {advice} {rng.choice(bank.REPLY_CLOSERS)}")
    if rng.random() < 0.5:
        posts.append(f"{asker} replied:\n{rng.choice(bank.THANKS_REPLIES)}")
    return "\n\n".join(posts)


def _forum(rng: random.Random, composer: _Composer, planted: _Planted) -> _JsonlFile:
    forum = _JsonlFile("forum")
    for n, (topic, answer, title, question) in enumerate(bank.FORUM_QUESTIONS):
        for _ in range(COMPOSE_ATTEMPTS):
            text = _forum_thread(rng, topic, answer, title, question)
            if composer.accept(topic, text):
                forum.add(f"forum-{n:04d}", text, f"https://forum.example.net/t/{_slug(title)}/{1000 + n}")
                break
    _plant_copies(forum, rng, planted, exact=1, near=1)
    for n, text in enumerate([" ".join(rng.sample(bank.SPAM_KEYWORDS, 15)) for _ in range(2)] + [
            bank.SHORT_TEXTS[0], bank.SHORT_TEXTS[1]]):
        doc = forum.add(f"forum-junk-{n}", text, f"https://forum.example.net/t/post/{9000 + n}")
        planted.low_quality.append(doc["id"])
    # A writer killed mid-line leaves a truncated JSON object behind.
    cut = json.dumps({"id": "forum-truncated", "text": bank.THANKS_REPLIES[0], "source": "forum"}).encode()
    forum.add_raw(cut[:len(cut) // 2])
    planted.broken.append("text/forum.jsonl.gz: truncated line (invalid JSON)")
    return forum


def _code(rng: random.Random, planted: _Planted) -> _JsonlFile:
    code = _JsonlFile("code")
    for n, (path, _language, source) in enumerate(bank.CODE_FILES):
        code.add(f"code-{n:04d}", source, f"https://git.example.org/sample/{path}")
    # A vendored copy of a file is the commonest exact duplicate in code corpora.
    original = rng.choice(code.docs)
    code.add("code-vendored", original["text"], original["url"].replace("/sample/", "/vendor/sample/"))
    planted.exact_duplicates.append([original["id"], "code-vendored"])
    return code


# --------------------------------------------------------------------------------------------------- output


def _counts(counts: dict) -> str:
    return ", ".join(f"{key}: {value}" for key, value in counts.items())


def _readme(summary: dict) -> str:
    warc, pdf, text, planted = summary["warc"], summary["pdf"], summary["text"], summary["planted"]
    crawl_rows = "\n".join(f"| `warc/{name}` | {_counts(counts)} |" for name, counts in warc["files"].items())
    pdf_rows = "\n".join(f"| `pdf/{name}` | {info['pages']} | {info['image_only_pages'] or '-'} |"
                         for name, info in pdf["files"].items())
    text_rows = "\n".join(f"| `text/{name}` | {info['documents']} | {info['error_lines']} |"
                          for name, info in text.items())
    return f"""# Built-in sample corpus (seed {summary['seed']})

Generated by `curate sample write` (`curation/sample/corpus.py`) from the prose bank in
`curation/sample/text.py`. The same seed always gives byte-identical files. `manifest.json` holds the full
summary, the sha256 of every file and the planted ground truth.

Documents: {summary['documents_total']} ({_counts(summary['documents'])}).

## Web crawl (`warc/`, domain `web`)
WARC/1.0, one gzip member per record; each file starts with a warcinfo record, every fetch is a request plus
a response record.

| file | records |
| --- | --- |
{crawl_rows}

- HTML documents: {warc['html_documents']} (by language: {_counts(warc['html_documents_by_lang'])}), with
  cookie banners, navigation, sidebars, comments and footers around the `<article>`.
- HTTP status: {_counts(warc['http_status'])}; content types of 200 responses: {_counts(warc['content_types_200'])}.
- HTML charsets: {_counts(warc['html_charsets'])} (the German pages declare ISO-8859-1 only in a `<meta>` tag).
- Exact duplicates: pages crawled twice; near duplicates: articles syndicated by an aggregator site.
- `warc/broken-truncated.warc.gz` is cut off in the middle of its last record.

## PDFs (`pdf/`, domain `pdf`)

| file | pages | image-only pages (0-based) |
| --- | --- | --- |
{pdf_rows}

Born-digital reports with title/author metadata, running headers, page numbers and hyphenated line ends. The
image-only page is a 150 dpi scan of a typed letter: it has no text layer, so only OCR recovers it.
`pdf/corrupt-truncated.pdf` is the first fifth of a report.

## Text (`text/`, JSONL with `id`, `text`, `source`, `url`)

| file | documents | broken lines |
| --- | --- | --- |
{text_rows}

## Planted for the pipeline to find
- Exact duplicates: {len(planted['exact_duplicates'])} pairs; near duplicates: {len(planted['near_duplicates'])}
  pairs (word-5-gram Jaccard >= 0.8). `manifest.json` lists them as [original, copy]: JSONL ids, web URLs (a
  page crawled twice appears as [url, url]). Apart from these, no two article bodies on a topic reach a Jaccard of
  {MAX_ORGANIC_JACCARD}; paragraphs do recur across documents, so paragraph-level dedup will find repeats.
- Low-quality documents (spam keyword lists, boilerplate-only pages, very short texts, lorem ipsum and
  repeated lines): {len(planted['low_quality'])}.
- Broken inputs: {'; '.join(planted['broken'])}.
"""


def write_sample(out_dir: str | Path, seed: int = 0) -> dict:
    """Write the sample corpus under ``out_dir`` and return its summary (also written to ``manifest.json``).

    Rewriting an existing sample directory replaces its WARC, PDF and JSONL files; nothing else is removed.
    """
    out = Path(out_dir)
    for sub, pattern in (("warc", "*.warc.gz"), ("pdf", "*.pdf"), ("text", "*.jsonl.gz")):
        (out / sub).mkdir(parents=True, exist_ok=True)
        # Inputs left by an earlier version would be read by the pipeline and listed in the manifest.
        for stale in (out / sub).glob(pattern):
            stale.unlink()
    planted = _Planted()
    # One stream per part, so changing one part does not reshuffle the others.
    composer = _Composer(random.Random(f"{seed}:compose"))
    pdf = _write_pdfs(out / "pdf", random.Random(f"{seed}:pdf"), composer, planted)
    warc = _write_warcs(out / "warc", random.Random(f"{seed}:warc"), composer, planted)
    text_rng = random.Random(f"{seed}:text")
    text = {}
    for name, jsonl in (("wiki.jsonl.gz", _wiki(text_rng, composer, planted)),
                        ("books.jsonl.gz", _books(text_rng, composer, planted)),
                        ("forum.jsonl.gz", _forum(text_rng, composer, planted)),
                        ("code.jsonl.gz", _code(text_rng, planted))):
        text[name] = jsonl.write(out / "text" / name)
    documents = {"web": warc["html_documents"], "pdf": pdf["documents"],
                 **{name.split(".")[0]: info["documents"] for name, info in text.items()}}
    summary = {"seed": seed, "documents": documents, "documents_total": sum(documents.values()),
               "warc": warc, "pdf": pdf, "text": text, "planted": asdict(planted)}
    (out / "README.md").write_text(_readme(summary), encoding="utf-8")
    summary["files"] = {
        str(p.relative_to(out)): {"bytes": p.stat().st_size, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
        for p in sorted(out.rglob("*")) if p.is_file() and p.name != "manifest.json"}
    (out / "manifest.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return summary


def demo_overrides(sample_dir: str | Path, out: str | Path, tokenizer_dir: str | Path) -> list[str]:
    """``--set`` overrides that point ``pipelines/demo.yaml`` at a sample written elsewhere (tests, precompile)."""
    repo = Path(__file__).resolve().parents[2]
    return [
        f"out={out}",
        f"inputs.0.path={sample_dir}/warc/*.warc.gz",
        f"inputs.1.path={sample_dir}/pdf/*.pdf",
        f"inputs.2.path={sample_dir}/text/*.jsonl.gz",
        f"stages.tokenize.tokenizer={tokenizer_dir}/tokenizer.json",
        f"stages.shards.tokenizer={tokenizer_dir}/tokenizer.json",
        f"stages.shards.mix={repo}/mixes/demo.yaml",
    ]
