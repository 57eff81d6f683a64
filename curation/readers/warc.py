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

Row ids are ``<input-relative file name>@<record offset>`` (WARC-Record-IDs repeat when records are copied between
files; the record's own id is kept in ``meta.warc_record_id``).

Input options: ``extractor`` (``auto`` | ``resiliparse`` | ``trafilatura``, see :mod:`curation.extract.html`),
``max_payload_bytes`` (default 5 MiB), ``extract_time_limit_s`` (default 10: enforced by a watchdog process,
:mod:`curation.readers.html_guard`; ``extract_isolation: false`` extracts in the worker with the extractor's own
signal-based limit), ``max_html_depth`` (default 3000: deeper pages are error rows without being parsed),
``timings`` (default false; see :func:`curation.readers.file_source.read_files`).

Payloads are decoded here before extraction: a UTF-32/UTF-16/UTF-8 byte-order mark wins; a page that is UTF-8 but
for a few invalid bytes (at most ``max(8, bytes / 1000)`` and a quarter of its valid multi-byte characters) is decoded as UTF-8 with U+FFFD for them, ``meta.charset``
``utf-8`` and the count in ``meta.extra.invalid_bytes``; anything else goes to
:func:`curation.extract.html.decode_html`.
"""
from __future__ import annotations

import gzip
from typing import Iterator

from curation.extract.html import DEFAULT_ENGINE, ENGINES, decode_html, extract_text
from curation.readers.file_source import expand_inputs, file_label, input_names, open_binary, read_files
from curation.readers.html_guard import ExtractionWatchdog, nesting_depth
from curation.runtime.batches import worker_cached

HTML_TYPES = ("text/html", "application/xhtml+xml")
DEFAULT_MAX_PAYLOAD = 5 << 20
DEFAULT_TIME_LIMIT_S = 10.0
DEFAULT_MAX_DEPTH = 3000
MAX_RESYNCS = 1000  # damaged stretches of one file read past before the rest of it is given up
_BOMS = ((b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\xef\xbb\xbf", "utf-8"),
         (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"))


def read_warc(spark, inp):
    """Ingest reader for ``format: warc`` (see module docstring for the options)."""
    engine = inp.options.get("extractor", DEFAULT_ENGINE)
    if engine not in ENGINES:
        raise ValueError(f"unknown extractor {engine!r} in input {inp.path}; known: {', '.join(ENGINES)}")
    unknown = set(inp.options) - {"extractor", "max_payload_bytes", "extract_time_limit_s", "timings",
                                  "extract_isolation", "max_html_depth"}
    if unknown:
        raise ValueError(f"unknown warc input options {sorted(unknown)}")
    files = expand_inputs(inp.path)
    return read_files(spark, files, warc_records, inp.options, inp.source, "warc", input_names(inp, files))


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


def _decode_payload(payload: bytes, header_charset: str | None) -> tuple[str, str, int] | None:
    """(text, charset, invalid bytes replaced) of an HTML payload; None for binary data (NUL bytes without a
    UTF-16/32 byte-order mark). See the module docstring for the rules."""
    for bom, codec in _BOMS:
        if payload.startswith(bom):
            text = payload[len(bom):].decode(codec, errors="replace")
            return text, codec, text.count("\ufffd")
    if b"\x00" in payload[:4096]:
        return None
    declared = (header_charset or "").strip().strip("'\"").lower().replace("_", "-")
    if declared in ("", "utf-8", "utf8"):
        try:
            return payload.decode("utf-8"), "utf-8", 0
        except UnicodeDecodeError:
            text = payload.decode("utf-8", errors="replace")
            invalid = text.count("\ufffd") - payload.count("\ufffd".encode())
            valid_multibyte = sum(1 for ch in text if ch > "\x7f") - text.count("\ufffd")
            # UTF-8 with a few broken bytes, not a single-byte charset (whose non-ASCII bytes are all invalid)
            if invalid <= max(8, len(payload) // 1000) and 4 * invalid <= valid_multibyte:
                return text, "utf-8", invalid
    text, charset = decode_html(payload, header_charset)
    return text, charset, 0


def warc_records(path: str, options: dict) -> Iterator[dict]:
    """Rows for every record of one WARC / WET file (see module docstring)."""
    from fastwarc.warc import ArchiveIterator

    name = file_label(path, options)
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
    gz = head is not None and _is_gzip(path)
    last_offset, n_records, in_member, base, restarts, in_attempt, resume = 0, 0, 0, 0, 0, 0, None
    while True:
        try:
            with open_binary(path, random_access=True) as stream:
                stream.seek(base)
                in_attempt = 0
                for record in ArchiveIterator(stream, parse_http=False):
                    in_attempt += 1
                    offset = record.stream_pos  # of the file, also after a seek
                    # several records in one gzip member share its offset: number them
                    same_member = n_records > 0 and offset == last_offset
                    in_member = in_member + 1 if same_member else 0
                    n_records += 1
                    last_offset = offset
                    rec_id = f"{name}@{offset}" + (f".{in_member}" if in_member else "")
                    if record.headers.get("Content-Length") is None:
                        yield _row(path, rec_id, offset, f"error: {name}@{offset}: truncated record header")
                        continue
                    row = _record_row(path, record, limits, rec_id, offset)
                    record.reader.consume()
                    runs_into = bool(row["reason"]) and "Content-Length runs into" in row["reason"]
                    if not runs_into and record.reader.tell() < record.content_length:
                        row = _row(path, row["id"], offset,
                                   f"error: {name}@{offset}: truncated record ({record.reader.tell()} of "
                                   f"{record.content_length} bytes)", url=row["url"], meta=row["meta"])
                    yield row
                    if runs_into:
                        resume = _next_record_start(path, offset + 1, gz)
                        break  # the records it swallowed are read again from where the next one starts
                else:
                    break
            if resume is None:
                break
            base, resume = resume, None
            continue
        except Exception as exc:  # damage: report it, then go on at the next record start after it
            where = f"after the record at offset {last_offset}" if n_records else f"at offset {base}"
            resume = _next_record_start(path, max(base, last_offset) + 1, gz) if restarts < MAX_RESYNCS else None
            restarts += 1
            if in_attempt or restarts == 1 or resume is None:  # a resync point that fails at once: same damage
                then = f"; reading resumes at offset {resume}" if resume is not None else ""
                yield _row(path, f"{name}@{last_offset}:unreadable{restarts}", last_offset,
                           f"error: {name}: unreadable record {where}: {type(exc).__name__}: {exc}"[:400] + then)
            if resume is None:
                return
            base, resume = resume, None
    if n_records == 0:
        yield _row(path, f"{name}@0", 0, f"error: {name}: no WARC records could be read")


def _is_gzip(path: str) -> bool:
    with open_binary(path) as raw:
        return raw.read(2) == b"\x1f\x8b"


def _next_record_start(path: str, start: int, gz: bool) -> int | None:
    """Offset of the first gzip member header (``gz``) or ``WARC/1.`` line at or after ``start``; None if none."""
    magic = b"\x1f\x8b\x08" if gz else b"WARC/1."
    with open_binary(path, random_access=True) as fh:
        fh.seek(start)
        pos, tail = start, b""
        while chunk := fh.read(1 << 20):
            data = tail + chunk
            i = data.find(magic)
            if i >= 0 and (gz or i == 0 or data[i - 1:i] == b"\n"):
                return pos - len(tail) + i
            tail = data[-(len(magic) - 1):]
            pos += len(chunk)
    return None


class _Limits:
    def __init__(self, options: dict):
        self.engine = options.get("extractor", DEFAULT_ENGINE)
        self.max_payload = int(options.get("max_payload_bytes", DEFAULT_MAX_PAYLOAD))
        self.time_limit = float(options.get("extract_time_limit_s", DEFAULT_TIME_LIMIT_S))
        self.isolate = bool(options.get("extract_isolation", True))
        self.max_depth = int(options.get("max_html_depth", DEFAULT_MAX_DEPTH))


def _row(path: str, rec_id: str, offset: int, reason: str | None, text: str | None = None,
         url: str | None = None, fmt: str | None = None, meta: dict | None = None) -> dict:
    row = {"id": rec_id, "text": text, "url": url, "reason": reason,
           "meta": {"source_path": path, "record_offset": offset, **(meta or {})}}
    if fmt:
        row["format"] = fmt
    return row


def _record_row(path: str, record, limits: _Limits, rec_id: str, offset: int) -> dict:
    """The row for one WARC record: a document, or skipped / error with the reason."""
    from fastwarc.warc import WarcRecordType

    name = rec_id.rsplit("@", 1)[0]
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
    if b"WARC/1." in payload and b"\r\n\r\nWARC/1." in payload:
        return out(f"error: {name}@{offset}: Content-Length runs into the next WARC record")
    decoded = _decode_payload(payload, header_charset)
    if decoded is None:
        return out(f"error: {name}@{offset}: binary payload declared as {meta['content_type']}")
    html, meta["charset"], invalid = decoded
    if invalid:
        meta["extra"] = {"invalid_bytes": str(invalid)}
    depth = nesting_depth(payload) if limits.max_depth > 0 else 0
    if depth > limits.max_depth:
        return out(f"error: {name}@{offset}: HTML nested {depth} deep (max_html_depth {limits.max_depth}); not parsed")
    if limits.isolate:
        ext = worker_cached("html-watchdog", ExtractionWatchdog).extract(html, limits.engine, limits.time_limit)
    else:
        ext = extract_text(html, limits.engine, limits.time_limit)
    meta.update(extractor=ext.extractor, extract_seconds=ext.seconds, title=ext.title)
    if ext.error:
        return out(f"error: {name}@{offset}: extraction failed: {ext.error}")
    if not ext.text.strip():
        return out("skipped: no main text")
    return out(None, ext.text, "html")
