"""The stage registry (spec ``type`` -> stage class), and the lazy name -> ``"module:attribute"`` table it is made of.

Three tables map a name in a spec to code, all of them :class:`Registry`: stage types (:data:`STAGES`, here), input
formats (:data:`curation.readers.formats.READERS`) and OCR backends (:data:`curation.extract.ocr_backends.
OCR_BACKENDS`). An entry is imported when it is first used, so a stage's heavy dependencies load only in runs that
use it. Adding a stage is one new file and one line in :data:`STAGES`; Spark's Python workers preload the modules
listed here (:mod:`curation.runtime.worker_daemon`).
"""
from __future__ import annotations

import importlib


class Registry(dict):
    """``{name: "module:attribute"}`` whose entries are imported on :meth:`load`; ``kind`` names them in errors."""

    def __init__(self, kind: str, entries: dict[str, str]):
        super().__init__(entries)
        self.kind = kind

    def load(self, name: str):
        """The attribute registered under ``name``, its module imported now; KeyError naming the known ones."""
        if name not in self:
            raise KeyError(f"unknown {self.kind} {name!r}; known: {', '.join(sorted(self))}")
        module_name, attribute = self[name].split(":")
        return getattr(importlib.import_module(module_name), attribute)

    def modules(self) -> list[str]:
        """The modules of the entries, each once, in registration order."""
        return list(dict.fromkeys(target.split(":")[0] for target in self.values()))


STAGES = Registry("stage type", {
    "ingest": "curation.stages.ingest:IngestStage",
    "select": "curation.stages.select:SelectStage",
    "sample": "curation.stages.select:SampleStage",
    "langid": "curation.stages.langid:LangIdStage",
    "url_dedup": "curation.dedup.url:UrlDedupStage",
    "exact_dedup": "curation.dedup.exact:ExactDedupStage",
    "minhash": "curation.dedup.minhash.stage:MinHashStage",
    "heuristics": "curation.stages.heuristics:HeuristicStage",
    "quality": "classifiers.scoring_stage:QualityScoreStage",
    "topic": "classifiers.scoring_stage:TopicStage",
    "tokenize": "curation.stages.tokenize:TokenizeStage",
    "shards": "curation.stages.shards:ShardStage",
    "consent": "curation.stages.consent:ConsentStage",
    "pii": "curation.stages.pii:PiiStage",
    "decontaminate": "curation.stages.decontaminate:DecontaminateStage",
    "line_dedup": "curation.stages.line_dedup:LineDedupStage",
})


def stage_class(type_name: str):
    """The :class:`~curation.pipeline.stage.Stage` subclass registered as ``type_name``."""
    return STAGES.load(type_name)
