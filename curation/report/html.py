"""``curate report RUN_DIR``: one self-contained HTML page (inline CSS, plots as base64 PNG, no script, nothing
fetched) with the funnel of documents and characters per stage and every rejection reason, the heuristic rules
behind a select reason, per-source breakdown, languages, duplicate cluster sizes, quality scores, tokens per source
against the mix, stage timings and where the products are."""
from __future__ import annotations

import html
import os

from curation.report import plots
from curation.report.data import SCORE_BINS, RunData, chars_per_stage, load_run

REPORT_HTML = "report.html"
CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1100px;color:#222;
padding:0 16px}
h1{font-size:22px;margin-bottom:4px} h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin-bottom:4px}
table{border-collapse:collapse;margin:8px 0 16px} td,th{padding:3px 10px;border-bottom:1px solid #eee;
text-align:left;vertical-align:top} td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;gap:12px;flex-wrap:wrap} .card{background:#f4f6fa;border-radius:6px;padding:8px 14px}
.card b{display:block;font-size:20px} code{background:#f4f4f4;padding:1px 4px;border-radius:3px}
img{max-width:100%;display:block;margin:8px 0} .muted{color:#777}
"""


def _e(x) -> str:
    return html.escape(str(x))


def _n(x) -> str:
    return f"{x:,}" if isinstance(x, int) else f"{x:,.1f}" if isinstance(x, float) else _e(x)


def _table(header: list[str], rows: list[list], numeric: set[int] = frozenset()) -> str:
    head = "".join(f"<th{' class=n' if i in numeric else ''}>{_e(h)}</th>" for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f"<td{' class=n' if i in numeric else ''}>{_n(v)}</td>"
                                    for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _img(b64: str, alt: str) -> str:
    return f'<img class="plot" alt="{_e(alt)}" src="data:image/png;base64,{b64}">'


def write_report(out: str, path: str | None = None) -> str:
    """Write the run's HTML report (default ``<out>/report.html``); returns its path."""
    page = render_html(load_run(out))
    path = path or os.path.join(out, REPORT_HTML)
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
    return path


def render_html(d: RunData) -> str:
    parts = [f"<h1>Run report</h1><p class=muted>{_e(os.path.abspath(d.out))}</p>", _summary(d), _products(d),
             _funnel(d), _reasons(d), _sources(d), _languages(d), _clusters(d), _scores(d), _mix(d), _timings(d)]
    return ("<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>Run report: "
            f"{_e(os.path.basename(os.path.abspath(d.out)))}</title><style>{CSS}</style></head><body>"
            + "".join(p for p in parts if p) + "</body></html>\n")


def _summary(d: RunData) -> str:
    led = d.ledger
    skipped = sum(d.skipped.values())
    seconds = sum(s["seconds"] for s in led["stages"])
    cards = [("documents in", led["documents_in"] - skipped), ("kept", led["documents_kept"]),
             ("rejected", led["documents_rejected"] - skipped), ("skipped records", skipped),
             ("stages", len(led["stages"])), ("stage seconds", round(seconds, 1))]
    html_cards = "".join(f"<div class=card><b>{_n(v)}</b>{_e(k)}</div>" for k, v in cards)
    note = ""
    if skipped:
        note = ("<p class=muted>Skipped records are not documents (WARC request, metadata, warcinfo, non-HTML "
                "responses, ...): " + ", ".join(f"{_e(r)}: {n:,}" for r, n in d.skipped.items()) + "</p>")
    return (f"<div class=cards>{html_cards}</div>{note}<p>Reconciled (every stage: in = kept + rejected): "
            f"<b>{_e(led['reconciled'])}</b></p>")


def _products(d: RunData) -> str:
    rows = [["final documents (Parquet)", f"{d.out}/{d.final_stage}/"], ["rejected documents, with reason",
                                                                         f"{d.out}/rejected/<stage>/"],
            ["ledger", f"{d.out}/ledger.json"], ["spec as run", f"{d.out}/spec.yaml"]]
    types = d.stage_types()
    for stage, t in types.items():
        extra = d.stats.get(stage, {}).get("extra", {})
        if t == "shards":
            rows.insert(0, [f"token shards ({_n(extra.get('tokens', 0))} tokens, {extra.get('shards', '?')} "
                            f"shards, {extra.get('dtype', '')})", f"{d.out}/{stage}/_artifacts/"])
            if extra.get("eval"):
                rows.insert(1, ["held-out eval shards per source", f"{d.out}/{stage}/_artifacts/eval/"])
        if t == "tokenize":
            tok = d.stats.get(stage, {}).get("params", {}).get("tokenizer")
            if tok:
                rows.append(["tokenizer", tok])
    return "<h2>Where the products are</h2>" + _table(["what", "where"], rows)


def _funnel(d: RunData) -> str:
    stages = d.ledger["stages"]
    skipped = sum(d.skipped.values())
    names = [s["stage"] for s in stages]
    kept = [s["kept"] for s in stages]
    rejected = [s["rejected"] - (skipped if i == 0 else 0) for i, s in enumerate(stages)]
    chars = {name: (cin, ckept) for name, cin, ckept in chars_per_stage(d)}
    rows = [[s["stage"], s["type"], s["in"] - (skipped if i == 0 else 0), s["kept"], rejected[i],
             chars[s["stage"]][0], chars[s["stage"]][1], s.get("stored", "documents")] for i, s in enumerate(stages)]
    out = "<h2>Funnel</h2>" + _img(plots.funnel(names, kept, rejected, "Documents per stage"), "documents funnel")
    out += _img(plots.funnel(names, [chars[n][1] for n in names], [chars[n][0] - chars[n][1] for n in names],
                             "Characters of text per stage"), "characters funnel")
    toks = _tokens_line(d)
    return out + _table(["stage", "type", "in", "kept", "rejected", "chars in", "chars kept", "folder holds"], rows,
                        {2, 3, 4, 5, 6}) + toks


def _tokens_line(d: RunData) -> str:
    for stage, t in d.stage_types().items():
        extra = d.stats.get(stage, {}).get("extra", {})
        if t == "shards" and "tokens" in extra:
            return (f"<p>Tokens in the training shards: <b>{extra['tokens']:,}</b> from {extra.get('documents', 0):,}"
                    " document copies (see the mix below).</p>")
    return ""


def _reasons(d: RunData) -> str:
    out = ["<h2>Rejection reasons</h2>"]
    labels, values = [], []
    for i, s in enumerate(d.ledger["stages"]):
        reasons = {r: n for r, n in s["reasons"].items() if not (i == 0 and r.startswith("skipped"))}
        if not reasons:
            continue
        out.append(f"<h3>{_e(s['stage'])} ({_e(s['type'])})</h3>")
        rows = []
        fails = d.stats.get(s["stage"], {}).get("extra", {}).get("heuristic_fails", {})
        for r, n in reasons.items():
            rows.append([r, n])
            labels.append(f"{s['stage']}: {r}")
            values.append(n)
            for rule, m in list(fails.get(r, {}).items())[:15]:  # the heuristic rules behind a select reason
                rows.append([f"\u2003failed rule {rule}", m])
        out.append(_table(["reason", "documents"], rows, {1}))
        if fails:
            out.append("<p class=muted>A document can fail several rules; each rule counts it.</p>")
        rules = d.stats.get(s["stage"], {}).get("extra", {}).get("heuristics", {}).get("rules")
        if isinstance(rules, dict):
            out.append(_rule_table(rules))
    for s in d.ledger["stages"]:
        rules = d.stats.get(s["stage"], {}).get("extra", {}).get("heuristics", {}).get("rules")
        if isinstance(rules, dict) and not s["reasons"]:
            out.append(f"<h3>{_e(s['stage'])}: documents failing each heuristic rule</h3>" + _rule_table(rules))
    if values:
        order = sorted(range(len(values)), key=lambda i: -values[i])[:25]
        out.insert(1, _img(plots.horizontal([labels[i] for i in order], [values[i] for i in order],
                                            "Rejected documents by stage and reason", "documents", plots.REJECTED),
                           "rejection reasons"))
    return "".join(out)


def _rule_table(rules: dict) -> str:
    flat = []
    for rule, v in rules.items():
        n = v.get("fails", v.get("failed", v.get("documents"))) if isinstance(v, dict) else v
        if isinstance(n, int) and n:
            flat.append([rule, n])
    flat.sort(key=lambda r: -r[1])
    return _table(["rule", "documents failing"], flat, {1}) if flat else ""


def _sources(d: RunData) -> str:
    if not d.by_source:
        return ""
    stages = [s["stage"] for s in d.ledger["stages"]]
    sources = sorted(d.by_source, key=lambda s: -sum(d.by_source[s].values()))
    used = [st for st in stages if any(d.by_source[src][st] for src in sources)]
    rows = [[src, sum(d.by_source[src].values()), *[d.by_source[src][st] for st in used], d.by_source[src]["kept"]]
            for src in sources]
    layers = [(f"rejected in {st}", [d.by_source[src][st] for src in sources]) for st in used]
    layers.append(("kept", [d.by_source[src]["kept"] for src in sources]))
    return ("<h2>Per source</h2>" + _img(plots.stacked_sources(sources, layers, "Documents per source: where they "
                                                                                  "went"), "per-source breakdown")
            + _table(["source", "documents in", *[f"rejected in {st}" for st in used], "kept"], rows,
                     set(range(1, len(used) + 3))))


def _languages(d: RunData) -> str:
    if not d.langs:
        return ""
    langs = sorted(d.langs, key=lambda k: -sum(d.langs[k].values()))
    shown = langs[:20]
    rest = sum(sum(d.langs[k].values()) for k in langs[20:])
    rows = [[k, d.langs[k]["kept"], d.langs[k]["rejected"]] for k in shown]
    plot = plots.grouped(shown, [("kept", [d.langs[k]["kept"] for k in shown], plots.KEPT),
                                 ("rejected", [d.langs[k]["rejected"] for k in shown], plots.REJECTED)],
                         "Documents by language", "documents")
    more = f"<p class=muted>{len(langs) - 20} more languages: {rest:,} documents</p>" if rest else ""
    return ("<h2>Languages</h2><p class=muted>Documents that reached the language annotation.</p>"
            + _img(plot, "language distribution") + _table(["language", "kept", "rejected"], rows, {1, 2}) + more)


def _clusters(d: RunData) -> str:
    if not d.cluster_sizes:
        return ""
    rows = [[k, n, k * n] for k, n in sorted(d.cluster_sizes.items())]
    return ("<h2>Duplicate clusters</h2>" + _img(plots.cluster_sizes(dict(d.cluster_sizes)), "duplicate clusters")
            + _table(["cluster size", "clusters", "documents"], rows, {0, 1, 2}))


def _scores(d: RunData) -> str:
    if not d.scores:
        return ""
    return "<h2>Quality scores</h2>" + _img(plots.score_histogram(SCORE_BINS, d.scores), "quality score histogram")


def _mix(d: RunData) -> str:
    for stage, t in d.stage_types().items():
        mix = d.stats.get(stage, {}).get("extra", {}).get("mix")
        if t != "shards" or not isinstance(mix, dict) or not mix:
            continue
        names = sorted(mix)
        rows = [[n, mix[n]["requested_share"], mix[n]["achieved_share"], mix[n]["achieved_tokens"],
                 mix[n]["available_tokens"], mix[n]["repetition"]] for n in names]
        plot = plots.grouped(names, [("requested share", [mix[n]["requested_share"] for n in names], plots.MIX),
                                     ("achieved share", [mix[n]["achieved_share"] for n in names], plots.KEPT)],
                             "Tokens per source against the mix", "share of training tokens")
        return ("<h2>Tokens per source against the mix</h2>" + _img(plot, "mix shares")
                + _table(["source", "requested share", "achieved share", "tokens", "available tokens",
                          "repetition"], [[r[0], f"{r[1]:.3f}", f"{r[2]:.3f}", r[3], r[4], f"{r[5]:.2f}"]
                                          for r in rows], {1, 2, 3, 4, 5}))
    return ""


def _timings(d: RunData) -> str:
    stages = d.ledger["stages"]
    plot = plots.horizontal([s["stage"] for s in stages], [s["seconds"] for s in stages], "Stage timings",
                            "seconds")
    rows = [[s["stage"], round(float(s["seconds"]), 1), "yes" if s["resumed"] else "no"] for s in stages]
    return ("<h2>Stage timings</h2>" + _img(plot, "stage timings")
            + _table(["stage", "seconds", "resumed from an earlier run"], rows, {1}))
