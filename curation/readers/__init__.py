"""Input formats: listing and opening files and the file-parallel Spark read (`file_source`), one module per format
(`jsonl`, `text`, `parquet`, `warc`, `pdf`) and their registry (`formats`). A reader turns records into document rows
(or skipped / error rows); it may import `schema`, `runtime.batches`, `pipeline.registry` and the pure extractors in
`extract`."""
