"""The four rule sets (Gopher quality and repetition, C4, FineWeb) as one configurable collection, and the pure
per-batch function that names the rules each document fails (``heuristic_fails``). No Spark here.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
from pydantic import Field

from curation.pipeline.stage import StageParams
from curation.rules.c4 import C4Rules
from curation.rules.fineweb import FineWebRules
from curation.rules.gopher import GopherQualityRules, GopherRepetitionRules
from curation.schema import ANNOTATIONS

FAILS_COLUMN = "heuristic_fails"


class RuleSets(StageParams):
    gopher_quality: GopherQualityRules | None = Field(None, description="Gopher's quality rules (length, word shape, "
                                                                        "symbols, lists, stop words); null: not run")
    gopher_repetition: GopherRepetitionRules | None = Field(None, description="Gopher's repetition rules (duplicated "
                                                                              "lines, paragraphs and n-grams); null: "
                                                                              "not run")
    c4: C4Rules | None = Field(None, description="C4's page rules over the lines C4 keeps; null: not run")
    fineweb: FineWebRules | None = Field(None, description="FineWeb's line-shape rules; null: not run")

    def enabled(self) -> list:
        return [getattr(self, name) for name in type(self).model_fields if getattr(self, name) is not None]

    def rule_names(self) -> list[str]:
        return [name for rule_set in self.enabled() for name in rule_set.failures([])]


def all_rule_sets() -> RuleSets:
    return RuleSets(gopher_quality=GopherQualityRules(), gopher_repetition=GopherRepetitionRules(), c4=C4Rules(),
                    fineweb=FineWebRules())


def failed_rules(texts: list[str], rule_sets: RuleSets) -> pa.ListArray:
    """For each text, the names of the rules it fails, in rule order."""
    names: list[str] = []
    masks: list[np.ndarray] = []
    for rule_set in rule_sets.enabled():
        for name, mask in rule_set.failures(texts).items():
            names.append(name)
            masks.append(mask)
    failed = np.stack(masks, axis=1) if masks else np.zeros((len(texts), 0), dtype=bool)
    rows, cols = np.nonzero(failed)  # row-major: grouped by document, rules in order
    offsets = np.concatenate([[0], np.cumsum(failed.sum(axis=1))]).astype(np.int32)
    values = pa.array(np.asarray(names, dtype=object)[cols] if len(cols) else [], type=pa.string())
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def annotate_batch(batch: pa.RecordBatch, rule_sets: RuleSets) -> pa.RecordBatch:
    """``batch`` with a ``heuristic_fails`` column appended (a missing text counts as empty)."""
    texts = ["" if t is None else t for t in batch.column("text").to_pylist()]
    return batch.append_column(pa.field(FAILS_COLUMN, ANNOTATIONS[FAILS_COLUMN]), failed_rules(texts, rule_sets))
