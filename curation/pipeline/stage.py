"""The stage contract: what a stage is given (:class:`StageContext`) and what it returns (:class:`StageResult`).

A stage is a small object with a name, validated parameters (a pydantic model) and one method from DataFrame to
DataFrame plus its rejected rows. Adding a stage is one new file and one line in
:data:`curation.pipeline.registry.STAGES`. Importing this module imports no Spark.
"""
from __future__ import annotations

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
    """What a stage returns: ``kept`` and ``rejected``, or ``combined``.

    ``kept``: documents that go on (same columns as the input plus any declared annotation columns).
    ``rejected``: documents dropped by this stage, with a non-null string ``reason`` column (other columns as in
    ``kept``; extra columns such as ``dup_of`` say more). ``None`` when the stage only annotates.
    ``combined``: alternative to kept/rejected for stages whose work is costly to run twice (readers,
    extractors): one DataFrame with a ``reason`` column (null = kept). The runner writes it once, then splits.
    ``after_write``: optional hook called by the runner once the outputs are written (but before commit) with
    ``(kept_written_df, rejected_written_df_or_None, artifacts_dir)``; it may write extra files into
    ``artifacts_dir`` (committed with the stage) and returns extra stats for ``stats.json``.
    ``extra_stats``: more statistics for ``stats.json`` (``extra``).
    ``reasons``: every reason the rejected rows can carry, when the stage knows them in advance (select rules); the
    runner then counts them while writing instead of in a job of their own.
    ``storage``: leave it None (the runner writes the documents). A stage whose output is cheap to plan again, or
    that only adds columns, may let the runner store less: :mod:`curation.pipeline.storage`.
    """

    kept: Any = None
    rejected: Any = None
    combined: Any = None
    after_write: Callable[[Any, Any, str], dict] | None = None
    extra_stats: dict = field(default_factory=dict)
    reasons: list[str] | None = None
    storage: Any = None


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
        (``id`` and the added columns; see :class:`curation.pipeline.storage.AnnotationTable`): a broadcast join,
        cheap as long as the table is small. A stage may build it more cheaply from what it knows of its columns."""
        from pyspark.sql import functions as F

        added = [c for c in annotations.columns if c != "id"]
        return df.drop(*added).join(F.broadcast(annotations), "id")

    def fingerprint_extra(self, ctx: StageContext) -> str:
        """Anything beyond the parameters that decides this stage's output (e.g. input file sizes)."""
        return ""
