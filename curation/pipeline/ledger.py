"""The run ledger (``<out>/ledger.json``): per stage in / kept / rejected with reasons, seconds and what its folder
holds, reconciled (every stage's in = kept + rejected, each stage reads what the one before kept), written with
``report.md`` at the end of every run. A ledger that does not reconcile is not written: the run fails."""
from __future__ import annotations

import json

from curation.pipeline.errors import ReconciliationError
from curation.pipeline.report import render_report

LEDGER = "ledger.json"
REPORT = "report.md"
MAX_REASONS = 50


def top_reasons(reasons: dict[str, int]) -> dict[str, int]:
    """Reasons by count; past MAX_REASONS distinct messages the rest are summed into one line."""
    ordered = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    if len(ordered) <= MAX_REASONS:
        return dict(ordered)
    head, tail = ordered[:MAX_REASONS - 1], ordered[MAX_REASONS - 1:]
    return {**dict(head), f"({len(tail)} other reasons)": sum(n for _, n in tail)}


def stored(stats: dict) -> str:
    """What a stage folder holds: the kept documents, only the stage's annotation columns (with id), or only counts
    (the documents are read in place)."""
    return {"annotations": "annotations", True: "counts"}.get(stats.get("lazy"), "documents")


def build_ledger(out: str, outcomes: list) -> dict:
    """The ledger of a run's stage outcomes (name, type, stats, resumed); raises :class:`ReconciliationError` when
    the counts do not add up."""
    stages = []
    ok = True
    for i, o in enumerate(outcomes):
        st = o.stats
        reconciles = st["in"] == st["kept"] + st["rejected"]
        chained = i == 0 or st["in"] == outcomes[i - 1].stats["kept"]
        ok = ok and reconciles and chained
        stages.append({"stage": o.name, "type": o.type, "in": st["in"], "kept": st["kept"],
                       "rejected": st["rejected"], "reasons": st.get("reasons", {}), "seconds": st["seconds"],
                       "resumed": o.resumed, "stored": stored(st),
                       **({"extra": st["extra"]} if st.get("extra") else {})})
    ledger = {
        "out": out,
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
    return ledger


def write_ledger(fs, out: str, outcomes: list) -> dict:
    """Build the ledger, write ``ledger.json`` and ``report.md`` into ``out`` (through ``fs``, a
    :class:`~curation.runtime.hadoop_fs.HadoopFS`) and return it."""
    ledger = build_ledger(out, outcomes)
    fs.write_text(f"{out}/{LEDGER}", json.dumps(ledger, indent=2))
    fs.write_text(f"{out}/{REPORT}", render_report(ledger))
    return ledger
