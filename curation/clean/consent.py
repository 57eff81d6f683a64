"""Consent (domain / URL-prefix opt-out) and license allow-list matching.

Opt-out list: one entry per line, ``#`` starts a comment. An entry without ``/`` is a domain: it matches that host
and every subdomain of it (``example.com`` matches ``example.com``, ``www.example.com``, ``a.b.example.com``; not
``badexample.com``). An entry with ``/`` is a URL prefix: it matches URLs of exactly that host (any scheme, any
port; ``www.`` is a different host) whose path starts with the entry's path (``example.com/private/`` matches
``https://example.com/private/a.html``). Hosts compare case-insensitively, paths case-sensitively; a leading
``*.`` on a domain entry is accepted and means the same.

License allow-list: a document's license (its record's own ``license`` field, else the one configured for its
source) is allowed when it equals an entry case-insensitively, or starts with the entry followed by a space,
``(``, ``;`` or ``,`` (``cc-by-sa-3.0`` allows ``CC-BY-SA-3.0 (Wikipedia)``). Documents without a license take
``unknown_license`` and pass unless the stage is told to reject them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pyarrow as pa


@dataclass
class OptOutList:
    domains: set[str] = field(default_factory=set)
    prefixes: dict[str, list[str]] = field(default_factory=dict)  # host -> path prefixes

    def add(self, entry: str) -> None:
        entry = entry.strip()
        if not entry:
            return
        if "/" not in entry.split("://", 1)[-1]:
            self.domains.add(entry.split("://", 1)[-1].lower().removeprefix("*.").rstrip("."))
            return
        host, path = split_url(entry)
        self.prefixes.setdefault(host, []).append(path)

    def __len__(self) -> int:
        return len(self.domains) + sum(len(v) for v in self.prefixes.values())

    def match(self, url: str | None) -> str | None:
        """The entry ``url`` falls under (a domain, or host + path prefix), or None."""
        if not url:
            return None
        host, path = split_url(url)
        if not host:
            return None
        labels = host.split(".")
        for i in range(len(labels)):
            suffix = ".".join(labels[i:])
            if suffix in self.domains:
                return suffix
        for prefix in self.prefixes.get(host, ()):
            if path.startswith(prefix):
                return host + prefix
        return None


def split_url(url: str) -> tuple[str, str]:
    """(lowercased host without port, path with query) of a URL, with or without a scheme."""
    url = url.strip()
    if "://" not in url:
        url = "//" + url
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
    except ValueError:
        return "", ""
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return host, path


def parse_opt_out(lines, extra: list[str] = ()) -> OptOutList:
    """An :class:`OptOutList` from the lines of an opt-out file plus extra entries."""
    out = OptOutList()
    for line in [*lines, *extra]:
        out.add(line.split("#", 1)[0])
    return out


def license_allowed(value: str, allowed: list[str]) -> bool:
    lower = value.lower()
    for entry in allowed:
        e = entry.lower()
        if lower == e or (lower.startswith(e) and lower[len(e)] in " (;,"):
            return True
    return False


def _extra_url(extra: dict, fields: list[str]) -> str | None:
    """The first non-empty URL among ``fields`` of a record's extra fields; ``a.b`` reads key ``b`` of the JSON
    object stored under ``a``."""
    for name in fields:
        head, _, tail = name.partition(".")
        value = extra.get(head)
        if value and tail:
            try:
                value = json.loads(value).get(tail)
            except (ValueError, AttributeError):
                value = None
        if isinstance(value, str) and value:
            return value
    return None


def consent_batch(batch: pa.RecordBatch, opt_out: OptOutList, allowed: list[str] | None,
                  source_licenses: dict[str, str], unknown_license: str, reject_unknown: bool,
                  url_fields: list[str]) -> pa.RecordBatch:
    """The batch with ``url`` filled from the record's own fields when null, ``license`` and ``opted_out`` (the
    matching opt-out entry) appended, and ``reason``: ``consent: opted out (<entry>)``, ``license: <value> not
    allowed``, or null."""
    urls, licenses, opted, reasons = [], [], [], []
    metas = batch.column("meta").to_pylist()
    for url, source, meta in zip(batch.column("url").to_pylist(), batch.column("source").to_pylist(), metas):
        extra = dict((meta or {}).get("extra") or {})
        if not url:
            url = _extra_url(extra, url_fields)
        value = extra.get("license") or source_licenses.get(source or "")
        known = bool(value)
        value = value or unknown_license
        entry = opt_out.match(url)
        reason = None
        if entry is not None:
            reason = f"consent: opted out ({entry})"
        elif allowed is not None and (known or reject_unknown) and not license_allowed(value, allowed):
            reason = f"license: {value} not allowed"
        urls.append(url)
        licenses.append(value)
        opted.append(entry)
        reasons.append(reason)
    drop = ("url", "license", "opted_out", "reason")
    names = [c for c in batch.schema.names if c not in drop or c == "url"]
    arrays = [pa.array(urls, pa.string()) if c == "url" else batch.column(c) for c in names]
    fields = [batch.schema.field(c) for c in names]
    return pa.RecordBatch.from_arrays(
        [*arrays, pa.array(licenses, pa.string()), pa.array(opted, pa.string()), pa.array(reasons, pa.string())],
        schema=pa.schema([*fields, pa.field("license", pa.string()), pa.field("opted_out", pa.string()),
                          pa.field("reason", pa.string())]))
