"""extract_pdf on real PDFs (born-digital, scanned, encrypted) and on broken files made here; no Spark."""
import re

import pymupdf
import pytest

from curation.extract.ocr_decision import garbled_reason
from curation.extract.pdf import PdfOptions, extract_pdf
from curation.extract.pdf_cleanup import PageLines, clean_pages
from curation.readers.pdf import IsolatedExtractor
from tests.paths import shared_path

TEXT_ONLY = PdfOptions(ocr=False)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def test_born_digital_pdf_uses_its_text_layer():
    result = extract_pdf(str(shared_path("pdf", "py-pdf-sample-files", "minimal-document.pdf")))
    meta = result["meta"]
    assert result["reason"] is None
    assert result["text"].startswith("Lorem ipsum dolor sit amet, consetetur sadipscing elitr")
    assert meta["page_methods"] == ["text_layer"] and meta["pages_ocr"] == 0 and meta["page_count"] == 1
    assert meta["page_offsets"] == [0] and meta["extractor"] == "pymupdf"
    assert meta["extract_seconds"] >= 0


def test_pages_keep_their_boundaries_and_order():
    result = extract_pdf(str(shared_path("pdf", "py-pdf-sample-files", "GeoTopo-komprimiert.pdf")), TEXT_ONLY)
    meta, text = result["meta"], result["text"]
    assert meta["page_count"] == 117 and len(meta["page_offsets"]) == 117
    assert meta["page_offsets"] == sorted(meta["page_offsets"])
    assert meta["title"] and meta["producer"]
    # the table of contents (page 4) comes before chapter 1's first section, which sits on its listed page
    assert text.index("Inhaltsverzeichnis") < text.index("Topologische Räume") < meta["page_offsets"][5] + 5000


def test_scanned_page_is_ocrd():
    result = extract_pdf(str(shared_path("pdf", "ocrmypdf", "linn.pdf")))
    meta = result["meta"]
    assert meta["page_methods"] == ["ocr"] and meta["pages_ocr"] == 1
    assert "little or no text" in meta["extra"]["ocr_reasons"]
    reference = _words(shared_path("pdf", "ocrmypdf", "linn.txt").read_text())
    found = set(_words(result["text"]))
    assert sum(w in found for w in reference) / len(reference) > 0.9


def test_ocr_disabled_leaves_image_pages_empty_but_accounted():
    result = extract_pdf(str(shared_path("pdf", "ocrmypdf", "linn.pdf")), TEXT_ONLY)
    assert result["reason"] == "skipped: no text (1 error pages)" and result["text"] == ""
    assert result["meta"]["page_methods"] == ["error"]
    assert "ocr disabled" in result["meta"]["extra"]["page_notes"]


def test_blank_page_is_blank_without_ocr():
    result = extract_pdf(str(shared_path("pdf", "ocrmypdf", "blank.pdf")))
    assert result["meta"]["page_methods"] == ["blank"] and result["text"] == ""
    assert result["reason"] == "skipped: no text (1 blank pages)"


def test_password_protected_pdf_is_an_error_row():
    result = extract_pdf(str(shared_path("pdf", "py-pdf-sample-files", "libreoffice-writer-password.pdf")))
    assert result["reason"] == "error: encrypted, password required" and result["text"] is None


def _pdf_bytes(pages: list[list[tuple[float, str]]], **save_options) -> bytes:
    """A PDF whose pages carry the given (y, text) lines."""
    doc = pymupdf.open()
    for lines in pages:
        page = doc.new_page(width=595, height=842)
        for y, text in lines:
            page.insert_text((72, y), text, fontsize=11)
    return doc.tobytes(**save_options)


def test_broken_inputs_become_reasons(tmp_path):
    good = _pdf_bytes([[(100, "Hello world, this is a generated test page.")]])
    encrypted = _pdf_bytes([[(100, "secret")]], encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="u", owner_pw="o")
    cases = {
        "zero.pdf": (b"", "error: empty file"),
        "notes.pdf": (b"just some text, not a PDF at all\n" * 10, "error: not a PDF"),
        "garbage.pdf": (b"%PDF-1.7\n" + bytes(range(256)) * 40, "error: corrupt PDF"),
        "encrypted.pdf": (encrypted, "error: encrypted"),
        "big.pdf": (good, "skipped: larger than max_bytes"),
    }
    for name, (data, expected) in cases.items():
        (tmp_path / name).write_bytes(data)
        opts = PdfOptions(max_bytes=len(good) - 1) if name == "big.pdf" else PdfOptions()
        result = extract_pdf(str(tmp_path / name), opts)
        assert result["reason"].startswith(expected), (name, result["reason"])
        assert result["text"] is None


