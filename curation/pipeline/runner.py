"""Runs a pipeline spec stage by stage with atomic commits, resume, and a reconciled ledger.

Run directory layout::

    <out>/spec.yaml                 the spec as resolved (overrides applied)
    <out>/<stage>/                  kept documents (Parquet), _SUCCESS, stats.json, _artifacts/ (optional)
    <out>/rejected/<stage>/         rejected documents with `reason` and `stage`
    <out>/ledger.json               per-stage in / kept / rejected with reasons; reconciled
    <out>/report.md                 the same, for people

A stage's outputs are written under ``<out>/_tmp/`` (in the storage mode :mod:`curation.pipeline.storage` picks)
and committed by renaming the kept folder into place (it carries ``_SUCCESS`` and ``stats.json``); a folder that is
there is complete. A rerun skips stages whose folder exists and whose fingerprint (type, parameters, upstream
fingerprint, input files) matches, unless ``force``. The ledger and report are written at the end
(:mod:`curation.pipeline.ledger`).
"""
from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

from curation.pipeline.errors import ReconciliationError, RunLocked, StageFailed, describe
from curation.pipeline.input_check import InputsFailed, check_inputs_read, input_files_summary
from curation.pipeline.ledger import top_reasons, write_ledger
from curation.pipeline.registry import stage_class
from curation.pipeline.run_lock import RunLock
from curation.pipeline.spec import PipelineSpec, SpecError, dump_spec
from curation.pipeline.stage import StageContext, StageResult
from curation.pipeline.storage import StageWriter, annotated, lazy_kept, read_parquet

__all__ = ["InputsFailed", "ReconciliationError", "RunLocked", "RunResult", "Runner", "StageFailed", "StageOutcome"]

STATS = "stats.json"


@dataclass
class Upstream:
    """What the next stage needs of the stage before it: its name, kept count, kept schema (JSON) and, when that
    stage is lazy, the plan of its kept documents."""

    name: str
    kept: int
    schema: str | None
    frame: object = None


@dataclass
class StageOutcome:
    name: str
    type: str
    stats: dict
    resumed: bool


@dataclass
class RunResult:
    out: str
    outcomes: list[StageOutcome] = field(default_factory=list)
    ledger: dict = field(default_factory=dict)

    def final_path(self) -> str:
        return f"{self.out}/{self.outcomes[-1].name}" if self.outcomes else self.out


def _fingerprint(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:16]


def _one_line(exc: BaseException) -> str:
    """The underlying cause of an exception in one line, naming the file when Spark does (Spark errors carry pages
    of JVM detail): :func:`curation.pipeline.errors.describe`."""
    return describe(exc)


