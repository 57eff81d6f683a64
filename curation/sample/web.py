"""The web part of the sample: sites in three languages and charsets, articles with page chrome around them, junk
pages, non-HTML and error responses, syndicated copies and recrawls, written as WARC files (plus a truncated one)."""
from __future__ import annotations

import datetime as dt
import html
import json
import random
import struct
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from curation.sample import bank
from curation.sample.compose import Composer, Planted, slug, split_sentences
from curation.sample.warc_file import Exchange, WarcFile

WEB_PAGES_PER_TOPIC = 22
FOREIGN_PAGES_PER_TOPIC = 8
CRAWL_START = dt.datetime(2024, 3, 4, 6, 0, 0, tzinfo=dt.timezone.utc)


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


def _render_page(site: _Site, title: str, paragraphs: list[str], rng: random.Random, *,
                 author: str, published: dt.date, related: list[str], preface: str = "") -> str:
    """A full HTML page: cookie banner, header, nav, breadcrumbs, the <article>, comments, sidebar, footer."""
    chrome = bank.SITE_CHROME[site.lang]
    esc = html.escape
    nav = "".join(f'<li><a href="/{slug(item) or ""}">{esc(item)}</a></li>' for item in chrome["nav"])
    if site.smart_quotes:
        paragraphs = [p.replace("'", "\u2019") for p in paragraphs]
    body = "\n".join(f"<p>{esc(p)}</p>" for p in paragraphs)
    comments = rng.sample(chrome["comment_samples"], rng.randint(0, 3)) if site.comments else []
    comment_html = "".join(
        f'<div class="comment"><p class="comment-author">{esc(rng.choice(bank.FORUM_USERS))}</p>'
        f"<p>{esc(c)}</p></div>" for c in comments)
    related_html = "".join(f'<li><a href="/{site.section}/{slug(t)}">{esc(t)}</a></li>' for t in related)
    meta_charset = (f'<meta charset="{site.charset}">' if site.charset_in_header else
                    f'<meta http-equiv="Content-Type" content="text/html; charset={site.charset}">')
    preface_html = f'<p class="origin"><em>{esc(preface)}</em></p>\n' if preface else ""
    return f"""<!DOCTYPE html>
<html lang="{site.lang}">
<head>
{meta_charset}
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} | {esc(site.name)}</title>
<meta name="description" content="{esc(split_sentences(paragraphs[0])[0])}">
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
<ul>{"".join(f'<li><a href="/{slug(x)}">{esc(x)}</a></li>' for x in chrome["links"])}</ul></footer>
</body>
</html>
"""


def _html_exchange(site: _Site, path: str, page: str) -> Exchange:
    header_type = f"text/html; charset={site.charset}" if site.charset_in_header else "text/html"
    return Exchange(f"https://{site.host}/{path}", 200, header_type, page.encode(site.charset))


