"""``report.md``: a run's ledger (:mod:`curation.pipeline.ledger`) as Markdown, for people."""
from __future__ import annotations

import json


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
