"""The ``jsonl`` input format: one document per JSON line (plain, .gz, .zst, .bz2, .xz), one Spark task per file."""
from __future__ import annotations

import json
from typing import Iterator

from curation.readers.file_source import (error_row, expand_inputs, file_label, input_names, open_decoded,
                                          read_files)
from curation.readers.streams import DEFAULT_MAX_RATIO, LimitExceeded, iter_lines

_META_KEYS = ("id", "text", "source", "url")


def _convert(obj, text_field: str, id_field: str) -> tuple[dict | None, str | None]:
    """(the document's fields, None) or (None, why the record is not a document). Every conversion that can fail
    on a record's content (strings that are not valid Unicode, values JSON allows but Arrow does not) runs here."""
    if not isinstance(obj, dict) or not isinstance(obj.get(text_field), str):
        return None, f"no string '{text_field}' field"
    extra = {k: (v if isinstance(v, str) else json.dumps(v, sort_keys=True))
             for k, v in obj.items() if k not in _META_KEYS and k != text_field and v is not None}
    doc_id = obj.get(id_field)
    fields = {
        "id": None if doc_id is None else str(doc_id),
        "text": obj[text_field],
        "source": obj.get("source") if isinstance(obj.get("source"), str) else None,
        "url": obj.get("url") if isinstance(obj.get("url"), str) else None,
        "extra": extra or None,
    }
    for value in (fields["id"], fields["text"], fields["source"], fields["url"], *(extra or {}).items()):
        for s in (value if isinstance(value, tuple) else (value,)):
            if s is not None:
                s.encode("utf-8")  # a lone surrogate (valid JSON "\ud800") raises here, not in the Arrow batch
    return fields, None


def jsonl_records(path: str, options: dict) -> Iterator[dict]:
    """One document per JSON line: ``text`` required; ``id``, ``source``, ``url`` optional and kept.

    A line that is not valid JSON or UTF-8 (lone surrogates included), nests too deep, lacks ``text``, repeats an
    earlier line's ``id`` or exceeds ``max_doc_bytes`` (skipped as it streams, never held whole) becomes an error
    row with its line number; the rest of the file is still read. Damage in a compressed file becomes an error row
    per damaged stretch, after every line read before it (and, in gzip, after the next member). ``max_file_bytes``
    (default 64 GiB) and ``max_ratio`` (default 200) cap the decompressed bytes. ``text_field``/``id_field`` rename
    the fields. Without an ``id``, a row's id is ``<input-relative file name>:<line>``.
    """
    text_field = options.get("text_field", "text")
    id_field = options.get("id_field", "id")
    max_doc = int(options.get("max_doc_bytes", 50 << 20))
    fmt = "jsonl"
    label = file_label(path, options)
    seen_ids: dict[str, int] = {}

    def bad(line_no: int, why: str) -> dict:
        return error_row(path, f"error: {why}", None, fmt, line_no, f"{label}:{line_no}")

    with open_decoded(path, int(options.get("max_file_bytes", 64 << 30)),
                      float(options.get("max_ratio", DEFAULT_MAX_RATIO))) as stream:
        last = 0
        try:
            for line_no, raw, size in iter_lines(stream, max_doc):
                last = line_no
                if raw is None:
                    yield bad(line_no, f"document larger than max_doc_bytes ({max_doc}): {size} bytes")
                    continue
                if not raw.strip():
                    continue
                try:
                    fields, why = _convert(json.loads(raw.decode("utf-8")), text_field, id_field)
                except UnicodeEncodeError as exc:
                    fields, why = None, f"invalid Unicode: {exc.reason} (lone surrogate)"
                except UnicodeDecodeError as exc:
                    fields, why = None, f"invalid UTF-8: {exc.reason}"
                except json.JSONDecodeError as exc:
                    fields, why = None, f"invalid JSON: {exc.msg}"
                except RecursionError:
                    fields, why = None, "invalid JSON: nested too deep"
                except Exception as exc:  # noqa: BLE001 - anything else about one line stays with that line
                    fields, why = None, f"unreadable line: {type(exc).__name__}: {exc}"
                if fields is None:
                    yield bad(line_no, why)
                    continue
                if fields["id"] is not None:
                    first = seen_ids.setdefault(fields["id"], line_no)
                    if first != line_no:
                        yield bad(line_no, f"duplicate id {fields['id'][:80]!r} (first at line {first})")
                        continue
                yield {
                    "id": fields["id"] if fields["id"] is not None else f"{label}:{line_no}",
                    "text": fields["text"], "source": fields["source"], "url": fields["url"],
                    "format": fmt, "reason": None,
                    "meta": {"source_path": path, "record_offset": line_no, "extra": fields["extra"]},
                }
        except LimitExceeded as exc:
            yield bad(last + 1, f"{label}: {exc}; lines after {last} not read")
        for i, damage in enumerate(stream.damage):
            yield error_row(path, f"error: {label}: {damage}", None, fmt, None, f"{label}@damage{i}")


def read_jsonl(spark, inp):
    """Reader for ``format: jsonl`` (registered in :data:`curation.readers.formats.READERS`)."""
    files = expand_inputs(inp.path)
    return read_files(spark, files, jsonl_records, inp.options, inp.source, "jsonl", input_names(inp, files))