def _png(width: int, height: int, rng: random.Random) -> bytes:
    """A small valid RGB PNG (a colour gradient), written by hand to need no imaging library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    base = [rng.randrange(256) for _ in range(3)]
    rows = b"".join(b"\x00" + bytes((base[c] + x * 4 + y * 2) % 256 for x in range(width) for c in range(3))
                    for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def _web_exchanges(rng: random.Random, composer: Composer, planted: Planted) -> tuple[list, list, Counter]:
    """HTML articles for every site plus junk, non-HTML, 404 and redirect responses.

    Returns (exchanges to shuffle across the crawl files, exact recrawls that go in the last file, page counts).
    """
    exchanges: list[Exchange] = []
    articles: list[tuple[_Site, Exchange, dict]] = []
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
            exchange = _html_exchange(site, f"{site.section}/{slug(title)}",
                                      _render_page(site, **article, rng=rng, related=rng.sample(titles, 3)))
            exchanges.append(exchange)
            articles.append((site, exchange, article))
            pages[site.lang] += 1

    # Syndicated copies: the same article under another site's chrome (a near-duplicate after extraction).
    english = [a for a in articles if a[0].lang == "en"]
    for site, original, article in rng.sample([a for a in english if len(a[2]["paragraphs"]) >= 3], 4):
        page = _render_page(_AGGREGATOR, **article, rng=rng, related=[],
                            preface=f"Originally published by {site.name}.")
        copy = _html_exchange(_AGGREGATOR, f"read/{slug(article['title'])}-{rng.randrange(10**6)}", page)
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


def _junk_pages(rng: random.Random, planted: Planted, pages: Counter) -> list[Exchange]:
    """Spam keyword pages, a tag archive with nothing but links, and an empty placeholder page."""
    junk = []
    spam_site = _Site(_SPAM_HOST, "Best Deals Online", "Cheap prices every day", "", "deals")
    for n in range(3):
        words = [rng.choice(bank.SPAM_KEYWORDS) for _ in range(120)]
        paragraphs = [" ".join(words[i:i + 30]) for i in range(0, 120, 30)]
        title = " ".join(rng.sample(bank.SPAM_KEYWORDS, 4)).title()
        page = _render_page(spam_site, title, paragraphs, rng, author="admin", published=CRAWL_START.date(),
                            related=rng.sample(bank.SPAM_KEYWORDS, 5))
        junk.append(_html_exchange(spam_site, f"deals/{n}-{slug(title)}", page))
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


def _non_article_responses(rng: random.Random) -> list[Exchange]:
    """Images, JSON API answers, robots.txt, 404s and redirects: records a web reader must skip."""
    out = []
    for site in rng.sample(_SITES, 3):
        out.append(Exchange(f"https://{site.host}/assets/logo.png", 200, "image/png", _png(24, 16, rng)))
    for site in rng.sample(_SITES, 3):
        titles = rng.sample(bank.TITLES.get(site.topic) or bank.FOREIGN_TITLES[site.topic], 3)
        payload = {"page": 2, "per_page": 3, "items": [{"id": rng.randrange(10**5), "title": t, "slug": slug(t)}
                                                       for t in titles]}
        out.append(Exchange(f"https://{site.host}/api/v1/posts?page=2", 200, "application/json",
                             json.dumps(payload, ensure_ascii=False).encode()))
    for site in rng.sample(_SITES, 2):
        out.append(Exchange(f"https://{site.host}/robots.txt", 200, "text/plain",
                             b"User-agent: *\nDisallow: /admin/\nSitemap: /sitemap.xml\n"))
    for site in rng.sample(_SITES, 3):
        body = (f"<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1>"
                f"<p>The requested URL was not found on this server.</p><hr><address>{site.host}</address>"
                "</body></html>").encode()
        out.append(Exchange(f"https://{site.host}/old-page-{rng.randrange(1000)}.html", 404,
                             "text/html; charset=utf-8", body))
    for site in rng.sample(_SITES, 3):
        target = f"https://{site.host}/"
        body = f'<html><body>Moved <a href="{target}">here</a>.</body></html>'.encode()
        out.append(Exchange(f"http://{site.host}/", 301, "text/html", body, (("Location", target),)))
    return out


def write_warcs(out: Path, rng: random.Random, composer: Composer, planted: Planted) -> dict:
    exchanges, recrawls, pages = _web_exchanges(rng, composer, planted)
    rng.shuffle(exchanges)
    half = len(exchanges) // 2
    batches = {"crawl-0000.warc.gz": exchanges[:half], "crawl-0001.warc.gz": exchanges[half:] + recrawls}
    clock = CRAWL_START
    files = {}
    for name, batch in batches.items():
        warc = WarcFile(name, rng, clock)
        for exchange in batch:
            warc.add(exchange)
        clock = warc.clock
        (out / name).write_bytes(warc.data())
        files[name] = dict(sorted(warc.counts.items()))

    # A crawl file cut off mid-record, as after an interrupted download.
    broken = WarcFile("broken-truncated.warc.gz", rng, clock)
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