def test_truncated_pdf_is_repaired_or_reported():
    data = shared_path("pdf", "py-pdf-sample-files", "pdflatex-4-pages.pdf").read_bytes()
    result = extract_pdf(data[: len(data) // 2], TEXT_ONLY)
    # MuPDF rebuilds what it can of a truncated file; whatever it recovers, the result is a row, never a raise
    assert result["reason"] is None or result["reason"].startswith("error:")
    if result["reason"] is None:
        assert len(result["meta"]["page_methods"]) == result["meta"]["page_count"]


def test_max_pages_limits_the_work():
    path = str(shared_path("pdf", "py-pdf-sample-files", "pdflatex-4-pages.pdf"))
    result = extract_pdf(path, PdfOptions(max_pages=2))
    assert result["meta"]["page_count"] == 4 and len(result["meta"]["page_methods"]) == 2
    assert result["meta"]["extra"]["pages_skipped"] == "2"


def test_running_headers_page_numbers_and_hyphenation_are_cleaned():
    topics = ["apples", "bridges", "comets", "dunes"]
    pages = [[(40, "ACME Quarterly Report 2024"), (100, f"This page is about {topic}, and about the experi-"),
              (114, f"ment we ran on {topic}."), (800, f"{n}")] for n, topic in enumerate(topics, 1)]
    result = extract_pdf(_pdf_bytes(pages))
    text = result["text"]
    assert "ACME" not in text
    assert not re.search(r"^\d+$", text, re.MULTILINE)
    assert [text[o:].split("\n\n")[0] for o in result["meta"]["page_offsets"]] == \
        [f"This page is about {topic}, and about the experiment we ran on {topic}." for topic in topics]


def test_identical_pages_are_not_taken_for_headers():
    text, offsets = clean_pages([PageLines.from_text("Same words on each page")] * 4)
    assert text.count("Same words on each page") == 4 and len(offsets) == 4


@pytest.mark.parametrize("text, reason", [
    ("(cid:12)(cid:15)(cid:3) (cid:44)(cid:1)(cid:9) " * 5, "cid artifacts"),
    ("\ufffd\ufffd\ufffd abc \ufffd\ufffd def" * 5, "replacement or control characters"),
    ("∂∑∫ ≈≠ ⊕⊗ ∇∆ √∞ ±× " * 8, "more symbols than letters"),
    ("T h e q u i c k b r o w n f o x j u m p s o v e r t h e l a z y d o g " * 3, "implausibly short words"),
    ("Thequickbrownfoxjumpsoverthelazydogandkeepsrunningwithoutanyspaces " * 3, "implausibly long words"),
    ("SOAIS STU} OY] 3X9} pulyq VW je yw you yy Z,tmMayjos ysoprenqy,, oy] estiasuou outos pUe 7X9} SIG} Woomjoq "
     "sdotle1oYIp B o1OY} ST {WOTeULIOFUT OU a1} ST LATTRoY WoryeurtoyUt OU YoS [[IM NOA 4x04", "implausible letter case"),
    ("The iPhone and the iPad run iOS, which Apple updates every year; staff at a McDonald's in the United States "
     "read about it in the morning paper and talk it over at lunch.", None),
    ("Table of Contents\nIntroduction . . . . . . . . . . 1\nMethods . . . . . . . . . . 12\n", None),
    ("An ordinary paragraph of English text, with numbers like 42 and 3.14, reads fine.", None),
])
def test_garbled_text_layers_are_recognized(text, reason):
    assert garbled_reason(text) == reason


def test_isolated_extraction_survives_timeouts_and_memory_limits():
    linn = str(shared_path("pdf", "ocrmypdf", "linn.pdf"))
    extractor = IsolatedExtractor(memory_mb=2048)
    assert extractor.extract(linn, PdfOptions(timeout_seconds=0.05))["reason"] == "error: timeout after 0.05 s"
    # the killed child is replaced: the next document is extracted normally
    minimal = str(shared_path("pdf", "py-pdf-sample-files", "minimal-document.pdf"))
    assert extractor.extract(minimal, PdfOptions())["text"].startswith("Lorem ipsum")
    # a child whose address space is too small for the page render fails the page or the document, not us
    starved = IsolatedExtractor(memory_mb=256).extract(str(shared_path("pdf", "ocrmypdf", "hugemono.pdf")),
                                                        PdfOptions(memory_mb=256))
    assert starved["reason"] is not None or "error" in starved["meta"]["page_methods"]


def test_short_sound_text_layer_is_kept_when_ocr_reads_less():
    result = extract_pdf(str(shared_path("pdf", "py-pdf-sample-files", "pdflatex-forms.pdf")))
    assert result["meta"]["page_methods"] == ["text_layer"]
    assert result["text"].split() == ["Name", "Check", "Submit"]
    assert "OCR read less than the text layer" in result["meta"]["extra"]["page_notes"]


def test_invisible_ocr_layer_over_a_scan_is_ocrd_again():
    result = extract_pdf(str(shared_path("pdf", "olmocr-bench", "small_page_size.pdf")))
    assert result["meta"]["page_methods"] == ["ocr"]
    assert result["meta"]["extra"]["ocr_reasons"] == "invisible text layer over an image"
    # the old hidden layer reads "four or live-fold"; the running head "400 BRITISH HUSBANDRY." is dropped
    assert "four or five-fold" in result["text"] and "HUSBANDRY" not in result["text"]


def test_run_together_words_get_their_spaces_back():
    # the caption font has no space glyphs and narrow gaps: MuPDF alone gives "Table1 Compositionofthe..."
    result = extract_pdf(str(shared_path("pdf", "olmocr-bench", "olmo2-pg4.pdf")), TEXT_ONLY)
    assert "Table 1 Composition of the pretraining data for OLMo 2." in result["text"]
