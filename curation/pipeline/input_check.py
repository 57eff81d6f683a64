"""The input check after a source stage: a run whose inputs yield no readable document, or where more than
``max_failed_file_share`` of the input files fail, stops with a non-zero exit and the per-file reasons summarised.

A file fails when it yields no document and at least one ``error: ...`` row. The check costs a Spark job only when
the stage rejected something as an error or kept nothing: a clean run pays nothing. What it finds is recorded in the
stage's ``stats.json`` (``extra.input_files``) so that a resumed run applies the same check without a job.
"""
from __future__ import annotations

from curation.pipeline.errors import StageFailed

SHOWN_FILES = 5


class InputsFailed(StageFailed):
    """The run's inputs are mostly unreadable; the rows are recorded, the run stops."""


def input_files_summary(kept, rejected, reasons: dict[str, int], n_files: int) -> dict:
    """``{"files", "failed", "failed_files": {path: first error}}`` of a source stage's written frames (computed
    with a job only when some rows are errors or nothing was kept)."""
    from pyspark.sql import functions as F

    errors = sum(n for r, n in reasons.items() if r.startswith("error"))
    summary = {"files": n_files, "failed": 0, "failed_files": {}}
    if rejected is None or not errors:
        return summary
    path = F.col("meta.source_path")
    bad = (rejected.where(F.col("reason").startswith("error")).groupBy(path.alias("path"))
           .agg(F.min("reason").alias("reason")))
    good = kept.select(path.alias("path")).distinct()
    failed = bad.join(good, "path", "left_anti").orderBy("path")
    rows = failed.collect()  # one row per failed input file: bounded by the file listing the driver already holds
    summary["failed"] = len(rows)
    summary["failed_files"] = {r["path"]: r["reason"] for r in rows[:50]}
    return summary


def check_inputs_read(stage: str, kept: int, summary: dict, max_failed_share: float) -> None:
    """Raise :class:`InputsFailed` when nothing was read or too many files failed."""
    files, failed = summary.get("files", 0), summary.get("failed", 0)
    share = failed / files if files else 0.0
    if kept and share <= max_failed_share:
        return
    shown = "; ".join(f"{p}: {r}" for p, r in list(summary.get("failed_files", {}).items())[:SHOWN_FILES])
    more = f" (+{failed - SHOWN_FILES} more)" if failed > SHOWN_FILES else ""
    what = ("no readable document in the inputs" if not kept else
            f"{failed} of {files} input files failed ({share:.0%} > max_failed_file_share {max_failed_share:g})")
    detail = f": {shown}{more}" if shown else ""
    raise InputsFailed(f"stage {stage}: {what}{detail}; the rows are in rejected/{stage}/")
