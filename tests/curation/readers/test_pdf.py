"""The ``pdf`` input format on Spark: real PDFs plus broken files made here, one row each, never a failed job."""
import shutil
from types import SimpleNamespace

import pytest

from curation.extract.pdf import PdfOptions
from curation.readers.pdf import read_pdf
from tests.paths import shared_path


@pytest.fixture
def pdf_dir(tmp_path):
    shutil.copy(shared_path("pdf", "py-pdf-sample-files", "minimal-document.pdf"), tmp_path / "born_digital.pdf")
    shutil.copy(shared_path("pdf", "ocrmypdf", "linn.pdf"), tmp_path / "scanned.pdf")
    shutil.copy(shared_path("pdf", "py-pdf-sample-files", "libreoffice-writer-password.pdf"),
                tmp_path / "password.pdf")
    good = shared_path("pdf", "py-pdf-sample-files", "pdflatex-4-pages.pdf").read_bytes()
    (tmp_path / "truncated.pdf").write_bytes(good[:1000])
    (tmp_path / "zero.pdf").write_bytes(b"")
    (tmp_path / "not_a_pdf.pdf").write_bytes(b"<html><body>an HTML page saved as .pdf</body></html>")
    # the largest real file with a trailing comment: still a valid PDF, one that max_bytes rejects
    (tmp_path / "oversized.pdf").write_bytes((tmp_path / "scanned.pdf").read_bytes() + b"%" + b"x" * 1000 + b"\n")
    return tmp_path


def test_every_file_becomes_one_row(spark, pdf_dir):
    options = {"max_bytes": (pdf_dir / "scanned.pdf").stat().st_size, "timeout_seconds": 120}
    df = read_pdf(spark, SimpleNamespace(path=str(pdf_dir / "*.pdf"), source="papers", options=options))
    rows = {r["id"].rsplit("/", 1)[-1]: r for r in df.collect()}  # ids: <source>/<file under the root>
    assert sorted(rows) == sorted(p.name for p in pdf_dir.glob("*.pdf"))

    born, scanned = rows["born_digital.pdf"], rows["scanned.pdf"]
    assert born["reason"] is None and born["source"] == "papers" and born["format"] == "pdf"
    assert born["text"].startswith("Lorem ipsum") and born["meta"]["page_methods"] == ["text_layer"]
    assert born["meta"]["source_path"] == str(pdf_dir / "born_digital.pdf")
    assert scanned["reason"] is None and scanned["meta"]["page_methods"] == ["ocr"]
    assert scanned["meta"]["pages_ocr"] == 1 and "LinnSequencer" in scanned["text"]
    assert scanned["meta"]["extractor"] == "pymupdf+tesseract"

    assert rows["password.pdf"]["reason"] == "error: encrypted, password required"
    assert rows["zero.pdf"]["reason"] == "error: empty file"
    assert rows["not_a_pdf.pdf"]["reason"].startswith("error: not a PDF")
    assert rows["oversized.pdf"]["reason"].startswith("skipped: larger than max_bytes")
    assert rows["truncated.pdf"]["reason"] is not None or rows["truncated.pdf"]["text"] is not None
    # extraction CPU time varies between runs: kept only with timings: true
    assert {r["meta"]["extract_seconds"] for r in rows.values()} == {None}
    timed = read_pdf(spark, SimpleNamespace(path=str(pdf_dir / "born_digital.pdf"), source=None,
                                            options={"timings": True, "ocr": False})).collect()
    assert timed[0]["meta"]["extract_seconds"] >= 0


def test_bad_options_fail_on_the_driver(spark, pdf_dir):
    with pytest.raises(ValueError, match="dpi"):
        read_pdf(spark, SimpleNamespace(path=str(pdf_dir / "*.pdf"), source=None, options={"dpi": 5}))
    with pytest.raises(ValueError, match="languge"):
        PdfOptions.model_validate({"languge": "deu"})
