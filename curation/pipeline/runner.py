"""Runs a pipeline spec stage by stage with atomic commits, resume, and a reconciled ledger.

Run directory layout::

    <out>/spec.yaml                 the spec as resolved (overrides applied)
    <out>/<stage>/                  kept documents (Parquet), _SUCCESS, stats.json, _artifacts/ (optional)
    <out>/rejected/<stage>/         rejected documents with `reason` and `stage`
    <out>/ledger.json               per-stage in / kept / rejected with reasons; reconciled
    <out>/report.md                 the same, for people

A stage's outputs are written under ``<out>/_tmp/`` and committed by renaming the kept folder into place (it carries
``_SUCCESS`` and ``stats.json``); a folder that is there is complete. A rerun skips stages whose folder exists and
whose fingerprint (type, parameters, upstream fingerprint, input files) matches, unless ``force``.
"""
from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

from curation.schema import ANNOTATIONS, CORE_NAMES, DISTINCT_VALUED
from curation.pipeline.spec import PipelineSpec, SpecError, dump_spec
from curation.pipeline.stage import StageContext, StageResult, stage_class

STATS = "stats.json"
LEDGER = "ledger.json"


def write_parquet(df, path: str) -> None:
    """Write a stage output (overwriting): no dictionary encoding on the columns whose values are all distinct.

    In a local folder, the files' footers are then made byte-stable (:mod:`curation.runtime.parquet_footer`): the same rows
    give the same bytes in any JVM. Elsewhere (``hdfs://``, ``s3a://``) the files are left as Spark wrote them."""
    writer = df.write.mode("overwrite")
    for name in DISTINCT_VALUED:
        if name in df.columns:
            writer = writer.option(f"parquet.enable.dictionary#{name}", "false")
    writer.parquet(path)
    folder = local_folder(path, df.sparkSession)
    if folder is not None:
        from curation.runtime.parquet_footer import normalize_folder

        normalize_folder(folder)


def local_folder(path: str, spark):
    """The local folder a Spark path names (a ``file:`` URI, or a plain path where the default file system is the
    local one), or None for another file system."""
    from pathlib import Path
    from urllib.parse import unquote, urlparse

    if path.startswith("file:"):
        return Path(unquote(urlparse(path).path))
    if ":" in path.split("/", 1)[0]:  # another scheme
        return None
    default = spark.sparkContext._jsc.hadoopConfiguration().get("fs.defaultFS") or "file:///"
    return Path(path) if default.startswith("file:") else None


def read_parquet(spark, path: str, schema=None):
    """Read a stage folder's Parquet files (the folder also holds stats.json and _artifacts/).

    ``schema`` (a StructType or its JSON string), when known, saves the Spark job that reads a file footer for it."""
    reader = spark.read.option("pathGlobFilter", "*.parquet")
    if schema is not None:
        from pyspark.sql.types import StructType

        reader = reader.schema(StructType.fromJson(json.loads(schema)) if isinstance(schema, str) else schema)
    return reader.parquet(path)


def _write_counted(df, path: str, reasons: list[str] = ()) -> tuple[int, dict[str, int]]:
    """Write ``df`` (see :func:`write_parquet`); (its number of rows, {reason: rows with it} for ``reasons``), both
    counted while writing."""
    from pyspark.sql import functions as F

    from curation.runtime.session import observed

    metrics = {f"reason{i}": F.count_if(F.col("reason") == r) for i, r in enumerate(reasons)}
    watched, values = observed(df, **metrics)
    write_parquet(watched, path)
    counts = values()
    return int(counts["rows"]), {r: int(counts[f"reason{i}"]) for i, r in enumerate(reasons)}


@dataclass
class _Written:
    """What a stage's write left in its temporary folder: kept count and schema, the rejected frame and its counts,
    and for a lazy stage the plan of its kept documents (and the schema of its annotation table)."""

    n_kept: int
    kept_schema: object
    rejected: object = None
    n_rejected_rows: int = 0
    known_reasons: dict = field(default_factory=dict)
    frame: object = None
    annotation_schema: object = None


class ReconciliationError(RuntimeError):
    """Documents were created or lost inside a stage: in != kept + rejected."""


class StageFailed(RuntimeError):
    """A stage raised; the message is one line meant for the user."""


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


MAX_REASONS = 50


