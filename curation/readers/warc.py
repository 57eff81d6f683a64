"""WARC / WET reader: every record of every file becomes one row (document, skipped or error).

Input ``format: warc`` reads ``.warc``, ``.warc.gz`` and WET files (local paths, directories, globs, or URIs that
pyarrow.fs can open), one Spark task per file, records streamed with fastwarc; a payload is held in memory only up
to ``max_payload_bytes``.

Rows:

* HTTP ``response`` (2xx, HTML) and ``resource`` records with HTML: ``format: html``, ``text`` = main text;
* WET ``conversion`` records: ``format: wet``, ``text`` = the record's text;
* every other record: ``reason: "skipped: ..."`` (request, metadata, warcinfo, revisit, non-HTML, non-2xx, empty);
* broken records and files: ``reason: "error: ..."`` naming the file and the record offset; the rest of the file
  (when readable) and the job go on.

Row ids are ``<file name>@<record offset>`` (WARC-Record-IDs repeat when records are copied between files; the
record's own id is kept in ``meta.warc_record_id``).

Input options: ``extractor`` (``auto`` | ``resiliparse`` | ``trafilatura``, see :mod:`curation.extract.html`),
``max_payload_bytes`` (default 5 MiB), ``extract_time_limit_s`` (default 10), ``timings`` (default false; see
:func:`curation.readers.file_source.read_files`).
"""
from __future__ import annotations

import gzip
import os
from typing import Iterator

from curation.extract.html import DEFAULT_ENGINE, ENGINES, decode_html, extract_text
from curation.readers.file_source import expand_inputs, open_binary, read_files

HTML_TYPES = ("text/html", "application/xhtml+xml")
DEFAULT_MAX_PAYLOAD = 5 << 20
DEFAULT_TIME_LIMIT_S = 10.0


def read_warc(spark, inp):
    """Ingest reader for ``format: warc`` (see module docstring for the options)."""
    engine = inp.options.get("extractor", DEFAULT_ENGINE)
    if engine not in ENGINES:
        raise ValueError(f"unknown extractor {engine!r} in input {inp.path}; known: {', '.join(ENGINES)}")
    unknown = set(inp.options) - {"extractor", "max_payload_bytes", "extract_time_limit_s", "timings"}
    if unknown:
        raise ValueError(f"unknown warc input options {sorted(unknown)}")
    return read_files(spark, expand_inputs(inp.path), warc_records, inp.options, inp.source, "warc")


def _strip_angle(value: str | None) -> str | None:
    # wget writes WARC-Target-URI as <http://...> (WARC 1.1 draft syntax)
    if value is None:
        return None
    value = value.strip()
    return value[1:-1] if value.startswith("<") and value.endswith(">") else value


def _head(path: str, n: int = 64) -> bytes:
    """First ``n`` decompressed bytes of a file ("" for an empty or unreadable-as-gzip file)."""
    with open_binary(path) as raw:
        start = raw.read(n)
        if start[:2] != b"\x1f\x8b":
            return start
    with open_binary(path) as raw:
        try:
            return gzip.GzipFile(fileobj=raw).read(n)
        except (OSError, EOFError):
            return b""


def _decode_body(body: bytes, transfer_encoding: str | None, content_encoding: str | None, limit: int) -> bytes:
    """Undo HTTP chunking and Content-Encoding (gzip, deflate, br), keeping at most ``limit`` bytes. A layer that
    does not decode is left as is: crawlers such as ClueWeb's stored decoded bodies under the original headers."""
    import io

    from fastwarc.stream_io import BrotliReader, ChunkedReader, GzipReader

    layers = []
    if "chunked" in (transfer_encoding or "").lower():
        layers.append(ChunkedReader)
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        layers.append(GzipReader)
    elif encoding == "deflate":
        layers.append(lambda raw: GzipReader(raw, zlib=True))
    elif encoding == "br":
        layers.append(BrotliReader)
    for layer in layers:
        try:
            body = layer(io.BytesIO(body)).read(limit)
        except OSError:
            pass
    return body


def _is_html(content_type: str | None, payload: bytes) -> bool:
    if content_type:
        return content_type.split(";")[0].strip().lower() in HTML_TYPES
    # no Content-Type (e.g. ClueWeb quirks): sniff the bytes
    from resiliparse.parse.encoding import detect_mime

    return detect_mime(payload[:4096]) == "text/html"


