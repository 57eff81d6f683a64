"""The built-in sample corpus (`curate sample write`): the prose bank as package data (`prose/`, read by `bank`),
composition without accidental near-duplicates (`compose`), and the web (WARC), PDF and JSONL parts (`web`,
`warc_file`, `pdfs`, `texts`) written by `corpus.write_sample`. Seeded: the same seed gives the same bytes. Imports
pymupdf and the standard library, nothing else of `curation`."""
