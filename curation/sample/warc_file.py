"""A WARC/1.0 file built in memory, one gzip member per record (as Common Crawl writes them), with request and
response records for each fetched URL."""
from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import random
import uuid
from collections import Counter
from dataclasses import dataclass


def _sha1_digest(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def _http_date(when: dt.datetime) -> str:
    return when.strftime("%a, %d %b %Y %H:%M:%S GMT")


_REASONS = {200: "OK", 301: "Moved Permanently", 404: "Not Found"}


@dataclass
class Exchange:
    """One fetched URL: what the crawler asked for and what the server answered."""

    url: str
    status: int
    content_type: str
    body: bytes
    extra_headers: tuple[tuple[str, str], ...] = ()


class WarcFile:
    """Builds one WARC/1.0 file in memory, one gzip member per record as Common Crawl does."""

    def __init__(self, filename: str, rng: random.Random, clock: dt.datetime):
        self.rng = rng
        self.clock = clock
        self.members: list[bytes] = []
        self.counts: Counter = Counter()
        self.warcinfo_id = self._record("warcinfo", "application/warc-fields", (
            "software: curation sample corpus writer\r\nformat: WARC File Format 1.0\r\n"
            "conformsTo: https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.0/\r\n"
            "isPartOf: curation-sample\r\nrobots: checked via robots.txt\r\n").encode(),
            [("WARC-Filename", filename)])

    def _record_id(self) -> str:
        return f"<urn:uuid:{uuid.UUID(int=self.rng.getrandbits(128), version=4)}>"

    def _record(self, warc_type: str, content_type: str, block: bytes, headers: list[tuple[str, str]]) -> str:
        record_id = self._record_id()
        head = [("WARC-Type", warc_type), ("WARC-Date", self.clock.strftime("%Y-%m-%dT%H:%M:%SZ")),
                ("WARC-Record-ID", record_id), ("Content-Length", str(len(block))), ("Content-Type", content_type)]
        if warc_type != "warcinfo":
            head.append(("WARC-Warcinfo-ID", self.warcinfo_id))
        head += headers + [("WARC-Block-Digest", _sha1_digest(block))]
        raw = "WARC/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head) + "\r\n"
        self.members.append(gzip.compress(raw.encode() + block + b"\r\n\r\n", mtime=0))
        self.counts[warc_type] += 1
        return record_id

    def add(self, exchange: Exchange) -> None:
        """Write the request and response records for one exchange."""
        self.clock += dt.timedelta(seconds=self.rng.randint(1, 45))
        scheme_host, _, path = exchange.url.partition("://")[2].partition("/")
        request = (f"GET /{path} HTTP/1.1\r\nHost: {scheme_host}\r\nUser-Agent: curation-sample-bot/0.1\r\n"
                   "Accept: text/html,application/xhtml+xml,*/*;q=0.8\r\nAccept-Encoding: identity\r\n\r\n")
        ip = f"192.0.2.{sum(scheme_host.encode()) % 250 + 1}"
        uri = [("WARC-IP-Address", ip), ("WARC-Target-URI", exchange.url)]
        request_id = self._record("request", "application/http; msgtype=request", request.encode(), uri)
        http_head = [("Date", _http_date(self.clock)), ("Server", "nginx/1.24.0"),
                     ("Content-Type", exchange.content_type), ("Content-Length", str(len(exchange.body))),
                     *exchange.extra_headers]
        response = (f"HTTP/1.1 {exchange.status} {_REASONS[exchange.status]}\r\n"
                    + "".join(f"{k}: {v}\r\n" for k, v in http_head) + "\r\n").encode() + exchange.body
        self._record("response", "application/http; msgtype=response", response,
                     [("WARC-Concurrent-To", request_id), *uri, ("WARC-Payload-Digest", _sha1_digest(exchange.body))])

    def data(self) -> bytes:
        return b"".join(self.members)
