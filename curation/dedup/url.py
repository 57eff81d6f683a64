"""URL normalization and exact-URL deduplication within the input.

``url_norm`` is a canonical form of ``url`` under which fetches of the same page compare equal (rules in
:func:`normalize_url`). Among documents sharing a ``url_norm`` one is kept by a deterministic policy; the others
are rejected with ``dup_of`` = the kept document's id. Documents without a URL are always kept.
"""
from __future__ import annotations

import posixpath
import re
from typing import Literal
from urllib.parse import quote, urlsplit, urlunsplit

import pyarrow as pa
from pydantic import Field

from curation.pipeline.stage import Stage, StageContext, StageParams, StageResult
from curation.runtime.batches import checkpoint_counted, map_batches

# Query parameters that only track the visitor (analytics, ad clicks), never select content.
TRACKING_PARAMS = re.compile(r"^(utm_[a-z_]+|fbclid|gclid|dclid|msclkid|yclid|mc_cid|mc_eid|_ga|_gl|igshid)$", re.I)
_PCT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_SAFE_PATH = "/%:@!$&'()*+,;="
_SAFE_QUERY = "%:@!$'()*+,;/?"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _pct_normalize(part: str, safe: str) -> str:
    """Decode percent-escapes of unreserved characters, upper-case the others, escape raw non-ASCII/spaces."""
    def fix(m: re.Match) -> str:
        ch = chr(int(m.group(1), 16))
        return ch if ch in _UNRESERVED else "%" + m.group(1).upper()

    return quote(_PCT.sub(fix, part), safe=safe)


def normalize_url(url: str | None) -> str | None:
    """Canonical URL for exact-URL dedup (``None`` if ``url`` is empty or unparsable).

    Rules: trim; scheme and host lower-cased; ``http`` and ``https`` unified to ``https``; leading ``www.``,
    trailing dot, user info and default ports dropped; IDN hosts to punycode; ``.``/``..`` path segments resolved,
    empty path -> ``/``; percent-escapes normalized (unreserved decoded, hex upper-cased, raw non-ASCII escaped
    as UTF-8); tracking query parameters (``utm_*``, ``fbclid``, ``gclid``, ...) removed and the rest sorted;
    fragment dropped. Other URL schemes keep their scheme.
    """
    if not url or not url.strip():
        return None
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme == "http":
        scheme = "https"
        if port == 80:
            port = None
    if not scheme:
        return None
    if not parts.netloc:  # dns:, mailto:, urn: ... have no host or path structure to normalize
        return f"{scheme}:{parts.path}" + (f"?{parts.query}" if parts.query else "")
    if host.startswith("www."):
        host = host[4:]
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        pass
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    path = parts.path or "/"
    if "." in path:
        trailing = path.endswith("/")
        path = posixpath.normpath(path)
        path = "/" + path.lstrip("/") if path != "." else "/"
        if trailing and not path.endswith("/"):
            path += "/"
    path = _pct_normalize(path, _SAFE_PATH)
    query = ""
    if parts.query:
        pairs = [kv for kv in parts.query.split("&") if kv and not TRACKING_PARAMS.match(kv.split("=", 1)[0])]
        query = "&".join(sorted(_pct_normalize(kv, _SAFE_QUERY + "=") for kv in pairs))
    return urlunsplit((scheme, host, path, query, ""))


NORM_SCHEMA = pa.schema([("id", pa.string()), ("url_norm", pa.string()), ("_length", pa.int64()),
                         ("_date", pa.string())])


def url_norms(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A narrow batch (id, url, _length, _date) with ``url`` replaced by its ``url_norm``."""
    norms = pa.array([normalize_url(u) for u in batch.column("url").to_pylist()], pa.string())
    return pa.RecordBatch.from_arrays([batch.column("id"), norms, batch.column("_length"), batch.column("_date")],
                                      schema=NORM_SCHEMA)


class UrlDedupParams(StageParams):
    keep: Literal["longest", "earliest", "latest"] = Field(
        "longest", description="which document of a URL group is kept: the one with the most text, or the earliest "
                               "or latest meta.warc_date (ties: the smallest id, so the choice is deterministic)")


class UrlDedupStage(Stage):
    """Annotates ``url_norm``; rejects all but one document per ``url_norm`` (rejected rows carry ``dup_of``)."""

    type_name = "url_dedup"
    Params = UrlDedupParams

    def apply(self, df, ctx: StageContext) -> StageResult:
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        from curation.dedup.components import join_small

        # The decision runs on a narrow table (id, url_norm and the keep key): only URLs go through Python and only
        # narrow rows are shuffled; it is checkpointed, so the kept and the rejected output each read the documents
        # once and join it (broadcast when small) instead of redoing the Python pass and the shuffle.
        base = df.drop("url_norm")
        narrow = base.select("id", "url", F.length("text").cast("long").alias("_length"),
                             F.col("meta.warc_date").alias("_date"))
        norms = map_batches(narrow, url_norms, NORM_SCHEMA)
        order = {
            "longest": [F.col("_length").desc_nulls_last()],
            "earliest": [F.col("_date").asc_nulls_last()],
            "latest": [F.col("_date").desc_nulls_last()],
        }[self.params.keep] + [F.col("id").asc()]
        group = Window.partitionBy("url_norm").orderBy(*order)
        first = F.first("id").over(group)
        decided, rows = checkpoint_counted(norms.select(
            "id", "url_norm", F.when(F.col("url_norm").isNotNull() & (first != F.col("id")), first).alias("_dup_of")))
        annotated = join_small(base, decided, "id", "left", broadcast_rows=2_000_000, rows=rows)
        columns = [c for c in annotated.columns if c != "_dup_of"]
        kept = annotated.where(F.col("_dup_of").isNull()).select(*columns)
        rejected = (annotated.where(F.col("_dup_of").isNotNull())
                    .withColumn("dup_of", F.col("_dup_of"))
                    .withColumn("reason", F.lit("url_dedup: duplicate URL"))
                    .select(*[c for c in columns if c != "dup_of"], "dup_of", "reason"))
        return StageResult(kept=kept, rejected=rejected)
