"""The stage contract and the registry that maps spec names to stages.

A stage is a small object with a name, validated parameters (a pydantic model) and one method from DataFrame to
DataFrame plus its rejected rows. Adding a stage is one new file and one line in ``REGISTRY``.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

from pydantic import BaseModel, ConfigDict


class StageParams(BaseModel):
    """Base for stage parameters: unknown keys are an error (a typo in a spec must not pass silently)."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class StageContext:
    spark: Any
    out: str  # run directory
    stage_name: str  # instance name in the spec (also the output folder name)
    seed: int = 0
    spec: Any = None  # the resolved PipelineSpec (readers need spec.inputs)
    log: Callable[[str], None] = print
    # the stage's kept documents must be written: it is the spec's last stage (its folder is the run's product), or
    # the spec sets `materialize: true`; otherwise a lazy stage may store less (see StageResult)
    materialize: bool = False


@dataclass
class StageResult:
    """What a stage returns.

    ``kept``: documents that go on (same columns as the input plus any declared annotation columns).
    ``rejected``: documents dropped by this stage, with a non-null string ``reason`` column (other columns as in
    ``kept``; extra columns such as ``dup_of`` say more). ``None`` when the stage only annotates.
    ``after_write``: optional hook called by the runner once the outputs are written (but before commit) with
    ``(kept_written_df, rejected_written_df_or_None, artifacts_dir)``; it may write extra files into
    ``artifacts_dir`` (committed with the stage) and returns extra stats for ``stats.json``.
    ``combined``: alternative to kept/rejected for stages whose work is costly to run twice (readers,
    extractors): one DataFrame with a ``reason`` column (null = kept). The runner writes it once, then splits.
    ``lazy`` (with ``combined``): the documents are cheap to plan again from the stage's inputs (no parsing, no
    Python pass), so unless the stage is the spec's last, the runner writes only the rejected rows, counts every row
    on the way, and later stages read the plan instead of a copy (``stats.json`` says ``"lazy": true``).
    ``known_rows`` (with ``lazy``): the number of rows of ``combined``, known without a job, none of them rejected
    (e.g. from Parquet footers); the runner then writes nothing at all.
    ``annotations`` (for a stage that only adds columns and rejects nothing): ``id`` and the added columns, one row
    per input document; with ``sparse_annotations``, only the rows of the documents whose values differ from those
    the stage's :meth:`Stage.annotated` gives a document without a row (e.g. minhash: the documents that have a
    duplicate). Unless the stage is the spec's last or its input has more than ``lazy_rows`` documents, the
    runner stores this narrow table as the stage's output instead of a copy of the documents, and later stages read
    the input put together with it by :meth:`Stage.annotated` (``stats.json`` says ``"lazy": "annotations"``).
    ``reasons``: every reason the rejected rows can carry, when the stage knows them in advance (select rules); the
    runner then counts them while writing instead of in a job of their own.
    """

    kept: Any = None
    rejected: Any = None
    combined: Any = None
    after_write: Callable[[Any, Any, str], dict] | None = None
    extra_stats: dict = field(default_factory=dict)
    lazy: bool = False
    known_rows: int | None = None
    annotations: Any = None
    sparse_annotations: bool = False
    lazy_rows: int = 0
    reasons: list[str] | None = None


class Stage:
    """Base class. Subclasses set ``type_name``, ``Params`` and implement :meth:`apply`."""

    type_name: ClassVar[str] = ""
    Params: ClassVar[type[StageParams]] = StageParams
    # A source stage creates documents from ``spec.inputs`` and ignores its DataFrame argument.
    is_source: ClassVar[bool] = False

    def __init__(self, params: StageParams):
        self.params = params

    def apply(self, df, ctx: StageContext) -> StageResult:  # pragma: no cover - interface
        raise NotImplementedError

    def annotated(self, df, annotations, ctx: StageContext):
        """The kept documents of this annotation-only stage from its input ``df`` and its stored ``annotations``
        (``id`` and the added columns, one row per document; see ``StageResult.annotations``): a broadcast join,
        cheap as long as the table is small. A stage may build it more cheaply from what it knows of its columns."""
        from pyspark.sql import functions as F

        added = [c for c in annotations.columns if c != "id"]
        return df.drop(*added).join(F.broadcast(annotations), "id")

    def fingerprint_extra(self, ctx: StageContext) -> str:
        """Anything beyond the parameters that decides this stage's output (e.g. input file sizes)."""
        return ""


# spec name -> "module:Class". Imported lazily so a stage's heavy dependencies load only when it is used.
REGISTRY: dict[str, str] = {
    "ingest": "curation.stages.ingest:IngestStage",
    "select": "curation.stages.select:SelectStage",
    "sample": "curation.stages.select:SampleStage",
    "langid": "curation.stages.langid:LangIdStage",
    "url_dedup": "curation.dedup.url:UrlDedupStage",
    "exact_dedup": "curation.dedup.exact:ExactDedupStage",
    "minhash": "curation.dedup.minhash.stage:MinHashStage",
    "heuristics": "curation.stages.heuristics:HeuristicStage",
    "quality": "classifiers.scoring_stage:QualityScoreStage",
    "topic": "classifiers.scoring_stage:TopicStage",
    "tokenize": "curation.stages.tokenize:TokenizeStage",
    "shards": "curation.stages.shards:ShardStage",
}


def stage_class(type_name: str) -> type[Stage]:
    if type_name not in REGISTRY:
        raise KeyError(f"unknown stage type {type_name!r}; known: {', '.join(sorted(REGISTRY))}")
    module_name, cls_name = REGISTRY[type_name].split(":")
    return getattr(importlib.import_module(module_name), cls_name)
