"""pipelines/clean.yaml end to end on the shared Common Crawl documents plus a few crafted ones: opted-out domains
never reach the output, every document carries its license, line dedup removes what recurs (and reports it), a
planted evaluation passage is flagged and dropped, PII is masked and counted."""
import gzip
import json

import pyarrow.parquet as pq
import pytest

from curation.clean.consent import split_url
from curation.clean.lines import split_units, unit_key
from curation.clean.pii import PII_TYPES, find_pii
from curation.pipeline.runner import Runner
from curation.pipeline.spec import InputSpec, load_spec
from tests.paths import REPO, shared_path

OPTED_OUT_HOSTS = ("wikipedia.org", "pastebin.com")


def planted_passage() -> str:
    with gzip.open(shared_path("web", "quality", "dclm_human_labels.jsonl.gz"), "rt", encoding="utf-8") as fh:
        text = json.loads(fh.readline())["text"]
    return " ".join(text.split()[:60])


@pytest.fixture(scope="module")
def clean_run(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("clean")
    crafted = [
        {"id": "crafted-gpl", "text": "Some GPL code.", "license": "GPL-3.0", "url": "https://code.example.net/a"},
        {"id": "crafted-wiki", "text": "An article.", "license": "CC-BY-SA-3.0 (Wikipedia)",
         "url": "https://en.wikipedia.org/wiki/X"},
        {"id": "crafted-contaminated", "text": "Intro.\n\n" + planted_passage() + "\n\nOutro.",
         "url": "https://blog.example.org/1"},
        {"id": "crafted-pii", "text": "Write to jane.doe@example.org or call (212) 555-0199.",
         "license": "CC-BY-4.0 (PLOS)", "url": "https://journals.example.org/2"},
        {"id": "crafted-no-license", "text": "A record without a license field.", "url": "https://a.example.org/3"},
    ]
    (root / "crafted.jsonl").write_text("".join(json.dumps(r) + "\n" for r in crafted))
    spec = load_spec(REPO / "pipelines" / "clean.yaml", [f"out={root / 'run'}"])
    spec.inputs.append(InputSpec(format="jsonl", path=str(root / "crafted.jsonl"), source="crafted",
                                 options={"license": "CC0-1.0"}))  # for the records without a license field
    Runner(spec, spark, log=lambda m: None).run()
    return root / "run"


def rows(folder):
    files = sorted(folder.glob("*.parquet"))
    return pq.read_table(files).to_pylist() if files else []


def stats(run, stage):
    return json.loads((run / stage / "stats.json").read_text())["extra"][stage]


def test_opted_out_domains_never_reach_the_output(clean_run):
    ledger = json.loads((clean_run / "ledger.json").read_text())
    assert ledger["reconciled"]
    kept = rows(clean_run / "select")
    assert kept and all(r["license"] for r in kept)
    for r in kept:
        host, path = split_url(r["url"])
        assert not host.endswith(OPTED_OUT_HOSTS) and not (host == "developers.google.com"
                                                           and path.startswith("/android/"))
    rejected = rows(clean_run / "rejected" / "consent")
    reasons = {}
    for r in rejected:
        reasons[r["reason"]] = reasons.get(r["reason"], 0) + 1
    assert reasons["consent: opted out (wikipedia.org)"] == 82  # 81 crawled pages and the crafted one
    assert reasons["consent: opted out (developers.google.com/android/)"] == 3
    assert reasons["license: GPL-3.0 not allowed"] == 1
    assert stats(clean_run, "consent")["opted_out"]["wikipedia.org"] == 82


def test_every_document_keeps_license_and_provenance(clean_run):
    kept = {r["id"]: r for r in rows(clean_run / "select")}
    assert kept["crafted-pii"]["license"] == "CC-BY-4.0 (PLOS)"  # the record's own
    assert kept["crafted-no-license"]["license"] == "CC0-1.0"  # the input's options.license
    web = [r for r in kept.values() if r["source"] == "web"]
    assert len(web) > 500 and {r["license"] for r in web} == {"Common Crawl terms of use"}
    assert all(r["url"] for r in web)  # filled from the records' metadata.url when the top level has none


def test_line_dedup_removes_lines_that_recur_and_lists_them(clean_run):
    def lines(text):
        return {unit_key(u) for u in split_units(text, "line")[::2]}

    before = {r["id"]: lines(r["text"]) for r in rows(clean_run / "consent")}
    after = {r["id"]: lines(r["text"]) for r in rows(clean_run / "line_dedup")}
    s = stats(clean_run, "line_dedup")
    top = s["top_removed"]
    assert len(top) == 20 and [t["removed_from"] for t in top] == sorted((t["removed_from"] for t in top),
                                                                       reverse=True)
    for t in top:  # the count is the number of documents holding the line; none of them holds it any more
        holders = [i for i, held in before.items() if t["line"] in held]
        assert len(holders) == t["documents"] > 5
        assert not any(t["line"] in after[i] for i in holders)
    assert s["units_removed"] >= sum(t["removed_from"] for t in top)


def test_planted_evaluation_passage_is_flagged_and_dropped(clean_run):
    s = stats(clean_run, "decontaminate")
    assert s["benchmarks"]["dclm_labels"]["documents_matched"] == 1 == s["documents_contaminated"]
    dropped = rows(clean_run / "rejected" / "select")
    assert [r["id"] for r in dropped if r["contaminated"]] == ["crafted-contaminated"]
    assert dropped[[r["id"] for r in dropped].index("crafted-contaminated")]["contam_matches"][0][0] == "dclm_labels"


def test_pii_masked_and_counted(clean_run):
    kept = {r["id"]: r for r in rows(clean_run / "pii")}
    assert kept["crafted-pii"]["text"] == "Write to <EMAIL> or call <PHONE>."
    before = rows(clean_run / "decontaminate")
    expected = dict.fromkeys(PII_TYPES, 0)
    for r in before:
        for _, _, kind in find_pii(r["text"]):
            expected[kind] += 1
    s = stats(clean_run, "pii")
    assert s["masked"] == expected and expected["email"] > 20 and expected["phone"] > 10
    assert sum(kept[r["id"]]["pii_counts"][k] for r in before for k in PII_TYPES) == sum(expected.values())
