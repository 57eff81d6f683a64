"""Exact deduplication: documents whose normalised text (optionally with the URL) hashes alike.

``text_hash`` = xxh3-128 hex digest of the key; ``exact_dup_of`` = id of the document each group of equal hashes
keeps (null for the kept one). The kept document is chosen by the same ordered keep policy as near-duplicate
clusters, so the choice is deterministic and independent of partitioning. Removal is a later ``select``.
"""
from __future__ import annotations

from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
import xxhash
from pydantic import Field

from curation.pipeline.stage import Stage, StageContext, StageParams, StageResult

HASH_SCHEMA = pa.schema([("id", pa.string()), ("text_hash", pa.string()), ("length", pa.int64())])


class ExactDedupParams(StageParams):
    key: Literal["text", "url", "text_and_url"] = Field("text", description="what must be equal")
    normalize: bool = Field(True, description="hash the dedup normalisation (NFKC, lowercase, punctuation and "
                                              "whitespace folded to single spaces) instead of the raw text")
    keep: list[str] = Field(["quality_score desc", "length desc", "id asc"],
                            description="order that picks each group's kept document")
    broadcast_rows: int = Field(2_000_000, ge=0, description="broadcast the duplicate table up to this many rows")


def dedup_keys(texts: pa.Array, normalize: bool) -> pa.Array:
    """The text part of the key: the normalised words joined by single spaces, or the raw text."""
    if not normalize:
        return pc.fill_null(texts, "")
    from curation.dedup.minhash.kernels import fold_words

    return fold_words(texts)


def text_hashes(batch: pa.RecordBatch, key: str, normalize: bool) -> pa.RecordBatch:
    """(id, text_hash, length of the text in characters) for a batch with columns id, text and url."""
    parts = []
    if key in ("text", "text_and_url"):
        parts.append(dedup_keys(batch.column("text"), normalize))
    if key in ("url", "text_and_url"):
        parts.append(pc.fill_null(batch.column("url"), ""))
    joined = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(parts[0], parts[1], "\x00")
    digests = [xxhash.xxh3_128_hexdigest(s) for s in joined.cast(pa.large_binary()).to_pylist()]
    length = pc.fill_null(pc.utf8_length(batch.column("text")), 0).cast(pa.int64())
    return pa.RecordBatch.from_arrays([batch.column("id"), pa.array(digests, pa.string()), length],
                                      schema=HASH_SCHEMA)


class ExactDedupStage(Stage):
    """Annotates ``text_hash`` and ``exact_dup_of``."""

    type_name = "exact_dedup"
    Params = ExactDedupParams

    def apply(self, df, ctx: StageContext) -> StageResult:
        from pyspark.sql import functions as F

        from curation.dedup.components import choose_kept, floating_columns, join_small, keep_order
        from curation.runtime.batches import checkpoint_counted, map_batches

        p: ExactDedupParams = self.params
        key, normalize = p.key, p.normalize
        base = df.drop("text_hash", "exact_dup_of")
        # the keep decision runs on a small table: id, hash, length and the keep columns the input has
        keep_columns = [c for c in (item.split()[0] for item in p.keep) if c in base.columns and c != "id"]
        hashes = map_batches(base.select("id", "text", "url"), lambda b: text_hashes(b, key, normalize), HASH_SCHEMA)
        keyed = hashes.join(base.select("id", *keep_columns), "id") if keep_columns else hashes
        kept = choose_kept(keyed, "text_hash", keep_order(keyed.columns, p.keep, floating_columns(keyed)))
        annotations = kept.select(
            "id", "text_hash", F.when(F.col("kept") != F.col("id"), F.col("kept")).alias("exact_dup_of"))
        annotations, rows = checkpoint_counted(annotations)
        out = join_small(base, annotations, "id", "left", p.broadcast_rows, rows)
        return StageResult(kept=out.select(*base.columns, "text_hash", "exact_dup_of"))
