"""The PII stage: mask e-mail addresses, phone numbers, public IPs, payment cards and IBANs in ``text``.

Annotates ``pii_counts`` (spans masked per type, a struct: ``pii_counts.email`` ...); the run's totals per type
and the number of documents with any PII go to ``stats.json`` (``extra.pii``). Detection and its validators:
:mod:`curation.clean.pii`. A select after it may drop documents by their counts, e.g. ``keep_if:
"pii_counts.card = 0"``. Spec::

    pii:
      types: [email, phone, ip, card, iban]
      tokens: {email: "<EMAIL>", phone: "<PHONE>"}   # the others keep their defaults
"""
from __future__ import annotations

from functools import partial
from typing import Literal

import pyarrow as pa
from pydantic import Field, field_validator

from curation.clean.pii import DEFAULT_TOKENS, PII_TYPES, mask_batch
from curation.pipeline.stage import Stage, StageContext, StageParams, StageResult
from curation.schema import ANNOTATIONS

PiiType = Literal["email", "iban", "card", "ip", "phone"]


class PiiParams(StageParams):
    types: list[PiiType] = Field(list(PII_TYPES), description="PII types to mask (email, phone, ip, card, iban)")
    tokens: dict[str, str] = Field({}, description="replacement token per type; default <EMAIL>, <PHONE>, <IP>, "
                                                   "<CARD>, <IBAN>")

    @field_validator("tokens")
    @classmethod
    def _known_types(cls, v):
        unknown = sorted(set(v) - set(PII_TYPES))
        if unknown:
            raise ValueError(f"unknown PII type {unknown[0]!r} in tokens (known: {', '.join(PII_TYPES)})")
        return v


class PiiStage(Stage):
    """Masks PII in ``text`` and annotates ``pii_counts``."""

    type_name = "pii"
    Params = PiiParams

    def apply(self, df, ctx: StageContext) -> StageResult:
        from pyspark.sql import functions as F
        from pyspark.sql.pandas.types import to_arrow_schema

        from curation.runtime.batches import map_batches

        base = df.drop("pii_counts")
        schema = to_arrow_schema(base.schema).append(pa.field("pii_counts", ANNOTATIONS["pii_counts"]))
        tokens = {**DEFAULT_TOKENS, **self.params.tokens}
        masked = map_batches(base, partial(mask_batch, tokens=tokens, types=tuple(self.params.types)), schema)

        def stats(kept, _rejected, _artifacts):
            counts = F.col("pii_counts")
            row = kept.agg(*[F.sum(counts[t]).alias(t) for t in PII_TYPES],
                           F.sum((sum(counts[t] for t in PII_TYPES) > 0).cast("long")).alias("documents")).first()
            return {"pii": {"masked": {t: int(row[t] or 0) for t in PII_TYPES},
                            "documents_with_pii": int(row["documents"] or 0), "tokens": tokens}}

        return StageResult(kept=masked, after_write=stats)
