"""HTML decoding and main-text extraction on real saved pages (no Spark)."""
import gzip
import json

import pytest

from curation.extract.html import (BOILERPLATE_SELECTOR, ENGINES, EXTRACTION_SCHEMA, FALLBACK_MIN_CHARS, _anchor_texts,
                                   _link_share, boilerplate_selector, decode_html, extract_text, extract_texts)
from tests.paths import shared_path


def test_decode_html_trusts_a_header_only_when_the_bytes_agree():
    page = "<html><body><p>Grüße aus Köln – schön!</p></body></html>"
    assert decode_html(page.encode("utf-8"), "UTF-8") == (page, "utf-8")
    text, used = decode_html(page.encode("cp1252"), "utf-8")  # header lies
    assert text == page and used in ("cp1252", "iso8859-1", "iso8859-15")
    meta = '<html><head><meta charset="windows-1251"></head><body>Привет, мир</body></html>'
    assert decode_html(meta.encode("cp1251"), "no-such-charset") == (meta, "cp1251")
    text, _ = decode_html(b"<p>ok \xff\xfe\xfa broken</p>", None)
    assert text.startswith("<p>ok ") and text.endswith(" broken</p>")


def test_boilerplate_selector_matches_by_id_class_prefix_and_attribute():
    from resiliparse.parse.html import HTMLTree

    html = """<body>
      <div id="main-nav" title="id token"></div><div class="top navbar" title="class token"></div>
      <div class="ad-slot" title="class prefix"></div><div aria-hidden="true" title="aria"></div>
      <figure><figcaption title="caption"></figcaption></figure>
      <div class="article-body" title="kept: class without a token"></div><p title="kept: no attributes"></p>
      <div id="content" class="story" title="kept: id and class without tokens"></div></body>"""
    matched = {e.getattr("title") for e in HTMLTree.parse(html).body.query_selector_all(BOILERPLATE_SELECTOR)}
    assert matched == {"id token", "class token", "class prefix", "aria", "caption"}


def test_page_selector_matches_what_the_full_selector_matches():
    from resiliparse.parse.html import HTMLTree

    # attribute names in any case, single-quoted, unquoted and character-reference values all count
    html = """<body><div CLASS="top-navbar" title="upper-case name"></div><div cLaSs='share-box' title="quoted"></div>
      <div class=sidebar title="unquoted"></div><div class="s&#105;debar" title="reference"></div>
      <div class="story" title="kept"></div></body>"""
    selector = boilerplate_selector(html)
    assert len(selector) < len(BOILERPLATE_SELECTOR)  # rules for tokens absent from the page are left out
    full = {e.getattr("title") for e in HTMLTree.parse(html).body.query_selector_all(BOILERPLATE_SELECTOR)}
    assert full == {"upper-case name", "quoted", "unquoted", "reference"}
    assert {e.getattr("title") for e in HTMLTree.parse(html).body.query_selector_all(selector)} == full
    assert boilerplate_selector("<p>no classes</p>").count("[class") == 0


def test_page_selector_extracts_the_same_text_on_real_pages(pages):
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    options = dict(main_content=True, preserve_formatting="minimal_html", links=True)
    shorter = 0
    for html, _, _ in pages:
        tree = HTMLTree.parse(html)
        selector = boilerplate_selector(html)
        shorter += len(selector) < len(BOILERPLATE_SELECTOR)
        assert (extract_plain_text(tree, skip_elements=[selector], **options)
                == extract_plain_text(tree, skip_elements=[BOILERPLATE_SELECTOR], **options))
    assert shorter == len(pages)


@pytest.fixture(scope="module")
def pages():
    d = shared_path("web", "html", "trafilatura")
    truth = json.loads((d / "ground_truth.json").read_text(encoding="utf-8"))
    out = []
    for item in list(truth.values())[:40]:
        p = d / (item["file"] + ".gz")
        if p.exists():
            out.append((decode_html(gzip.decompress(p.read_bytes()))[0], item["with"], item["without"]))
    return out


@pytest.mark.parametrize("engine", ENGINES)
def test_engines_find_the_main_text_of_real_pages(pages, engine):
    table = extract_texts([html for html, _, _ in pages], engine)
    assert table.schema == EXTRACTION_SCHEMA and table.num_rows == len(pages)
    texts = table.column("text").to_pylist()
    found = sum(s in t for t, (_, with_, _) in zip(texts, pages) for s in with_)
    total = sum(len(w) for _, w, _ in pages)
    assert found / total > 0.85, (engine, found, total)
    assert table.column("error").null_count == len(pages)
    assert set(table.column("extractor").to_pylist()) <= {"resiliparse", "trafilatura", "resiliparse+prune"}


