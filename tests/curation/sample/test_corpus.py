"""The built-in sample corpus: deterministic, parseable, and broken exactly where it means to be."""
import gzip
import hashlib
import itertools
import json
import shutil
from collections import Counter
from pathlib import Path

import pymupdf
import pytest
from fastwarc.warc import ArchiveIterator, WarcRecordType
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.encoding import bytes_to_str

from curation.sample import bank
from curation.sample.compose import MAX_ORGANIC_JACCARD, jaccard, word_shingles
from curation.sample.corpus import write_sample


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    return out, write_sample(out, seed=0)


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _jsonl(path: Path) -> tuple[list[dict], int]:
    """(documents, lines that are not valid UTF-8 JSON)."""
    docs, broken = [], 0
    for line in gzip.decompress(path.read_bytes()).splitlines():
        try:
            docs.append(json.loads(line.decode("utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError):
            broken += 1
    return docs, broken


def _html_responses(path: Path):
    """(url, charset, body) of every 200 text/html response."""
    for rec in ArchiveIterator(open(path, "rb"), record_types=WarcRecordType.response, parse_http=True):
        if rec.http_headers.status_code == 200 and rec.http_content_type == "text/html":
            yield rec.headers["WARC-Target-URI"], rec.http_charset, rec.reader.read()


def test_same_seed_gives_identical_files_and_other_seed_differs(sample, tmp_path):
    out, summary = sample
    again = write_sample(tmp_path / "again", seed=0)
    assert _hashes(out) == _hashes(tmp_path / "again")
    assert again == summary
    other = write_sample(tmp_path / "other", seed=1)
    assert other["files"]["text/wiki.jsonl.gz"]["sha256"] != summary["files"]["text/wiki.jsonl.gz"]["sha256"]
    assert other["documents"] == summary["documents"]  # composition never runs out of distinct documents
    shutil.rmtree(tmp_path)


def test_summary_size_and_manifest(sample):
    out, summary = sample
    assert 300 <= summary["documents_total"] <= 500
    assert set(summary["documents"]) == {"web", "pdf", "wiki", "books", "forum", "code"}
    assert json.loads((out / "manifest.json").read_text()) == json.loads(json.dumps(summary))
    assert "Planted for the pipeline to find" in (out / "README.md").read_text()
    raw_bytes = sum(len(gzip.decompress(p.read_bytes())) for p in out.glob("*/*.gz") if "broken" not in p.name)
    assert 1_000_000 <= raw_bytes <= 3_000_000


def test_warc_files_parse_and_match_summary(sample):
    out, summary = sample
    warc = summary["warc"]
    statuses, kinds, html_docs = Counter(), Counter(), 0
    for name, expected in warc["files"].items():
        counts = Counter()
        for rec in ArchiveIterator(open(out / "warc" / name, "rb"), parse_http=False):
            counts[str(rec.record_type)] += 1
            assert rec.record_id.startswith("<urn:uuid:") and rec.verify_block_digest(consume=False)
        assert dict(counts) == expected
        for rec in ArchiveIterator(open(out / "warc" / name, "rb"), record_types=WarcRecordType.response):
            statuses[str(rec.http_headers.status_code)] += 1
            if rec.http_headers.status_code == 200:
                kinds[rec.http_content_type] += 1
    assert dict(statuses) == warc["http_status"] and {"301", "404"} <= set(statuses)
    assert dict(kinds) == warc["content_types_200"]
    assert {"image/png", "application/json"} <= set(kinds)
    html_docs = sum(1 for name in warc["files"] for _ in _html_responses(out / "warc" / name))
    assert html_docs == warc["html_documents"] == summary["documents"]["web"]


def test_html_main_content_extracts_articles_in_their_charsets(sample):
    out, summary = sample
    first_sentences = {p.split(". ")[0] for pool in (*bank.PARAGRAPHS.values(), *bank.FOREIGN_PARAGRAPHS.values())
                       for p in pool}
    junk = set(summary["planted"]["low_quality"])
    texts, charsets = {}, Counter()
    for url, charset, body in _html_responses(out / "warc" / "crawl-0000.warc.gz"):
        charsets[charset] += 1
        # Pages that declare their charset only in a <meta> tag: read it from there, as a browser would.
        text = extract_plain_text(bytes_to_str(body, charset or "iso-8859-1"), main_content=True)
        texts[url] = text
        if url not in junk:
            assert sum(s in text for s in first_sentences) >= 2, url
            assert bank.SITE_CHROME["en"]["cookie"] not in text
    assert {"utf-8", "windows-1252", None} <= set(charsets)
    german = [t for u, t in texts.items() if ".example.de/" in u]
    assert german and all("ü" in t or "ä" in t or "ö" in t for t in german)
    # windows-1252 byte 0x92 decodes to a typographic apostrophe
    assert any("\u2019" in t for u, t in texts.items() if "history.millbrook" in u)


def test_syndicated_copies_are_near_duplicates_after_extraction(sample):
    out, summary = sample
    texts = {url: extract_plain_text(bytes_to_str(body, charset or "iso-8859-1"), main_content=True)
             for name in summary["warc"]["files"] for url, charset, body in _html_responses(out / "warc" / name)}
    web_pairs = [pair for pair in summary["planted"]["near_duplicates"] if pair[0].startswith("https://")]
    assert web_pairs
    for original, copy in web_pairs:
        assert jaccard(word_shingles(texts[original]), word_shingles(texts[copy])) >= 0.8


def test_truncated_warc_is_broken(sample):
    out, summary = sample
    path = out / "warc" / "broken-truncated.warc.gz"
    with pytest.raises(EOFError):
        gzip.decompress(path.read_bytes())
    records = [(rec.content_length, len(rec.reader.read())) for rec in ArchiveIterator(open(path, "rb"))]
    assert len(records) == summary["warc"]["broken"]["broken-truncated.warc.gz"]["records_written"]
    assert all(declared == got for declared, got in records[:-1])
    declared, got = records[-1]
    assert got < declared  # the last record's block is cut short


def test_pdfs_have_text_layers_except_the_scanned_page(sample):
    out, summary = sample
    pdf = summary["pdf"]
    assert 6 <= pdf["documents"] <= 10
    scanned = {name: info["image_only_pages"] for name, info in pdf["files"].items() if info["image_only_pages"]}
    assert len(scanned) == 1
    hyphenated = 0
    for name, info in pdf["files"].items():
        with pymupdf.open(out / "pdf" / name) as doc:
            assert doc.page_count == info["pages"] >= 2
            assert doc.metadata["title"] and doc.metadata["author"]
            for number, page in enumerate(doc):
                text = page.get_text()
                if number in info["image_only_pages"]:
                    assert not text.strip() and page.get_images()
                else:
                    assert f"Page {number + 1} of {doc.page_count}" in text
            hyphenated += sum(line.endswith("-") for page in doc for line in page.get_text().splitlines())
    assert hyphenated >= 5


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="Tesseract not installed")
def test_scanned_page_is_recoverable_by_ocr(sample):
    out, summary = sample
    name, pages = next((n, i["image_only_pages"]) for n, i in summary["pdf"]["files"].items() if i["image_only_pages"])
    with pymupdf.open(out / "pdf" / name) as doc:
        page = doc[pages[0]]
        text = page.get_text(textpage=page.get_textpage_ocr(language="eng", dpi=150, full=True))
    words = " ".join(text.split())
    assert "County Surveyor" in words and "embankment" in words


def test_corrupt_pdf_does_not_open(sample):
    out, _ = sample
    with pytest.raises(pymupdf.FileDataError):
        pymupdf.open(out / "pdf" / "corrupt-truncated.pdf")


def test_jsonl_counts_error_lines_and_planted_duplicates(sample):
    out, summary = sample
    planted = summary["planted"]
    docs = {}
    for name, expected in summary["text"].items():
        parsed, broken = _jsonl(out / "text" / name)
        assert (len(parsed), broken) == (expected["documents"], expected["error_lines"])
        assert {d["source"] for d in parsed} == {name.split(".")[0]}
        docs.update({d["id"]: d["text"] for d in parsed})
    assert summary["text"]["wiki.jsonl.gz"]["error_lines"] == summary["text"]["forum.jsonl.gz"]["error_lines"] == 1
    for original, copy in planted["exact_duplicates"]:
        if original in docs:
            assert docs[original] == docs[copy]
    for original, copy in planted["near_duplicates"]:
        if original in docs:
            assert docs[original] != docs[copy]
            assert jaccard(word_shingles(docs[original]), word_shingles(docs[copy])) >= 0.8
    assert sum(1 for doc_id in planted["low_quality"] if doc_id in docs) >= 6


def test_composed_article_bodies_are_not_near_duplicates(sample):
    out, summary = sample
    copies = {copy for _, copy in summary["planted"]["exact_duplicates"] + summary["planted"]["near_duplicates"]}
    junk = set(summary["planted"]["low_quality"])
    for name, header_blocks in (("wiki.jsonl.gz", 1), ("books.jsonl.gz", 2)):
        parsed, _ = _jsonl(out / "text" / name)
        bodies = [word_shingles(" ".join(d["text"].split("\n\n")[header_blocks:]))
                  for d in parsed if d["id"] not in copies and d["id"] not in junk]
        assert len(bodies) >= 10
        worst = max(jaccard(a, b) for a, b in itertools.combinations(bodies, 2))
        assert worst < MAX_ORGANIC_JACCARD
