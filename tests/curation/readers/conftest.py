"""The bad-input set of the hardening tests (and of benchmarks/bench_bad_inputs.py), generated on the fly: every
broken input sits beside good documents, and every good document carries a ``GOOD-<n>`` marker so a test can check
that each one is kept."""
from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import uuid
import zlib
from pathlib import Path

import pyarrow as pa
import pytest
import pyarrow.parquet as pq
import zstandard

BOMB_GIB = 10


class Goods:
    """Hands out good documents with unique markers and remembers them."""

    def __init__(self):
        self.markers: list[str] = []

    def text(self, words: int = 40) -> str:
        marker = f"GOOD-{len(self.markers)}"
        self.markers.append(marker)
        return f"{marker} " + " ".join(f"word{(i * 7) % 97} of a plain useful sentence." for i in range(words))

    def lines(self, n: int, **fields) -> str:
        return "".join(json.dumps({"text": self.text(), **fields}) + "\n" for _ in range(n))


def zero_bomb(path: Path, gib: int, kind: str, head: bytes = b"") -> None:
    """``head`` then ``gib`` GiB of zeros, written as repeated copies of one compressed 16 MiB block (gzip members,
    zstd frames, bz2 and xz streams may all follow one another), so it takes well under a second per GiB."""
    block = 16 << 20
    if kind == "gz":
        c = zlib.compressobj(9, zlib.DEFLATED, 31)
        member = c.compress(b"\0" * block) + c.flush()
        first = gzip.compress(head)
    else:
        comp = {"zst": lambda b: zstandard.ZstdCompressor(level=3).compress(b), "bz2": bz2.compress,
                "xz": lzma.compress}[kind]
        member, first = comp(b"\0" * block), comp(head)
    with open(path, "wb") as fh:
        fh.write(first)
        for _ in range((gib << 30) // block):
            fh.write(member)


def warc_record(warc_type: str, block: bytes, uri: str = "http://example.com/", content_type: str | None = None,
                length: int | None = None) -> bytes:
    content_type = content_type or ("application/http; msgtype=response" if warc_type == "response" else
                                    "application/warc-fields")
    head = (f"WARC/1.0\r\nWARC-Type: {warc_type}\r\nWARC-Record-ID: <urn:uuid:{uuid.UUID(int=len(block))}>\r\n"
            f"WARC-Date: 2024-05-01T10:00:00Z\r\nWARC-Target-URI: {uri}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(block) if length is None else length}\r\n\r\n")
    return head.encode() + block + b"\r\n\r\n"


def page(goods: Goods | None, body: str | None = None) -> str:
    body = body if body is not None else f"<article><h1>Title</h1><p>{goods.text()}</p></article>"
    return f"<html><head><title>t</title></head><body><nav>Home | About</nav>{body}</body></html>"


def response(html: bytes, uri: str, content_type: str = "text/html; charset=utf-8", length: int | None = None) -> bytes:
    http = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(html)}\r\n\r\n".encode() + html
    return warc_record("response", http, uri=uri, length=length)


def good_responses(goods: Goods, n: int, tag: str) -> list[bytes]:
    return [response(page(goods).encode(), f"http://example.com/{tag}/{i}") for i in range(n)]


def write_good_inputs(root: Path, goods: Goods) -> None:
    """The good half: JSONL in every compression (two folders holding part-00000.jsonl without ids), a WARC, a
    Parquet file and a PDF."""
    for sub in ("a", "b"):
        (root / "jsonl" / sub).mkdir(parents=True, exist_ok=True)
        (root / "jsonl" / sub / "part-00000.jsonl").write_text(goods.lines(20))
    (root / "jsonl" / "good.jsonl.gz").write_bytes(gzip.compress(goods.lines(20).encode()))
    (root / "jsonl" / "good.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(goods.lines(20).encode()))
    (root / "jsonl" / "good.jsonl.bz2").write_bytes(bz2.compress(goods.lines(20).encode()))
    (root / "jsonl" / "good.jsonl.xz").write_bytes(lzma.compress(goods.lines(20).encode()))
    (root / "warc").mkdir(parents=True, exist_ok=True)
    (root / "warc" / "good.warc.gz").write_bytes(b"".join(gzip.compress(r) for r in good_responses(goods, 5, "g")))
    (root / "parquet").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"id": [f"pq-{i}" for i in range(10)], "text": [goods.text() for _ in range(10)]}),
                   root / "parquet" / "good.parquet")
    (root / "pdf").mkdir(parents=True, exist_ok=True)
    write_pdf(root / "pdf" / "good.pdf", [goods.text(20), goods.text(20)])


