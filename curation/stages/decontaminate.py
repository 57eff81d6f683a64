"""The decontaminate stage: flag documents that share word n-grams with evaluation sets (benchmarks).

The driver reads each benchmark's files (JSONL, plain or compressed, or Parquet; a text field) and builds a sorted
array of its n-gram hashes (:mod:`curation.clean.decontam`); the arrays are broadcast to the executors, 8 bytes per
distinct n-gram, at most ``max_index_ngrams`` in all (default 25M: 200 MB; larger evaluation sets are refused with
that number, split them over several runs). Annotates ``contam_matches`` (benchmark -> n-grams shared; only
the benchmarks that reach ``min_matches``) and ``contaminated``; ``action: remove_paragraphs`` also cuts the matching
paragraphs from ``text``. Dropping whole documents is a select: ``keep_if: "NOT contaminated"``. Per benchmark, the
number of documents that match goes to ``stats.json`` (``extra.decontaminate``). Spec::

    decontaminate:
      benchmarks:
        mmlu: {path: evals/mmlu/*.jsonl, text_field: question}
        gsm8k: {path: evals/gsm8k.parquet}
      n: 13
"""
from __future__ import annotations

import hashlib
from typing import Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from curation.clean.decontam import build_index, decontam_batch, read_texts
from curation.pipeline.stage import Stage, StageContext, StageParams, StageResult
from curation.schema import ANNOTATIONS


class Benchmark(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(description="file, folder or glob of JSONL (.gz/.zst/...) or Parquet files")
    text_field: str = Field("text", description="the field holding the evaluation text")


class DecontaminateParams(StageParams):
    benchmarks: dict[str, Benchmark] = Field(min_length=1, description="evaluation sets by name")
    n: int = Field(13, ge=3, le=64, description="n-gram length in normalised words")
    min_matches: int = Field(1, ge=1, description="n-grams a document shares with a benchmark to match it")
    min_words: int = Field(8, ge=1, description="evaluation texts shorter than n words but with at least this many "
                                                "are one n-gram of their own length; shorter ones are ignored")
    action: Literal["flag", "remove_paragraphs"] = Field("flag", description="flag: annotate only; "
                                                                             "remove_paragraphs: also cut the "
                                                                             "paragraphs holding a matching n-gram")
    max_index_ngrams: int = Field(25_000_000, ge=1, description="most distinct n-grams of all benchmarks together "
                                                                "(8 bytes each, broadcast to every executor)")


def _files(benchmark_name: str, b: Benchmark) -> list[str]:
    from curation.readers.file_source import list_files

    files = list_files(b.path)
    if not files:
        raise ValueError(f"decontaminate.benchmarks.{benchmark_name}.path matches no files: {b.path}")
    return files


def _decontaminate(batch, index_bc, n, min_matches, short_lengths, remove_paragraphs):
    return decontam_batch(batch, index_bc.value, n, min_matches, short_lengths, remove_paragraphs)


class DecontaminateStage(Stage):
    """Annotates ``contam_matches`` and ``contaminated`` (and optionally removes the matching paragraphs)."""

    type_name = "decontaminate"
    Params = DecontaminateParams

    def fingerprint_extra(self, ctx: StageContext) -> str:
        digest = hashlib.sha256()
        for name, b in sorted(self.params.benchmarks.items()):
            for path in _files(name, b):
                digest.update(path.encode())
                with open(path, "rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        digest.update(chunk)
        return digest.hexdigest()

    def build(self) -> tuple[dict, list[int], dict]:
        """(benchmark -> n-gram hash array, short n-gram lengths, per-benchmark index statistics)."""
        p: DecontaminateParams = self.params
        indexes, short_lengths, info, total = {}, set(), {}, 0
        for name, b in sorted(p.benchmarks.items()):
            texts = (t for path in _files(name, b) for t in read_texts(path, b.text_field))
            indexes[name], lengths, info[name] = build_index(texts, p.n, p.min_words)
            short_lengths.update(lengths)
            total += len(indexes[name])
            if total > p.max_index_ngrams:
                raise ValueError(f"decontaminate: the benchmarks hold more than max_index_ngrams "
                                 f"({p.max_index_ngrams}) distinct {p.n}-grams (at {name})")
        return indexes, sorted(short_lengths), info

    def apply(self, df, ctx: StageContext) -> StageResult:
        from functools import partial

        from pyspark.sql import functions as F
        from pyspark.sql.pandas.types import to_arrow_schema

        from curation.runtime.batches import map_batches

        p: DecontaminateParams = self.params
        indexes, short_lengths, info = self.build()
        ctx.log(f"decontaminate: {sum(len(i) for i in indexes.values())} {p.n}-grams from {len(indexes)} benchmarks")
        index_bc = ctx.spark.sparkContext.broadcast(indexes)
        base = df.drop("contam_matches", "contaminated")
        schema = to_arrow_schema(base.schema).append(pa.field("contam_matches", ANNOTATIONS["contam_matches"])).append(
            pa.field("contaminated", ANNOTATIONS["contaminated"]))
        fn = partial(_decontaminate, index_bc=index_bc, n=p.n, min_matches=p.min_matches,
                     short_lengths=tuple(short_lengths), remove_paragraphs=p.action == "remove_paragraphs")
        annotated = map_batches(base, fn, schema)

        def stats(kept, _rejected, _artifacts):
            per = {r["benchmark"]: r["count"] for r in kept.select(
                F.explode(F.map_keys("contam_matches")).alias("benchmark")).groupBy("benchmark").count().collect()}
            flagged = kept.where(F.col("contaminated")).count()
            return {"decontaminate": {"documents_contaminated": flagged,
                                      "benchmarks": {name: {**info[name], "documents_matched": per.get(name, 0)}
                                                     for name in sorted(info)}}}

        return StageResult(kept=annotated, after_write=stats)
