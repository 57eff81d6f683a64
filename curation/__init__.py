"""Curate LLM pretraining data on Spark. ``run_pipeline`` (:mod:`curation.pipeline.api`) runs a pipeline spec from
Python. The folders are the roles (see ``docs/ARCHITECTURE.md``): `pipeline`, `runtime`, `readers`, `extract`,
`rules`, `dedup`, `stages`, `shards`, `sample`, `cli`; `schema.py` is the one document schema.

The name loads its module on first use: Spark's Python workers import this package's stage modules, and they have
no use for the runner."""
from __future__ import annotations

__all__ = ["run_pipeline"]


def __getattr__(name: str):
    if name == "run_pipeline":
        from curation.pipeline.api import run_pipeline

        return run_pipeline
    raise AttributeError(f"module 'curation' has no attribute {name!r}")
