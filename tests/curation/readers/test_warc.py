"""WARC / WET reader: every record accounted for on the shared crawl files; broken inputs become error rows."""
import gzip
import os
import uuid
from collections import Counter

from curation.pipeline.spec import InputSpec
from curation.readers.warc import read_warc, warc_records
from tests.paths import shared_path

PAGE = ("<html><head><title>Käse</title></head><body><nav>Home | About | Contact</nav><article><h1>Über Käse</h1>"
        "<p>Käse ist ein festes Lebensmittel, das aus Milch gewonnen wird. Die Herstellung von Käse ist eine der "
        "ältesten Methoden, um Milch haltbar zu machen, und überall auf der Welt gibt es regionale Sorten.</p>"
        "</article></body></html>")


def warc_record(warc_type: str, block: bytes, uri: str = "http://example.com/", content_type: str | None = None,
                ) -> bytes:
    content_type = content_type or {"response": "application/http; msgtype=response",
                                    "request": "application/http; msgtype=request",
                                    "conversion": "text/plain"}.get(warc_type, "application/octet-stream")
    head = (f"WARC/1.0\r\nWARC-Type: {warc_type}\r\nWARC-Record-ID: <urn:uuid:{uuid.uuid4()}>\r\n"
            f"WARC-Date: 2024-05-01T10:00:00Z\r\nWARC-Target-URI: {uri}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(block)}\r\n\r\n")
    return head.encode() + block + b"\r\n\r\n"


def http_response(body: bytes, content_type: str = "text/html; charset=utf-8", status: str = "200 OK") -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def write_gz_warc(path, records: list[bytes]) -> None:
    path.write_bytes(b"".join(gzip.compress(r) for r in records))  # one gzip member per record, as crawlers do


def reasons(rows) -> list:
    return [r["reason"] for r in rows]