def write_pdf(path: Path, pages: list[str]) -> None:
    import pymupdf

    doc = pymupdf.open()
    for text in pages:
        p = doc.new_page()
        if text:
            p.insert_textbox(pymupdf.Rect(50, 50, 550, 800), text, fontsize=11)
    doc.save(path)


def write_bad_inputs(root: Path, goods: Goods, bomb_gib: int = BOMB_GIB) -> dict[str, str]:
    """The bad half, each beside good documents; returns ``file name -> text its error row must contain``."""
    expect: dict[str, str] = {}
    j = root / "jsonl" / "bad"
    j.mkdir(parents=True, exist_ok=True)
    # 2: a lone surrogate is valid JSON
    (j / "surrogate.jsonl").write_text(goods.lines(3) + '{"text": "bad \\ud800 text"}\n' + goods.lines(3))
    expect["surrogate.jsonl"] = "invalid Unicode"
    # 3: decompression bombs in every format, after good lines; a line longer than max_doc_bytes
    for kind in ("gz", "zst", "bz2", "xz"):
        zero_bomb(j / f"bomb.jsonl.{kind}", bomb_gib if kind == "gz" else 1, kind, goods.lines(5).encode())
        expect[f"bomb.jsonl.{kind}"] = "decompression ratio above max_ratio"
    (j / "long-line.jsonl").write_text(goods.lines(2) + json.dumps({"text": "x" * (3 << 20)}) + "\n" + goods.lines(2))
    expect["long-line.jsonl"] = "document larger than max_doc_bytes"
    # 4: a repeated explicit id
    (j / "dup-ids.jsonl").write_text(json.dumps({"id": "same", "text": goods.text()}) + "\n"
                                     + json.dumps({"id": "same", "text": "a different document"}) + "\n")
    expect["dup-ids.jsonl"] = "duplicate id 'same' (first at line 1)"
    # 5: record sources that would be paths
    (j / "unsafe-source.jsonl").write_text(goods.lines(2) + json.dumps({"text": "up", "source": ".."}) + "\n"
                                           + json.dumps({"text": "here", "source": "."}) + "\n")
    expect["unsafe-source.jsonl"] = "unsafe source name '..'"
    # 8: truncated and corrupt gzip (members of 5 lines, as a multi-member writer makes them), a 100,000-deep line
    def member(good: bool) -> bytes:  # the lines of a damaged member are not GOOD: they are lost with it
        lines = goods.lines(5) if good else "".join(json.dumps({"text": f"LOST {i}"}) + "\n" for i in range(5))
        return gzip.compress(lines.encode())

    cut = b"".join([member(True) for _ in range(3)]) + member(False)
    (j / "truncated.jsonl.gz").write_bytes(cut[:-20])
    damaged = bytearray(member(False))
    damaged[20:60] = b"\xff" * 40
    (j / "corrupt.jsonl.gz").write_bytes(member(True) + member(True) + bytes(damaged) + member(True))
    expect["truncated.jsonl.gz"] = "truncated gz stream"
    expect["corrupt.jsonl.gz"] = "damaged gzip data"
    (j / "deep.jsonl").write_text(goods.lines(2) + "[" * 100_000 + "]" * 100_000 + "\n" + goods.lines(2))
    expect["deep.jsonl"] = "nested too deep"
    # 6, 9, 12: WARC damage and hard pages, each file with good records around the bad one
    w = root / "warc" / "bad"
    w.mkdir(parents=True, exist_ok=True)
    deep = page(None, "<div>" * 20_000 + "deep text" + "</div>" * 20_000).encode()
    (w / "deep.warc.gz").write_bytes(b"".join(gzip.compress(r) for r in [
        *good_responses(goods, 1, "d1"), response(deep, "http://example.com/deep"), *good_responses(goods, 1, "d2")]))
    expect["deep.warc.gz"] = "HTML nested 20000 deep"
    recs = good_responses(goods, 3, "t")
    (w / "truncated.warc").write_bytes(b"".join(recs) + response(page(None, "<p>cut</p>").encode(), "u:cut")[:-40])
    expect["truncated.warc"] = "truncated record"
    lying = response(page(None, "<p>lying length</p>").encode(), "u:lie", length=5000)
    (w / "content-length.warc").write_bytes(b"".join([*good_responses(goods, 1, "c1"), lying,
                                                      *good_responses(goods, 2, "c2")]))
    expect["content-length.warc"] = "Content-Length runs into the next WARC record"
    members = [gzip.compress(r) for r in good_responses(goods, 2, "m1")]
    broken = bytearray(gzip.compress(response(page(None, "<p>lost member</p>").encode(), "u:lost")))
    broken[30:70] = b"\x00" * 40
    members += [bytes(broken)] + [gzip.compress(r) for r in good_responses(goods, 2, "m2")]
    (w / "damaged-member.warc.gz").write_bytes(b"".join(members))
    expect["damaged-member.warc.gz"] = "reading resumes at offset"
    utf8 = page(goods).replace("</p>", " Grüße aus Köln, schöne Straße, Äpfel, Öl.</p>").encode()
    utf8 = utf8.replace("Köln".encode(), b"K\xf6ln", 1)  # one invalid byte in a UTF-8 page
    boms = [response(b"\xff\xfe" + page(goods).encode("utf-16-le"), "u:16", "text/html"),
            response(b"\xff\xfe\x00\x00" + page(goods).encode("utf-32-le"), "u:32", "text/html"),
            response(utf8, "u:8")]
    (w / "charsets.warc.gz").write_bytes(b"".join(gzip.compress(r) for r in boms))
    # 7: Parquet files Spark cannot read, beside good ones (one of them with an int64 id)
    p = root / "parquet"
    p.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"id": list(range(5)), "text": [goods.text() for _ in range(5)]}), p / "int-ids.parquet")
    pq.write_table(pa.table({"text": list(range(5))}), p / "int-text.parquet")
    expect["int-text.parquet"] = "column 'text' has type int64, not string"
    pq.write_table(pa.table({"text": [b"\xff\xfe"] * 5}), p / "binary-text.parquet")
    expect["binary-text.parquet"] = "column 'text' has type binary, not string"
    pq.write_table(pa.table({"body": ["no text column"]}), p / "no-text.parquet")
    expect["no-text.parquet"] = "no 'text' column"
    (p / "random.parquet").write_bytes(os.urandom(4096))
    expect["random.parquet"] = "not a readable Parquet file"
    (p / "empty.parquet").write_bytes(b"")
    expect["empty.parquet"] = "not a readable Parquet file"
    # 12: a PDF of blank pages
    write_pdf(root / "pdf" / "blank.pdf", ["", "", ""])
    expect["blank.pdf"] = "skipped: no text"
    return expect


@pytest.fixture(scope="session")
def bad_set(tmp_path_factory):
    """(root folder, markers of every good document, bad file name -> text of its error row)."""
    root = tmp_path_factory.mktemp("bad-inputs")
    goods = Goods()
    write_good_inputs(root, goods)
    expect = write_bad_inputs(root, goods)
    return root, goods.markers, expect
