"""The OCR backend interface and the Tesseract backend on a rendered page."""
import pymupdf
import pytest

from curation.extract.ocr_backends import TesseractOcr, ocr_backend


def test_tesseract_reads_a_rendered_page():
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=200)
    page.insert_text((30, 80), "Pretraining corpora from scanned books", fontsize=16)
    page.insert_text((30, 120), "Second line, 42 tokens.", fontsize=16)
    pixmap = page.get_pixmap(dpi=200)
    pixmap.set_dpi(200, 200)
    backend = ocr_backend("tesseract", "eng")
    assert isinstance(backend, TesseractOcr)
    lines = [line for line in backend.recognize(pixmap).split("\n") if line.strip()]
    assert lines == ["Pretraining corpora from scanned books", "Second line, 42 tokens."]


def test_unknown_backend_and_language_fail_clearly():
    with pytest.raises(KeyError, match="unknown OCR backend 'olmocr'"):
        ocr_backend("olmocr", "eng")
    page = pymupdf.open().new_page(width=100, height=100)
    with pytest.raises(RuntimeError, match="tesseract failed"):
        TesseractOcr(language="xx_no_such_language").recognize(page.get_pixmap())