def _top_reasons(reasons: dict[str, int]) -> dict[str, int]:
    """Reasons by count; past MAX_REASONS distinct messages the rest are summed into one line."""
    ordered = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    if len(ordered) <= MAX_REASONS:
        return dict(ordered)
    head, tail = ordered[:MAX_REASONS - 1], ordered[MAX_REASONS - 1:]
    return {**dict(head), f"({len(tail)} other reasons)": sum(n for _, n in tail)}


def _one_line(exc: BaseException) -> str:
    """The first meaningful line of an exception (Spark analysis errors carry pages of JVM detail)."""
    text = str(exc).strip() or type(exc).__name__
    first = text.splitlines()[0]
    return f"{type(exc).__name__}: {first}"[:400]


class Runner:
    def __init__(self, spec: PipelineSpec, spark, force: bool = False, log: Callable[[str], None] = print,
                 progress_every: float = 10.0):
        from curation.runtime.session import HadoopFS

        self.spec = spec
        self.spark = spark
        self.force = force
        self.log = log
        self.progress_every = progress_every
        self.out = spec.out.rstrip("/")
        self.fs = HadoopFS(spark, self.out)

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
            upstream_fp = fp
            upstream = Upstream(s.name, outcome.stats["kept"], outcome.stats.get("schema"), frame)
        result.ledger = self._write_ledger(result.outcomes)
        self.fs.delete(f"{self.out}/_tmp")
        return result

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
            return self._annotated(stage, ctx, self._input(upstream), ctx.stage_name, stats["annotation_schema"],
                                   stats["schema"])
        if stats.get("lazy"):
            return self._lazy_kept(stage.apply(None if stage.is_source else self._input(upstream), ctx))
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

    def _annotated(self, stage, ctx: StageContext, df, name: str, annotation_schema, kept_schema):
        """The documents of an annotation-only stage stored lazily: its input and its committed annotation table,
        put together by the stage (:meth:`curation.pipeline.stage.Stage.annotated`), columns in the kept order."""
        from pyspark.sql.types import StructType

        annotations = read_parquet(self.spark, self.stage_dir(name), annotation_schema)
        names = (StructType.fromJson(json.loads(kept_schema)) if isinstance(kept_schema, str) else kept_schema).names
        return stage.annotated(df, annotations, ctx).select(*names)

    @staticmethod
    def _lazy_kept(res: StageResult):
        from pyspark.sql import functions as F

        return res.combined.where(F.col("reason").isNull()).drop("reason")

    def _run_stage(self, stage, name: str, stype: str, ctx: StageContext, upstream: Upstream | None, fp: str,
                   params_json: str) -> tuple[dict, object]:
        """Run, write and commit one stage; (its stats, the plan of its kept documents when it is lazy, else None)."""
        from curation.runtime.session import ProgressReporter

        start = time.time()
        self.log(f"[{name}] running ({stype})")
        if not stage.is_source and upstream is None:
            raise SpecError(f"stages.{name}: a {stype} stage needs an upstream stage (e.g. ingest) before it")
        df_in = None if stage.is_source else self._input(upstream)
        tmp = f"{self.out}/_tmp/{name}-{uuid.uuid4().hex[:8]}"
        kept_tmp, rej_tmp = f"{tmp}/kept", f"{tmp}/rejected"
        try:
            with ProgressReporter(self.spark, name, every=self.progress_every, printer=self.log):
                res: StageResult = stage.apply(df_in, ctx)
                if (res.annotations is not None and res.rejected is None and not ctx.materialize
                        and upstream is not None and upstream.kept <= res.lazy_rows):
                    w = self._write_annotations(res, name, kept_tmp, upstream.kept)
                elif res.lazy and res.combined is not None and not ctx.materialize:
                    w = self._write_lazy(res, name, kept_tmp, rej_tmp)
                else:
                    w = self._write_documents(res, name, tmp, kept_tmp, rej_tmp)
                rej_w, reasons = None, {}
                if w.rejected is not None:
                    rej_w = read_parquet(self.spark, rej_tmp, w.rejected.schema)
                    if w.n_rejected_rows and sum(w.known_reasons.values()) == w.n_rejected_rows:
                        reasons = {r: n for r, n in w.known_reasons.items() if n}
                    elif w.n_rejected_rows:
                        reasons = {r["reason"]: r["count"] for r in rej_w.groupBy("reason").count().collect()}
                kept_w = w.frame if w.frame is not None else read_parquet(self.spark, kept_tmp, w.kept_schema)
                n_rej = sum(reasons.values())
                extra = dict(res.extra_stats)
                if res.after_write is not None:
                    extra.update(res.after_write(kept_w, rej_w, f"{kept_tmp}/_artifacts") or {})
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
            "reasons": _top_reasons(reasons),
            "seconds": seconds, **({"extra": extra} if extra else {}),
            # lazy: the kept documents are not in the folder; later stages plan them from the stage's inputs again
            **({"lazy": "annotations", "annotation_schema": w.annotation_schema.json()} if w.annotation_schema
               else {"lazy": True} if w.frame is not None else {}),
            "schema": w.kept_schema.json(),  # of the kept documents: the next stage reads them without inferring it
        }
        self._stable_part_names(kept_tmp)
        self.fs.write_text(f"{kept_tmp}/{STATS}", json.dumps(stats, indent=2, sort_keys=False))
        # Commit: rejected first, then the kept folder (the commit point: it carries _SUCCESS and stats.json).
        self.fs.delete(self.stage_dir(name))
        self.fs.delete(self.rejected_dir(name))
        if w.rejected is not None:
            self._stable_part_names(rej_tmp)
            self.fs.rename(rej_tmp, self.rejected_dir(name))
        self.fs.rename(kept_tmp, self.stage_dir(name))
        self.fs.delete(tmp)
        frame = w.frame
        if w.annotation_schema is not None:  # from now on, the plan over the committed annotations
            frame = self._annotated(stage, ctx, df_in, name, w.annotation_schema, w.kept_schema)
        self.log(f"[{name}] in {n_in:,}  kept {n_kept:,}  rejected {n_rej:,}  ({seconds:.1f} s)")
        return stats, frame

    def _write_annotations(self, res: StageResult, name: str, kept_tmp: str, n_in: int) -> _Written:
        """An annotation-only stage: only its annotation table is written; the documents stay where its input has
        them. It rejects nothing: it keeps its ``n_in`` input documents (a full table has a row for each)."""
        self._check_columns(res.kept, name)
        n_rows, _ = _write_counted(res.annotations, kept_tmp)
        if not res.sparse_annotations and n_rows != n_in:
            raise ReconciliationError(f"stage {name}: {n_rows} annotation rows for {n_in} documents")
        return _Written(n_in, res.kept.schema, frame=res.kept, annotation_schema=res.annotations.schema)

    def _write_lazy(self, res: StageResult, name: str, kept_tmp: str, rej_tmp: str) -> _Written:
        """A stage whose documents are cheap to plan again: only the rejected rows are written, every row counted on
        the way (nothing at all when the stage knows its rows and rejects none)."""
        from pyspark.sql import functions as F

        from curation.runtime.session import observed

        frame = self._lazy_kept(res)
        self._check_columns(frame, name)
        self.fs.mkdirs(kept_tmp)
        self.fs.write_text(f"{kept_tmp}/_SUCCESS", "")
        if res.known_rows is not None:
            return _Written(res.known_rows, frame.schema, frame=frame)
        watched, values = observed(res.combined)
        rejected = watched.where(F.col("reason").isNotNull()).withColumn("stage", F.lit(name))
        n_rejected_rows, _ = _write_counted(rejected, rej_tmp)
        return _Written(int(values()["rows"]) - n_rejected_rows, frame.schema, rejected, n_rejected_rows,
                        frame=frame)

    def _write_documents(self, res: StageResult, name: str, tmp: str, kept_tmp: str, rej_tmp: str) -> _Written:
        """Kept documents and rejected rows written, counted while writing."""
        from pyspark.sql import functions as F

        kept_df, rej_df = self._materialize(res, tmp, name)
        self._check_columns(kept_df, name)
        n_kept, _ = _write_counted(kept_df, kept_tmp)
        if rej_df is None:
            return _Written(n_kept, kept_df.schema)
        rej_df = rej_df.withColumn("stage", F.lit(name))
        n_rejected_rows, known = _write_counted(rej_df, rej_tmp, res.reasons or [])
        return _Written(n_kept, kept_df.schema, rej_df, n_rejected_rows, known)

    def _materialize(self, res: StageResult, tmp: str, name: str):
        """Split a ``combined`` result after writing it once, so costly work is not run twice."""
        from pyspark.sql import functions as F

        if res.combined is None:
            if res.kept is None:
                raise StageFailed(f"stage {name} returned neither kept nor combined output")
            return res.kept, res.rejected
        all_dir = f"{tmp}/all"
        write_parquet(res.combined, all_dir)
        both = read_parquet(self.spark, all_dir, res.combined.schema)
        kept = both.where(F.col("reason").isNull()).drop("reason")
        rejected = both.where(F.col("reason").isNotNull())
        return kept, rejected

    @staticmethod
    def _check_columns(df, name: str) -> None:
        unknown = [c for c in df.columns if c not in CORE_NAMES and c not in ANNOTATIONS]
        missing = [c for c in CORE_NAMES if c not in df.columns]
        if unknown or missing:
            raise StageFailed(f"stage {name} output breaks the document schema: unknown columns {unknown}, "
                              f"missing {missing} (declare annotations in curation/schema.py)")

    def _stable_part_names(self, d: str) -> None:
        """Rename Spark's part files (random job ids in their names) to part-NNNNN.parquet, for reproducible runs."""
        parts = [n for n in self.fs.list_names(d) if n.startswith("part-") and n.endswith(".parquet")]
        for n in parts:
            idx = n.split("-")[1]
            target = f"part-{idx}.parquet"
            if n != target:
                self.fs.rename(f"{d}/{n}", f"{d}/{target}")

    def _write_ledger(self, outcomes: list[StageOutcome]) -> dict:
        stages = []
        ok = True
        for i, o in enumerate(outcomes):
            st = o.stats
            reconciles = st["in"] == st["kept"] + st["rejected"]
            chained = i == 0 or st["in"] == outcomes[i - 1].stats["kept"]
            ok = ok and reconciles and chained
            stages.append({"stage": o.name, "type": o.type, "in": st["in"], "kept": st["kept"],
                           "rejected": st["rejected"], "reasons": st.get("reasons", {}), "seconds": st["seconds"],
                           "resumed": o.resumed, "stored": _stored(st),
                           **({"extra": st["extra"]} if st.get("extra") else {})})
        ledger = {
            "out": self.out,
            "documents_in": outcomes[0].stats["in"] if outcomes else 0,
            "documents_kept": outcomes[-1].stats["kept"] if outcomes else 0,
            "documents_rejected": sum(o.stats["rejected"] for o in outcomes),
            "reconciled": ok,
            "stages": stages,
        }
        if not ok:
            raise ReconciliationError(f"ledger does not reconcile: {json.dumps(stages)}")
        if ledger["documents_in"] != ledger["documents_kept"] + ledger["documents_rejected"]:
            raise ReconciliationError("ledger does not reconcile: in != final kept + all rejected")
        self.fs.write_text(f"{self.out}/{LEDGER}", json.dumps(ledger, indent=2))
        self.fs.write_text(f"{self.out}/report.md", render_report(ledger))
        return ledger


