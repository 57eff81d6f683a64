"""Pure extraction, one document at a time, with no Spark: HTML main text (`html`), PDF text (`pdf`), the per-page
text-layer-or-OCR decision (`ocr_decision`), the PDF text layer (`pdf_text_layer`), OCR backends (`ocr_backends`)
and PDF text cleanup (`pdf_cleanup`). May import extraction libraries, `pipeline.registry` (OCR backends) and
`readers.file_source` (opening a path or URI); never pyspark (`tests/curation/test_pure_imports.py` checks)."""