def test_default_engine_drops_boilerplate_that_plain_resiliparse_keeps(pages):
    def leaked(engine):
        table = extract_texts([html for html, _, _ in pages], engine)
        return sum(s in t for t, (_, _, without) in zip(table.column("text").to_pylist(), pages) for s in without)

    assert leaked("auto") < leaked("resiliparse")


def test_default_engine_sends_only_short_or_overpruned_results_to_trafilatura(pages):
    table = extract_texts([html for html, _, _ in pages], "auto")
    rows = list(zip(table.column("extractor").to_pylist(), table.column("text").to_pylist()))
    assert 0 < sum(used == "trafilatura" for used, _ in rows) < len(rows) / 3
    # a fast-path result is long enough; a short one is kept only where trafilatura found nothing either
    short = [i for i, (used, text) in enumerate(rows) if used == "resiliparse+prune" and len(text) < FALLBACK_MIN_CHARS]
    import trafilatura

    assert not any(trafilatura.extract(pages[i][0], fast=True, include_comments=False) for i in short)


def test_bad_input_and_time_limit_are_reported_not_raised():
    assert extract_texts([None]).column("error").to_pylist() == ["no HTML"]
    assert extract_text("\x00\x01<<<>>>&&;;").error is None
    huge = "<html><body>" + "<div><p>word word word</p></div>" * 20_000 + "</body></html>"
    slow = extract_text(huge, "trafilatura", time_limit_s=0.05)
    assert slow.text is None and "time limit" in slow.error
    with pytest.raises(ValueError):
        extract_text("<p>x</p>", "no-such-engine")


def test_default_engine_drops_a_link_list_with_its_heading():
    d = shared_path("web", "html", "trafilatura")
    item = json.loads((d / "ground_truth.json").read_text(encoding="utf-8"))["https://kath.net/news/76785"]
    html = decode_html(gzip.decompress((d / (item["file"] + ".gz")).read_bytes()))[0]
    # "meist-diskutiert" heads a list of links to other articles, one of them "Bistum Hildesheim: Das ..."
    plain = extract_text(html, "resiliparse").text
    assert "meist-diskutiert" in plain and "Bistum Hildesheim: Das" in plain
    auto = extract_text(html, "auto")
    assert auto.extractor == "resiliparse+prune"
    assert "meist-diskutiert" not in auto.text and "Bistum Hildesheim: Das" not in auto.text
    assert all(snippet in auto.text for snippet in item["with"])


def test_anchor_texts_span_lines_skip_unclosed_links_and_stay_linear():
    markup = '<a href="/a">\n<h3>Card &amp; title</h3>\n</a>\n<p>Text <a href="/b">inline</a> and <a href="/c">open'
    assert _anchor_texts(markup) == {"Card & title", "inline"}
    assert _anchor_texts('<p><a href="#">x ' * 50_000) == set()  # a quadratic scan would take minutes here


def test_default_engine_drops_short_lines_above_the_first_heading():
    d = shared_path("web", "html", "trafilatura")
    item = json.loads((d / "ground_truth.json").read_text(encoding="utf-8"))[
        "https://www.amnesty.de/allgemein/pressemitteilung/autonome-waffensysteme-gefahr-menschenrechte"]
    html = decode_html(gzip.decompress((d / (item["file"] + ".gz")).read_bytes()))[0]
    kicker = "Pressemitteilung Aktuell 02. November 2021"  # above the <h1> headline
    assert kicker in extract_text(html, "resiliparse").text
    auto = extract_text(html, "auto")
    assert auto.extractor == "resiliparse+prune" and kicker not in auto.text
    assert auto.text.startswith(item["title"]) and all(snippet in auto.text for snippet in item["with"])


def test_link_share_counts_the_words_inside_links_of_one_markup_line():
    assert _link_share('  <li><a href="/news/1">Unwort &quot;Fegefeuer&quot;</a></li>') == 1.0
    assert _link_share('<p>Read <a href="/x">the full report</a> here.</p>') == 0.6
    assert _link_share("<p>No links at all.</p>") == 0.0
    assert _link_share('<h3> <a href="/x">') == 0.0  # a link around a block: its text is on the next lines
