"""Scanned pages lying on their side or upside down are turned upright before OCR; OCR output that is not text is
marked, and a document with nothing plausible in it is rejected with a reason. Real pages, real Tesseract."""
import re
from collections import Counter

import numpy as np
import pymupdf
import pytest

from curation.extract.ocr_backends import TesseractOcr
from curation.extract.ocr_decision import upright
from curation.extract.pdf import PdfOptions, extract_pdf
from tests.paths import shared_path

# scans at 150 dpi OCR'd at 150 dpi, for the tests that check something other than rotation
OPTS = PdfOptions(dpi=150, min_ocr_long_side=0)


def _words(text: str) -> Counter:
    return Counter(re.findall(r"[a-z]+", text.lower()))


def _recall(reference: Counter, text: str) -> float:
    found = _words(text)
    return sum(min(n, found[w]) for w, n in reference.items()) / sum(reference.values())


def _scan_of(page: pymupdf.Page, clip: pymupdf.Rect, clockwise: int) -> bytes:
    """An image-only PDF page holding ``clip`` of ``page`` rendered at 150 dpi and turned ``clockwise`` degrees."""
    pixmap = page.get_pixmap(matrix=pymupdf.Matrix(150 / 72, 150 / 72).prerotate(clockwise), clip=clip,
                             colorspace=pymupdf.csGRAY, alpha=False)
    doc = pymupdf.open()
    scan = doc.new_page(width=pixmap.width * 72 / 150, height=pixmap.height * 72 / 150)
    scan.insert_image(scan.rect, pixmap=pixmap)
    return doc.tobytes()


def test_a_real_page_reads_the_same_at_every_quarter_turn():
    source = pymupdf.open(str(shared_path("pdf", "py-pdf-sample-files", "pdflatex-4-pages.pdf")))[0]
    clip = pymupdf.Rect(85, 85, 510, 330)  # the first paragraphs of the page
    reference = _words(source.get_text(clip=clip))
    recalls, rotations = {}, {}
    for angle in (0, 90, 180, 270):
        result = extract_pdf(_scan_of(source, clip, angle))  # the default options, as a pipeline runs them
        assert result["reason"] is None and result["meta"]["page_methods"] == ["ocr"], (angle, result["meta"])
        recalls[angle] = _recall(reference, result["text"])
        rotations[angle] = result["meta"]["page_rotations"][0]
    # the scan turned `angle` clockwise needs the rest of the full turn to stand upright again
    assert rotations == {0: 0, 90: 270, 180: 180, 270: 90}
    assert recalls[0] > 0.9
    for angle in (90, 180, 270):
        assert recalls[angle] >= 0.9 * recalls[0], recalls


def test_without_orientation_detection_an_upside_down_page_is_lost():
    """The same page upside down, OCR'd as it lies: what the rotation step is for. Its output ("SOAIS STU} OY]
    3X9} pulyq ... pUe 7X9} SIG} Woomjoq sdotle1oYIp") fails the plausibility test, so it is not kept as text."""
    source = pymupdf.open(str(shared_path("pdf", "py-pdf-sample-files", "pdflatex-4-pages.pdf")))[0]
    clip = pymupdf.Rect(85, 85, 510, 330)
    result = extract_pdf(_scan_of(source, clip, 180), OPTS.model_copy(update={"detect_orientation": False}))
    assert result["meta"]["page_rotations"] == [0] and result["meta"]["page_methods"] == ["ocr_implausible"]
    assert result["reason"] == "skipped: no text (1 ocr_implausible pages)"


@pytest.mark.parametrize("quarter_turns", [1, 2, 3])
def test_upright_turns_a_pixmap_clockwise(quarter_turns):
    pixels = np.arange(6, dtype=np.uint8).reshape(2, 3, 1)
    pixmap = pymupdf.Pixmap(pymupdf.csGRAY, 3, 2, pixels.tobytes(), False)
    turned = upright(pixmap, 90 * quarter_turns)
    expected = np.rot90(pixels, -quarter_turns)
    assert (turned.width, turned.height) == (expected.shape[1], expected.shape[0])
    assert turned.samples == np.ascontiguousarray(expected).tobytes()


