"""Thin Spark stages, one per file: `ingest`, `langid`, `select` (and `sample`), `heuristics`, `tokenize`, `shards`,
`consent`, `pii`, `decontaminate`, `line_dedup`.
Where a new stage goes: a file here (a `Stage` subclass with `Params` and `apply`) and one line in
`pipeline/registry.py`. The per-document work lives in pure modules (`rules`, `extract`, `shards`, ...); a stage may
import those, `pipeline`, `runtime` and `schema`. (The dedup stages live with their algorithms in `dedup/`.)"""