class Runner:
    def __init__(self, spec: PipelineSpec, spark, force: bool = False, log: Callable[[str], None] = print,
                 progress_every: float = 10.0, progress_bar: bool | None = None, lock_held: bool = False):
        from curation.runtime.hadoop_fs import HadoopFS

        self.spec = spec
        self.spark = spark
        self.force = force
        self.log = log
        self.progress_every = progress_every
        self.progress_bar = progress_bar  # None: a bar on a terminal, plain lines through `log` otherwise
        self.lock_held = lock_held  # the caller holds out's RunLock already (`curate run` takes it before Spark)
        self.out = spec.out.rstrip("/")
        self.fs = HadoopFS(spark, self.out)
        self.writer = StageWriter(spark, self.fs)

    # ---- paths ----
    def stage_dir(self, name: str) -> str:
        return f"{self.out}/{name}"

    def rejected_dir(self, name: str) -> str:
        return f"{self.out}/rejected/{name}"

    def _read_stats(self, name: str) -> dict | None:
        d = self.stage_dir(name)
        if not (self.fs.exists(f"{d}/_SUCCESS") and self.fs.exists(f"{d}/{STATS}")):
            return None
        return json.loads(self.fs.read_text(f"{d}/{STATS}"))

    # ---- the run ----
    def run(self) -> RunResult:
        """Run the spec under the run directory's lock (:mod:`curation.pipeline.run_lock`): a second run on the
        same ``out`` stops with :class:`RunLocked` before writing anything."""
        if self.lock_held:
            return self._run()
        with RunLock(self.out):
            return self._run()

    def _run(self) -> RunResult:
        self.fs.mkdirs(self.out)
        self.fs.write_text(f"{self.out}/spec.yaml", dump_spec(self.spec))
        self.fs.delete(f"{self.out}/_tmp")  # leftovers of an interrupted run
        result = RunResult(out=self.out)
        upstream_fp = _fingerprint(str(self.spec.seed))
        upstream: Upstream | None = None
        recomputed_upstream = False
        for i, s in enumerate(self.spec.stages):
            stage, ctx = self._stage_and_context(i)
            params_json = json.dumps(stage.params.model_dump(mode="json"), sort_keys=True)
            fp = _fingerprint(upstream_fp, s.type, params_json, stage.fingerprint_extra(ctx))
            old = self._read_stats(s.name)
            reusable = old is not None and not (old.get("lazy") and ctx.materialize)  # it must hold its documents now
            if reusable and not self.force and not recomputed_upstream and old.get("fingerprint") == fp:
                self.log(f"[{s.name}] done earlier, skipping: in {old['in']:,}  kept {old['kept']:,}  "
                         f"rejected {old['rejected']:,}")
                outcome = StageOutcome(s.name, s.type, old, resumed=True)
                frame = self._committed_frame(stage, ctx, upstream, old)
            else:
                if old is not None and not self.force and old.get("fingerprint") != fp:
                    self.log(f"[{s.name}] parameters or inputs changed since the last run: recomputing")
                stats, frame = self._run_stage(stage, s.name, s.type, ctx, upstream, fp, params_json)
                outcome = StageOutcome(s.name, s.type, stats, resumed=False)
                recomputed_upstream = True
            result.outcomes.append(outcome)
            if stage.is_source:  # a run that read (almost) nothing stops here, its rows and ledger recorded
                try:
                    check_inputs_read(s.name, outcome.stats["kept"], outcome.stats.get("extra", {}).get(
                        "input_files", {}), self.spec.max_failed_file_share)
                except InputsFailed:
                    result.ledger = write_ledger(self.fs, self.out, result.outcomes)
                    raise
            upstream_fp = fp
            upstream = Upstream(s.name, outcome.stats["kept"], outcome.stats.get("schema"), frame)
        result.ledger = write_ledger(self.fs, self.out, result.outcomes)
        self.fs.delete(f"{self.out}/_tmp")
        return result

    def _n_input_files(self) -> int:
        from curation.readers.file_source import expand_inputs

        return sum(len(expand_inputs(inp.path)) for inp in self.spec.inputs)

    def _stage_and_context(self, i: int):
        """The spec's i-th stage, built from its parameters, and its context."""
        s = self.spec.stages[i]
        cls = stage_class(s.type)
        ctx = StageContext(spark=self.spark, out=self.out, stage_name=s.name, seed=self.spec.seed, spec=self.spec,
                           log=self.log, materialize=self.spec.materialize or i == len(self.spec.stages) - 1)
        return cls(cls.Params.model_validate(s.params)), ctx

    def _committed_frame(self, stage, ctx: StageContext, upstream: Upstream | None, stats: dict):
        """A committed lazy stage's documents, planned again (cheap by definition); None for a stage whose folder
        holds them."""
        if stats.get("lazy") == "annotations":
            return annotated(self.spark, stage, ctx, self._input(upstream), self.stage_dir(ctx.stage_name),
                             stats["annotation_schema"], stats["schema"])
        if stats.get("lazy"):
            return lazy_kept(stage.apply(None if stage.is_source else self._input(upstream), ctx))
        return None

    def documents(self, name: str):
        """The kept documents of the committed stage ``name`` of an earlier run of this spec, as a DataFrame (its
        folder, or the plan of a lazy stage over the stages before it)."""
        upstream: Upstream | None = None
        for i, s in enumerate(self.spec.stages):
            stage, ctx = self._stage_and_context(i)
            stats = self._read_stats(s.name)
            if stats is None:
                raise SpecError(f"stage {s.name} of {self.out} has not completed")
            frame = self._committed_frame(stage, ctx, upstream, stats)
            upstream = Upstream(s.name, stats["kept"], stats.get("schema"), frame)
            if s.name == name:
                return self._input(upstream)
        raise SpecError(f"no stage {name!r} in {self.out}/spec.yaml")

    def _input(self, upstream: Upstream | None):
        """The documents a stage reads: the upstream stage's committed folder, or its plan when it is lazy."""
        if upstream is None:
            return None
        if upstream.frame is not None:
            return upstream.frame
        return read_parquet(self.spark, self.stage_dir(upstream.name), upstream.schema)

    def _run_stage(self, stage, name: str, stype: str, ctx: StageContext, upstream: Upstream | None, fp: str,
                   params_json: str) -> tuple[dict, object]:
        """Run, write and commit one stage; (its stats, the plan of its kept documents when it is lazy, else None)."""
        from curation.runtime.progress import ProgressReporter, interactive

        start = time.time()
        self.log(f"[{name}] running ({stype})")
        if not stage.is_source and upstream is None:
            raise SpecError(f"stages.{name}: a {stype} stage needs an upstream stage (e.g. ingest) before it")
        df_in = None if stage.is_source else self._input(upstream)
        tmp = f"{self.out}/_tmp/{name}-{uuid.uuid4().hex[:8]}"
        kept_tmp, rej_tmp = f"{tmp}/kept", f"{tmp}/rejected"
        try:
            bar = interactive() if self.progress_bar is None else self.progress_bar
            with ProgressReporter(self.spark, name, every=self.progress_every, printer=self.log, bar=bar,
                                  total=None if stage.is_source else upstream.kept):
                res: StageResult = stage.apply(df_in, ctx)
                w = self.writer.write(res, name, tmp, ctx.materialize, None if upstream is None else upstream.kept)
                rej_w, reasons = self.writer.rejected_reasons(w, rej_tmp)
                kept_w = w.frame if w.frame is not None else read_parquet(self.spark, kept_tmp, w.kept_schema)
                n_rej = sum(reasons.values())
                extra = dict(res.extra_stats)
                if res.after_write is not None:
                    extra.update(res.after_write(kept_w, rej_w, f"{kept_tmp}/_artifacts") or {})
                if stage.is_source:
                    extra["input_files"] = input_files_summary(kept_w, rej_w, reasons, self._n_input_files())
        except (SpecError, ReconciliationError):
            raise
        except Exception as exc:
            self.fs.delete(tmp)
            raise StageFailed(f"stage {name} ({stype}) failed: {_one_line(exc)}") from exc
        n_kept = w.n_kept
        n_in = (n_kept + n_rej) if stage.is_source else upstream.kept
        if n_in != n_kept + n_rej:
            self.fs.delete(tmp)
            raise ReconciliationError(
                f"stage {name}: in {n_in} != kept {n_kept} + rejected {n_rej}; documents were "
                f"{'created' if n_kept + n_rej > n_in else 'lost'} inside the stage")
        seconds = round(time.time() - start, 3)
        stats = {
            "stage": name, "type": stype, "fingerprint": fp, "params": json.loads(params_json),
            "in": n_in, "kept": n_kept, "rejected": n_rej,
            "reasons": top_reasons(reasons),
            "seconds": seconds, **({"extra": extra} if extra else {}),
            # lazy: the kept documents are not in the folder; later stages plan them from the stage's inputs again
            **({"lazy": "annotations", "annotation_schema": w.annotation_schema.json()} if w.annotation_schema
               else {"lazy": True} if w.frame is not None else {}),
            "schema": w.kept_schema.json(),  # of the kept documents: the next stage reads them without inferring it
        }
        self.writer.stable_part_names(kept_tmp)
        self.fs.write_text(f"{kept_tmp}/{STATS}", json.dumps(stats, indent=2, sort_keys=False))
        # Commit: rejected first, then the kept folder (the commit point: it carries _SUCCESS and stats.json).
        self.fs.delete(self.stage_dir(name))
        self.fs.delete(self.rejected_dir(name))
        if w.rejected is not None:
            self.writer.stable_part_names(rej_tmp)
            self.fs.rename(rej_tmp, self.rejected_dir(name))
        self.fs.rename(kept_tmp, self.stage_dir(name))
        self.fs.delete(tmp)
        frame = w.frame
        if w.annotation_schema is not None:  # from now on, the plan over the committed annotations
            frame = annotated(self.spark, stage, ctx, df_in, self.stage_dir(name), w.annotation_schema,
                              w.kept_schema)
        self.log(f"[{name}] in {n_in:,}  kept {n_kept:,}  rejected {n_rej:,}  ({seconds:.1f} s)")
        return stats, frame