def test_tesseract_reports_the_rotation_of_the_shared_cardinal_scans():
    """ocrmypdf's cardinal.pdf: the same scan at the four quarter turns."""
    doc = pymupdf.open(str(shared_path("pdf", "ocrmypdf", "cardinal.pdf")))
    ocr = TesseractOcr()
    answers = [ocr.orientation(page.get_pixmap(dpi=150, colorspace=pymupdf.csGRAY)) for page in doc]
    assert [a[0] for a in answers] == [0, 270, 180, 90]
    assert all(a[1] >= PdfOptions().min_rotation_confidence for a in answers)


PANGRAM = "The quick brown fox jumps over the lazy dog."


def _image_only(lines: list[str], font: str = "helv") -> bytes:
    """A page of typed ``lines`` rendered at 150 dpi into an image-only PDF (no text layer)."""
    typed = pymupdf.open()
    page = typed.new_page(width=595, height=300)
    for i, line in enumerate(lines):
        page.insert_text((40, 40 + 22 * i), line, fontsize=14, fontname=font)
    return _scan_of(page, page.rect, 0)


def test_ocr_output_that_fails_the_plausibility_test_is_marked_not_kept():
    # Greek letters (the Symbol font) read with the English model: "THE BvIXK Bpowv oF PLELMG OWeEp ..."
    result = extract_pdf(_image_only([PANGRAM] * 8, font="symb"), OPTS)
    assert result["meta"]["page_methods"] == ["ocr_implausible"]
    assert "OCR output: implausible letter case" in result["meta"]["extra"]["page_notes"]
    assert result["text"] == "" and result["reason"] == "skipped: no text (1 ocr_implausible pages)"


def test_a_page_of_plausible_ocr_is_kept_next_to_an_implausible_one():
    doc = pymupdf.open(stream=_image_only([PANGRAM] * 8, font="symb"), filetype="pdf")
    doc.insert_pdf(pymupdf.open(stream=_image_only([PANGRAM] * 8)))
    result = extract_pdf(doc.tobytes(), OPTS)
    assert result["meta"]["page_methods"] == ["ocr_implausible", "ocr"] and result["reason"] is None
    assert result["text"].count("quick brown fox") >= 6 and result["meta"]["page_offsets"] == [0, 0]


def test_implausible_text_layer_only_document_is_rejected_with_its_reason():
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    for i in range(20):
        page.insert_text((72, 72 + 14 * i), "(cid:12)(cid:15)(cid:3) (cid:44)(cid:1)(cid:9)", fontsize=11)
    result = extract_pdf(doc.tobytes(), PdfOptions(ocr=False))
    assert result["reason"] == "skipped: implausible text (cid artifacts)"
    assert result["meta"]["page_methods"] == ["text_layer"]


class _UnsureOrientation(TesseractOcr):
    """Tesseract recognition with an orientation step that is right but below the confidence threshold (as OSD is
    on sparse or unusual pages)."""

    def orientation(self, pixmap):
        clockwise, _ = super().orientation(pixmap)
        return clockwise, PdfOptions().min_rotation_confidence / 2


def test_an_unsure_turn_is_taken_when_the_page_as_it_lies_reads_as_garbage():
    source = pymupdf.open(str(shared_path("pdf", "py-pdf-sample-files", "pdflatex-4-pages.pdf")))[0]
    clip = pymupdf.Rect(85, 85, 510, 330)
    result = extract_pdf(_scan_of(source, clip, 180), OPTS, ocr=_UnsureOrientation())
    assert result["meta"]["page_rotations"] == [180] and result["meta"]["page_methods"] == ["ocr"]
    assert _recall(_words(source.get_text(clip=clip)), result["text"]) > 0.9