def test_html_response_becomes_document_with_provenance(tmp_path):
    p = tmp_path / "ok.warc.gz"
    write_gz_warc(p, [warc_record("warcinfo", b"software: test\r\n", content_type="application/warc-fields"),
                      warc_record("request", b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"),
                      warc_record("response", http_response(PAGE.encode()), uri="http://example.com/kaese")])
    rows = list(warc_records(str(p), {"extractor": "resiliparse"}))
    assert reasons(rows) == ["skipped: warcinfo record", "skipped: request record", None]
    doc = rows[2]
    assert "ältesten Methoden" in doc["text"] and "Home | About" not in doc["text"]
    assert doc["url"] == "http://example.com/kaese" and doc["format"] == "html"
    assert doc["id"] == f"ok.warc.gz@{doc['meta']['record_offset']}"
    assert doc["meta"]["warc_record_id"].startswith("urn:uuid:")
    meta = doc["meta"]
    assert meta["http_status"] == 200 and meta["content_type"] == "text/html" and meta["charset"] == "utf-8"
    assert meta["warc_date"] == "2024-05-01T10:00:00Z" and meta["title"] == "Käse"
    assert meta["extractor"] == "resiliparse" and meta["source_path"] == str(p)
    assert [r["meta"]["record_offset"] for r in rows] == sorted(r["meta"]["record_offset"] for r in rows)


def test_wrong_and_missing_charsets_are_detected(tmp_path):
    p = tmp_path / "charsets.warc"
    latin1 = PAGE.encode("cp1252")
    p.write_bytes(warc_record("response", http_response(latin1, "text/html; charset=utf-8"))  # header lies
                  + warc_record("response", http_response(latin1, "text/html")))  # no charset at all
    rows = list(warc_records(str(p), {"extractor": "resiliparse"}))
    for r in rows:
        assert r["reason"] is None and "Über Käse" in r["text"] and "\ufffd" not in r["text"]
        assert r["meta"]["charset"] in ("cp1252", "iso8859-1", "iso8859-15")


def test_non_html_non_2xx_binary_and_oversized_records(tmp_path):
    p = tmp_path / "mixed.warc"
    p.write_bytes(warc_record("response", http_response(b"\x89PNG\r\n\x1a\n" + bytes(300), "image/png"))
                  + warc_record("response", http_response(PAGE.encode(), status="404 Not Found"))
                  + warc_record("response", http_response(b"\x00\x01\x02" * 100 + b"<html>", "text/html"))
                  + warc_record("response", http_response(PAGE.encode() * 50))
                  + warc_record("metadata", b"via: x\r\n", content_type="application/warc-fields"))
    rows = list(warc_records(str(p), {"extractor": "resiliparse", "max_payload_bytes": 10_000}))
    got = reasons(rows)
    assert got[0] == "skipped: not HTML (image/png)"
    assert got[1] == "skipped: HTTP status 404"
    assert got[2].startswith("error: mixed.warc@") and "binary payload" in got[2]
    assert got[3].startswith("error: mixed.warc@") and "larger than max_payload_bytes" in got[3]
    assert got[4] == "skipped: metadata record"
    assert str(rows[3]["meta"]["record_offset"]) in got[3]


def test_wet_conversion_records_become_text_documents(tmp_path):
    p = tmp_path / "x.warc.wet.gz"
    write_gz_warc(p, [warc_record("warcinfo", b"software: test\r\n", content_type="application/warc-fields"),
                      warc_record("conversion", "Plain text of a page.\nSecond line é.".encode(),
                                  uri="https://example.org/a"),
                      warc_record("conversion", b"  \n", uri="https://example.org/empty")])
    rows = list(warc_records(str(p), {}))
    assert reasons(rows) == ["skipped: warcinfo record", None, "skipped: empty conversion record"]
    assert rows[1]["text"] == "Plain text of a page.\nSecond line é." and rows[1]["format"] == "wet"
    assert rows[1]["url"] == "https://example.org/a" and rows[1]["meta"]["warc_type"] == "conversion"


def test_broken_files_become_error_rows_naming_them(tmp_path):
    good = warc_record("response", http_response(PAGE.encode()))
    (tmp_path / "empty.warc.gz").write_bytes(b"")
    (tmp_path / "garbage.warc").write_bytes(os.urandom(2048))
    whole = gzip.compress(good * 3)
    (tmp_path / "truncated.warc.gz").write_bytes(whole[: len(whole) // 2])
    members = b"".join(gzip.compress(r) for r in [good, good])
    (tmp_path / "cut-member.warc.gz").write_bytes(members[:-40])
    for name in ("empty.warc.gz", "garbage.warc", "truncated.warc.gz"):
        rows = list(warc_records(str(tmp_path / name), {}))
        assert len(rows) == 1 and rows[0]["reason"].startswith(f"error: {name}"), rows
    rows = list(warc_records(str(tmp_path / "cut-member.warc.gz"), {"extractor": "resiliparse"}))
    assert rows[0]["reason"] is None
    assert rows[-1]["reason"].startswith("error: cut-member.warc.gz"), reasons(rows)


def _expected_rows(path: str) -> tuple[int, bool]:
    """Records fastwarc can read in a file, and whether reading it fails (independent of the reader)."""
    from fastwarc.warc import ArchiveIterator

    n = 0
    try:
        for _ in ArchiveIterator(path, parse_http=False):
            n += 1
    except OSError:
        return n, True
    return n, n == 0


def test_shared_warc_files_every_record_accounted_for(spark):
    """Spark ingest over all shared crawl files: rows reconcile with the records in each file; broken files
    (ARC, truncated) are error rows naming them; the job does not fail."""
    warc_dir = shared_path("web", "warc")
    df = read_warc(spark, InputSpec(format="warc", path=str(warc_dir), source="web",
                                    options={"extractor": "resiliparse"}))
    rows = df.select("id", "text", "format", "reason", "meta.source_path", "meta.warc_type").collect()
    per_file = Counter(r["source_path"] for r in rows)
    for path in sorted(per_file):
        n, broken = _expected_rows(path)
        # past damage the reader resumes at the next record fastwarc alone does not reach
        assert per_file[path] == n + broken if not broken else per_file[path] >= n + broken, \
            (path, per_file[path], n, broken)
    docs = [r for r in rows if r["reason"] is None]
    skipped = [r for r in rows if r["reason"] and r["reason"].startswith("skipped: ")]
    errors = [r for r in rows if r["reason"] and r["reason"].startswith("error: ")]
    assert len(docs) + len(skipped) + len(errors) == len(rows) == sum(per_file.values())
    assert len(per_file) == len(os.listdir(warc_dir))
    assert len(docs) >= 120 and all(r["text"] and r["format"] == "html" for r in docs)
    assert len({r["id"] for r in rows}) == len(rows)
    named = " ".join(r["reason"] for r in errors)
    for broken in ("warcio__example-trunc.warc", "warcio__example.arc.gz",
                   "ukwa__IAH-20080430204825-00000-blackbook-truncated.arc.gz"):
        assert broken in named
    kinds = Counter(r["reason"] for r in skipped)
    assert kinds["skipped: request record"] > 100 and kinds["skipped: HTTP status 404"] >= 2


def test_same_crawl_gives_the_same_bytes_and_timings_only_when_asked(spark, tmp_path):
    """Extraction CPU time differs from run to run, so ``meta.extract_seconds`` stays null unless the input asks
    for it (``timings: true``): two ingests of the same crawl write byte-identical Parquet."""
    from curation.pipeline.runner import Runner
    from curation.pipeline.spec import load_spec
    from curation.pipeline.storage import read_parquet

    p = tmp_path / "crawl.warc.gz"
    write_gz_warc(p, [warc_record("response", http_response(PAGE.encode()), uri=f"http://example.com/{i}")
                      for i in range(20)])
    outputs = []
    for run, options in (("a", "{}"), ("b", "{}"), ("timed", "{timings: true}")):
        spec = tmp_path / f"{run}.yaml"
        spec.write_text(f"out: {tmp_path / run}\ninputs:\n  - {{format: warc, path: \"{p}\", options: {options}}}\n"
                        "stages:\n  ingest: {}\n")
        Runner(load_spec(spec), spark, log=lambda m: None).run()
        outputs.append(tmp_path / run / "ingest")
    a, b, timed = ([f.read_bytes() for f in sorted(d.glob("*.parquet"))] for d in outputs)
    assert a and a == b
    seconds = [r[0] for r in read_parquet(spark, str(outputs[0])).select("meta.extract_seconds").collect()]
    assert len(seconds) == 20 and set(seconds) == {None}
    seconds = [r[0] for r in read_parquet(spark, str(outputs[2])).select("meta.extract_seconds").collect()]
    assert len(seconds) == 20 and all(s is not None and s >= 0 for s in seconds)
    assert timed != a
