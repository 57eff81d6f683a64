"""PII detection: ours (curation.clean.pii) vs presidio-analyzer's recognizers without an NLP engine.

Both run the same crafted cases (every type, plus near-misses that must stay: dates, versions, ISBNs, order numbers,
Luhn failures, private IPs) and the 717 real web documents of ../shared/data/web/jsonl for speed (docs/CPU-s, one
core). Presidio runs in its own virtualenv (it pulls spaCy; no model is loaded, none downloaded):

    python3 -m venv /tmp/presidio-venv && /tmp/presidio-venv/bin/pip install "presidio-analyzer==2.2.*"
    .venv/bin/python benchmarks/bench_pii.py --presidio-python /tmp/presidio-venv/bin/python

Scoring: a detected span is right when it covers an expected span of the same type; everything else it reports is
a false positive; an expected span nobody covers is a miss.
"""
from __future__ import annotations

import argparse
import gzip
import glob
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEB = os.path.join(REPO, "..", "shared", "data", "web", "jsonl", "*.jsonl.gz")

# (text, [(type, the exact span expected)]); an empty list is a near-miss that must not be masked
CASES = [
    ("Write to jane.doe@example.org for details.", [("email", "jane.doe@example.org")]),
    ("Contact: first+tag@mail.example.co.uk", [("email", "first+tag@mail.example.co.uk")]),
    ("Call us at (212) 555-0199 today.", [("phone", "(212) 555-0199")]),
    ("Phone: +44 20 7946 0958", [("phone", "+44 20 7946 0958")]),
    ("Tel. 030 12345678 (Berlin office)", [("phone", "030 12345678")]),
    ("Toll free 1-800-555-0123.", [("phone", "1-800-555-0123")]),
    ("mob. +420 777 098 098", [("phone", "+420 777 098 098")]),
    ("Server at 8.8.4.4 answered.", [("ip", "8.8.4.4")]),
    ("The host 2001:4860:4860::8888 is public.", [("ip", "2001:4860:4860::8888")]),
    ("Paid with 4111 1111 1111 1111 yesterday.", [("card", "4111 1111 1111 1111")]),
    ("Amex 3782 822463 10005 on file.", [("card", "3782 822463 10005")]),
    ("Card: 5555-5555-5555-4444", [("card", "5555-5555-5555-4444")]),
    ("IBAN DE89 3704 0044 0532 0130 00 please.", [("iban", "DE89 3704 0044 0532 0130 00")]),
    ("Account GB82WEST12345698765432.", [("iban", "GB82WEST12345698765432")]),
    ("FR14 2004 1010 0505 0001 3M02 606 is ours", [("iban", "FR14 2004 1010 0505 0001 3M02 606")]),
    # near-misses
    ("Released on 2019-07-17 at 10:32.", []),
    ("Deadline 17/07/2019, then 07.08.2020.", []),
    ("Upgrade to version 1.2.3.4 now.", []),
    ("Build v10.0.0.1 fixes it.", []),
    ("ISBN 978-3-16-148410-0 (hardcover)", []),
    ("ISBN 0-306-40615-2", []),
    ("Order #123456789012 shipped.", []),
    ("Invoice no. 2019-0042-7781 is due.", []),
    ("Reference 555-123-4567-89 in the letter.", []),
    ("Card number 4111 1111 1111 1112 fails Luhn.", []),
    ("Number 1234 5678 9012 3456 is random.", []),
    ("Private 192.168.1.20 and 10.0.0.1 and 127.0.0.1.", []),
    ("IBAN DE89 3704 0044 0532 0130 01 has a bad checksum.", []),
    ("Population 1,234,567 in 2020; pi is 3.14159265.", []),
    ("Pages 1001 1002 1003 1004 1005 1006 1007", []),
    ("ISSN 0071-0822, 311 p.", []),
    ("The logo@2x.png file.", []),
    ("Coordinates 40.7128, -74.0060 mark the spot.", []),
    ("Product SKU 8801234567890 in stock.", []),
    ("Time 22/04/2019 02:22:05 posted.", []),
]


def web_texts() -> list[str]:
    texts = []
    for path in sorted(glob.glob(WEB)):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            texts.extend(json.loads(line)["text"] for line in fh if line.strip())
    return texts


def detector(engine: str):
    """A function text -> [(start, end, type)]."""
    if engine == "ours":
        sys.path.insert(0, REPO)
        from curation.clean.pii import find_pii

        return find_pii
    from presidio_analyzer.predefined_recognizers import (CreditCardRecognizer, EmailRecognizer, IbanRecognizer,
                                                          IpRecognizer, PhoneRecognizer)

    kinds = {"EMAIL_ADDRESS": "email", "PHONE_NUMBER": "phone", "IP_ADDRESS": "ip", "CREDIT_CARD": "card",
             "IBAN_CODE": "iban"}
    recognizers = [EmailRecognizer(), PhoneRecognizer(), IpRecognizer(), CreditCardRecognizer(), IbanRecognizer()]

    def find(text):
        out = []
        for r in recognizers:
            for res in r.analyze(text, r.supported_entities, None):
                if res.score > 0:
                    out.append((res.start, res.end, kinds[res.entity_type]))
        return sorted(set(out))

    return find


def run_engine(engine: str) -> dict:
    find = detector(engine)
    right = wrong = missed = near_miss_flagged = 0
    details = []
    for text, expected in CASES:
        spans = find(text)
        want = [(text.index(s), text.index(s) + len(s), k) for k, s in expected]
        for s, e, k in spans:
            if any(k == wk and s <= ws and e >= we for ws, we, wk in want):
                right += 1
            else:
                wrong += 1
                details.append(f"false positive {k}: {text[s:e]!r} in {text!r}")
        for ws, we, wk in want:
            if not any(k == wk and s <= ws and e >= we for s, e, k in spans):
                missed += 1
                details.append(f"missed {wk}: {text[ws:we]!r}")
        near_miss_flagged += int(not expected and bool(spans))
    texts = web_texts()
    start = time.process_time()
    found = sum(len(find(t)) for t in texts)
    cpu = time.process_time() - start
    return {"engine": engine, "precision": right / max(1, right + wrong), "recall": right / max(1, right + missed),
            "near_misses_flagged": near_miss_flagged, "near_misses": sum(1 for _, e in CASES if not e),
            "docs": len(texts), "spans_on_web": found, "docs_per_cpu_s": len(texts) / cpu, "details": details}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", choices=["ours", "presidio"], help="run one engine here and print JSON")
    ap.add_argument("--presidio-python", help="python of a virtualenv with presidio-analyzer")
    ap.add_argument("--out", default=os.path.join(REPO, "benchmarks", "results", "pii.json"))
    args = ap.parse_args()
    if args.engine:
        print(json.dumps(run_engine(args.engine)))
        return
    results = [run_engine("ours")]
    if args.presidio_python:
        done = subprocess.run([args.presidio_python, os.path.abspath(__file__), "--engine", "presidio"],
                              capture_output=True, text=True, check=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    for r in results:
        print(f"{r['engine']:9s} precision {r['precision']:.3f} recall {r['recall']:.3f} near-misses flagged "
              f"{r['near_misses_flagged']}/{r['near_misses']}  {r['docs_per_cpu_s']:.0f} docs/CPU-s "
              f"({r['spans_on_web']} spans on {r['docs']} web docs)")
        for d in r["details"]:
            print("   ", d)
    with open(args.out, "w") as fh:
        json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
