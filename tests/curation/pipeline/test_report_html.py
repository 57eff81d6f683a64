"""`curate report`: the HTML page of a real run (WARC with request records, JSONL of two sources, near-duplicates,
heuristic failures), its sections and plots, the select reason broken down by heuristic rule, skipped WARC records
kept out of the documents, and the page rendered in headless Chromium without console errors."""
import datetime as dt
import json
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curation.cli.app import app
from curation.pipeline.runner import Runner
from curation.pipeline.spec import load_spec
from curation.sample.warc_file import Exchange, WarcFile

PROSE = ("The committee met on Tuesday to review the annual budget and agreed that the library should extend "
         "its opening hours during the winter months, when students need a warm and quiet place to work. ")
SPEC = """
out: {out}
inputs:
  - {{format: warc, path: "{inp}/*.warc.gz", source: web}}
  - {{format: jsonl, path: "{inp}/*.jsonl"}}
stages:
  ingest: {{}}
  langid: {{}}
  minhash: {{threshold: 0.8}}
  heuristics:
    rules: {{gopher_quality: {{}}}}
  select:
    rules:
      - {{keep_if: "dup_of IS NULL", reason: near_duplicate}}
      - {{keep_if: "size(heuristic_fails) = 0", reason: heuristics}}
"""


def _inputs(d: Path) -> None:
    warc = WarcFile("crawl.warc.gz", random.Random(0), dt.datetime(2024, 1, 1))
    for i in range(6):
        body = f"<html><body><article><p>{PROSE * 3} Page {i}.</p></article></body></html>".encode()
        warc.add(Exchange(f"http://example.org/{i}", 200, "text/html", body))
    (d / "crawl.warc.gz").write_bytes(warc.data())
    rows = [{"id": f"w{i}", "source": "wiki", "text": f"{PROSE * 4} Article number {i} of the wiki."}
            for i in range(12)]
    rows += [{"id": f"f{i}", "source": "forum", "text": f"thanks {i} ok"} for i in range(5)]  # too short: heuristics
    rows += [{"id": "dup", "source": "forum", "text": rows[0]["text"]}]
    (d / "docs.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")


@pytest.fixture(scope="module")
def run_dir(spark, tmp_path_factory):
    base = tmp_path_factory.mktemp("report")
    (base / "in").mkdir()
    _inputs(base / "in")
    spec_path = base / "spec.yaml"
    spec_path.write_text(SPEC.format(out=base / "run", inp=base / "in"))
    Runner(load_spec(spec_path), spark, log=lambda m: None).run()
    result = CliRunner().invoke(app, ["report", str(base / "run")])
    assert result.exit_code == 0, result.output
    return base / "run"


def test_report_holds_every_section_with_its_plot(run_dir):
    page = (run_dir / "report.html").read_text()
    for heading in ("Where the products are", "Funnel", "Rejection reasons", "Per source", "Languages",
                    "Duplicate clusters", "Stage timings"):
        assert f"<h2>{heading}</h2>" in page
    images = re.findall(r'<img class="plot" alt="([^"]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert {alt for alt, _ in images} >= {"documents funnel", "characters funnel", "rejection reasons",
                                          "per-source breakdown", "language distribution", "duplicate clusters",
                                          "stage timings"}
    assert all(len(b64) > 2000 for _, b64 in images)
    assert not re.search(r'(src|href)="(https?:)?//', page)  # self-contained: nothing fetched
    assert f"{run_dir}/select/" in page and "ledger.json" in page


def test_select_reason_names_the_failing_heuristic_rule(run_dir):
    stats = json.loads((run_dir / "select" / "stats.json").read_text())
    assert stats["reasons"]["heuristics"] == 5
    assert stats["extra"]["heuristic_fails"]["heuristics"]["gopher_quality.min_words"] == 5
    page = (run_dir / "report.html").read_text()
    assert "failed rule gopher_quality.min_words" in page


def test_warc_request_records_are_skipped_records_not_documents(run_dir):
    ledger = json.loads((run_dir / "ledger.json").read_text())
    skipped = sum(n for r, n in ledger["stages"][0]["reasons"].items() if r.startswith("skipped"))
    assert skipped == 7  # a request record per fetched page and the warcinfo record
    page = (run_dir / "report.html").read_text()
    documents_in = 6 + 18
    assert f"<div class=card><b>{documents_in}</b>documents in</div>" in page
    assert f"<div class=card><b>{skipped}</b>skipped records</div>" in page
    # the per-source table counts documents only: 6 web pages, 12 wiki articles, 6 forum posts
    assert re.search(r"<td>web</td><td class=n>6</td>", page)
    assert re.search(r"<td>wiki</td><td class=n>12</td>", page)


def test_report_renders_in_headless_chromium_with_its_plots(run_dir, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is missing: `make setup` installs it (Debian package chromium)"
    page = (run_dir / "report.html").read_text()
    # a probe, added to a copy: the number of images the browser decoded, written into the DOM it dumps
    probe = ("<script>window.addEventListener('load',()=>{const ok=[...document.images].filter(i=>i.complete&&"
             "i.naturalWidth>100).length;document.body.setAttribute('data-decoded',ok);});</script></body>")
    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("</body>", probe))
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'ud'}",
           "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", "--dump-dom", probed.as_uri()]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    console = [line for line in res.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert not console, console
    n_images = page.count('<img class="plot"')
    assert f'data-decoded="{n_images}"' in res.stdout
    shot = tmp_path / "shot.png"
    subprocess.run([*cmd[:-2], f"--screenshot={shot}", "--window-size=1280,2000", (run_dir / "report.html").as_uri()],
                   capture_output=True, timeout=120)
    assert shot.stat().st_size > 50_000  # a page with pictures, not a blank one