def warc_records(path: str, options: dict) -> Iterator[dict]:
    """Rows for every record of one WARC / WET file (see module docstring)."""
    from fastwarc.warc import ArchiveIterator

    name = os.path.basename(path)
    head = _head(path)
    if not head:
        problem = "empty file or unreadable gzip stream"
    elif head.startswith(b"filedesc://"):
        problem = "ARC format is not supported (fastwarc reads WARC only)"
    elif not head.startswith(b"WARC/"):
        problem = f"not a WARC file (starts with {head[:16]!r})"
    else:
        problem = None
    if problem:
        yield _row(path, f"{name}@0", 0, f"error: {name}: {problem}")
        return
    limits = _Limits(options)
    last_offset, n_records, in_member = 0, 0, 0
    try:
        with open_binary(path) as stream:
            for record in ArchiveIterator(stream, parse_http=False):
                n_records += 1
                # several records in one gzip member share its offset: number them
                same_member = n_records > 1 and record.stream_pos == last_offset
                in_member = in_member + 1 if same_member else 0
                last_offset = record.stream_pos
                rec_id = f"{name}@{last_offset}" + (f".{in_member}" if in_member else "")
                row = _record_row(path, record, limits, rec_id)
                record.reader.consume()
                if record.reader.tell() < record.content_length:
                    row = _row(path, row["id"], last_offset,
                               f"error: {name}@{last_offset}: truncated record ({record.reader.tell()} of "
                               f"{record.content_length} bytes)", url=row["url"], meta=row["meta"])
                yield row
    except Exception as exc:  # a broken record ends what can be read of the file; earlier rows stand
        where = f"after the record at offset {last_offset}" if n_records else "at offset 0"
        yield _row(path, f"{name}@{last_offset}:unreadable", last_offset,
                   f"error: {name}: unreadable record {where}: {type(exc).__name__}: {exc}"[:500])
        return
    if n_records == 0:
        yield _row(path, f"{name}@0", 0, f"error: {name}: no WARC records could be read")


class _Limits:
    def __init__(self, options: dict):
        self.engine = options.get("extractor", DEFAULT_ENGINE)
        self.max_payload = int(options.get("max_payload_bytes", DEFAULT_MAX_PAYLOAD))
        self.time_limit = float(options.get("extract_time_limit_s", DEFAULT_TIME_LIMIT_S))


def _row(path: str, rec_id: str, offset: int, reason: str | None, text: str | None = None,
         url: str | None = None, fmt: str | None = None, meta: dict | None = None) -> dict:
    row = {"id": rec_id, "text": text, "url": url, "reason": reason,
           "meta": {"source_path": path, "record_offset": offset, **(meta or {})}}
    if fmt:
        row["format"] = fmt
    return row


def _record_row(path: str, record, limits: _Limits, rec_id: str) -> dict:
    """The row for one WARC record: a document, or skipped / error with the reason."""
    from fastwarc.warc import WarcRecordType

    name = os.path.basename(path)
    offset = record.stream_pos
    headers = record.headers
    rtype = record.record_type
    meta = {"warc_record_id": _strip_angle(headers.get("WARC-Record-ID")), "warc_date": headers.get("WARC-Date"), "warc_type": str(rtype),
            "content_type": headers.get("Content-Type")}
    url = _strip_angle(headers.get("WARC-Target-URI"))

    def out(reason, text=None, fmt=None):
        return _row(path, rec_id, offset, reason, text, url, fmt, meta)

    def too_big(payload: bytes) -> bool:
        return len(payload) > limits.max_payload

    if rtype == WarcRecordType.conversion:
        payload = record.reader.read(limits.max_payload + 1)
        if too_big(payload):
            return out(f"error: {name}@{offset}: record larger than max_payload_bytes ({limits.max_payload})")
        text = payload.decode("utf-8", errors="replace").strip()
        return out(None, text, "wet") if text else out("skipped: empty conversion record")
    if rtype not in (WarcRecordType.response, WarcRecordType.resource):
        return out(f"skipped: {rtype} record")
    header_charset = None
    if rtype == WarcRecordType.response:
        # quirks_mode: ClueWeb-style LF-only HTTP headers; encodings are undone by _decode_body (they can lie)
        record.parse_http(auto_decode="none", quirks_mode=True, strict_mode=False)
        if not record.is_http:
            return out(f"skipped: non-HTTP response ({meta['content_type']})")
        status = record.http_headers.status_code
        header_charset = record.http_charset
        meta.update(http_status=status, content_type=record.http_content_type)
        if status is None or not 200 <= status < 300:
            return out(f"skipped: HTTP status {status}")
    else:
        header_charset = (meta["content_type"] or "").partition("charset=")[2] or None
    payload = record.reader.read(limits.max_payload + 1)
    if rtype == WarcRecordType.response:
        http = record.http_headers
        payload = _decode_body(payload, http.get("Transfer-Encoding"), http.get("Content-Encoding"),
                               limits.max_payload + 1)
    if too_big(payload):
        return out(f"error: {name}@{offset}: payload larger than max_payload_bytes ({limits.max_payload})")
    if not payload.strip():
        return out("skipped: empty payload")
    if not _is_html(meta["content_type"], payload):
        return out(f"skipped: not HTML ({meta['content_type']})")
    if b"\x00" in payload[:4096]:
        return out(f"error: {name}@{offset}: binary payload declared as {meta['content_type']}")
    html, meta["charset"] = decode_html(payload, header_charset)
    ext = extract_text(html, limits.engine, limits.time_limit)
    meta.update(extractor=ext.extractor, extract_seconds=ext.seconds, title=ext.title)
    if ext.error:
        return out(f"error: {name}@{offset}: extraction failed: {ext.error}")
    if not ext.text.strip():
        return out("skipped: no main text")
    return out(None, ext.text, "html")
