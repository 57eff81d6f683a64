"""``report.md``: a run's ledger (:mod:`curation.pipeline.ledger`) as Markdown, for people. Skipped input records
(WARC request, metadata, warcinfo records, non-HTML responses) are counted apart from documents; stage statistics
are summarised (heuristic rules by documents failing them, the rules behind a select reason) rather than dumped.
The page with plots is ``curate report RUN_DIR`` (:mod:`curation.report.html`)."""
from __future__ import annotations

SUMMARY_KEYS = ("documents", "tokens", "shards", "dtype", "failing_any", "max_share_error", "cutoff")


def skipped_records(ledger: dict) -> int:
    """Records the source stage skipped because they are not documents (``skipped: ...`` reasons)."""
    stages = ledger.get("stages") or []
    return sum(n for r, n in stages[0]["reasons"].items() if r.startswith("skipped")) if stages else 0


def render_report(ledger: dict) -> str:
    skipped = skipped_records(ledger)
    lines = [f"# Run report: {ledger['out']}", "",
             f"Documents in: {ledger['documents_in'] - skipped:,}; kept: {ledger['documents_kept']:,}; "
             f"rejected: {ledger['documents_rejected'] - skipped:,}; reconciled: {ledger['reconciled']}"
             + (f"; skipped input records (not documents): {skipped:,}" if skipped else ""), "",
             "| stage | type | in | kept | rejected | seconds | resumed | folder holds |",
             "|---|---|---:|---:|---:|---:|---|---|"]
    for s in ledger["stages"]:
        lines.append(f"| {s['stage']} | {s['type']} | {s['in']:,} | {s['kept']:,} | {s['rejected']:,} | "
                     f"{s['seconds']:.1f} | {'yes' if s['resumed'] else 'no'} | {s.get('stored', 'documents')} |")
    for s in ledger["stages"]:
        extra = s.get("extra") or {}
        if s["reasons"]:
            fails = extra.get("heuristic_fails", {})
            lines += ["", f"## Rejected in {s['stage']}", "", "| reason | documents |", "|---|---:|"]
            for r, n in s["reasons"].items():
                lines.append(f"| {r.replace('|', '/')} | {n:,} |")
                lines += [f"| &emsp;failed rule {rule} | {m:,} |" for rule, m in list(fails.get(r, {}).items())[:10]]
        rules = (extra.get("heuristics") or {}).get("rules")
        if isinstance(rules, dict):
            failing = sorted(((k, v["failed"]) for k, v in rules.items() if isinstance(v, dict) and v.get("failed")),
                             key=lambda kv: -kv[1])
            lines += ["", f"## {s['stage']}: documents failing each heuristic rule", "", "| rule | documents |",
                      "|---|---:|", *[f"| {k} | {n:,} |" for k, n in failing]]
        facts = {k: v for block in [extra, *(v for v in extra.values() if isinstance(v, dict))]
                 for k, v in block.items() if k in SUMMARY_KEYS and not isinstance(v, (dict, list))}
        if facts:
            lines += ["", f"{s['stage']}: " + ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}"
                                                        for k, v in facts.items())]
    lines += ["", "Plots, per-source and language breakdowns: `curate report " + ledger["out"] + "` (report.html)."]
    return "\n".join(lines) + "\n"