def _stored(stats: dict) -> str:
    """What a stage folder holds: the kept documents, only the stage's annotation columns (with id), or only counts
    (the documents are read in place)."""
    return {"annotations": "annotations", True: "counts"}.get(stats.get("lazy"), "documents")


def render_report(ledger: dict) -> str:
    lines = [f"# Run report: {ledger['out']}", "",
             f"Documents in: {ledger['documents_in']:,}; kept: {ledger['documents_kept']:,}; "
             f"rejected: {ledger['documents_rejected']:,}; reconciled: {ledger['reconciled']}", "",
             "| stage | type | in | kept | rejected | seconds | resumed | folder holds |",
             "|---|---|---:|---:|---:|---:|---|---|"]
    for s in ledger["stages"]:
        lines.append(f"| {s['stage']} | {s['type']} | {s['in']:,} | {s['kept']:,} | {s['rejected']:,} | "
                     f"{s['seconds']:.1f} | {'yes' if s['resumed'] else 'no'} | {s.get('stored', 'documents')} |")
    for s in ledger["stages"]:
        if s["reasons"]:
            lines += ["", f"## Rejected in {s['stage']}", "", "| reason | documents |", "|---|---:|"]
            lines += [f"| {r.replace('|', '/')} | {n:,} |" for r, n in s["reasons"].items()]
        if s.get("extra"):
            lines += ["", f"## {s['stage']} statistics", "", "```json", json.dumps(s["extra"], indent=2), "```"]
    return "\n".join(lines) + "\n"
