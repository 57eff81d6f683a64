"""The files a spec names, besides its inputs: which stage parameters are paths (resolved against the spec file's
folder), the ``{out}`` placeholder, and the load check ``curate validate`` and ``curate run`` make before Spark starts
(model directories of ``quality``/``topic``, mix files, tokenizers unless the ``tokenize`` stage trains them).
"""
from __future__ import annotations

import os
import re

# stage type -> parameters that name a file or folder on the driver's disk
PATH_PARAMS: dict[str, tuple[str, ...]] = {
    "tokenize": ("tokenizer",),
    "shards": ("tokenizer", "mix"),
    "quality": ("model",),
    "topic": ("model",),
    "consent": ("opt_out",),
    "decontaminate": ("benchmarks.*.path",),  # `*`: every key of a mapping
}
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def resolve_path(value: str, base: str) -> str:
    """``value`` relative to ``base`` (the spec file's folder), unless it is absolute, a URI or names ``{out}``."""
    if not isinstance(value, str) or not value or os.path.isabs(value) or _SCHEME.match(value) \
            or value.startswith("{out}"):
        return value
    return os.path.normpath(os.path.join(base, value))


def _slots(body: dict, key: str):
    """(mapping, key) pairs of the string values a dotted parameter name reaches in a stage body; a ``*`` step
    goes into every value of a mapping."""
    head, _, rest = key.partition(".")
    if not rest:
        if isinstance(body.get(head), str):
            yield body, head
        return
    children = body.get(head)
    if isinstance(children, dict):
        star, _, after = rest.partition(".")
        if star == "*":
            for child in children.values():
                if isinstance(child, dict):
                    yield from _slots(child, after)
        else:
            yield from _slots(children, rest)


def resolve_spec_paths(doc: dict, base: str) -> None:
    """Rewrite, in place, the relative paths of a spec mapping (``out``, ``inputs.N.path`` and the stage parameters
    in :data:`PATH_PARAMS`) against ``base``."""
    if isinstance(doc.get("out"), str):
        doc["out"] = resolve_path(doc["out"], base)
    for inp in doc.get("inputs") or []:
        if isinstance(inp, dict) and isinstance(inp.get("path"), str):
            inp["path"] = resolve_path(inp["path"], base)
    stages = doc.get("stages")
    if isinstance(stages, dict):
        for name, body in stages.items():
            if isinstance(body, dict):
                for key in PATH_PARAMS.get(body.get("type", name), ()):
                    for holder, leaf in _slots(body, key):
                        holder[leaf] = resolve_path(holder[leaf], base)


def fill_out(doc: dict) -> None:
    """Replace ``{out}`` at the start of a stage path parameter with the run directory, so that files a stage writes
    (a trained tokenizer) follow ``--set out=...``."""
    out = str(doc.get("out", "")).rstrip("/")
    stages = doc.get("stages")
    if not isinstance(stages, dict):
        return
    for name, body in stages.items():
        if isinstance(body, dict):
            for key in PATH_PARAMS.get(body.get("type", name), ()):
                for holder, leaf in _slots(body, key):
                    if holder[leaf].startswith("{out}"):
                        holder[leaf] = out + holder[leaf][len("{out}"):]


def check_resources(spec) -> None:
    """Load every file the spec's stages name (without Spark); raise ``SpecError`` naming the key and the file."""
    from curation.pipeline.registry import stage_class
    from curation.pipeline.spec import SpecError

    trained = set()
    for s in spec.stages:
        params = stage_class(s.type).Params.model_validate(s.params)
        key = f"stages.{s.name}"
        try:
            if s.type == "tokenize":
                if params.train_vocab_size and not os.path.exists(params.tokenizer):
                    trained.add(params.tokenizer)
                else:
                    _load_tokenizer(params.tokenizer, f"{key}.tokenizer")
            elif s.type == "shards":
                if params.tokenizer not in trained:
                    _load_tokenizer(params.tokenizer, f"{key}.tokenizer")
                if params.mix:
                    from curation.shards.mixing import load_mix

                    load_mix(params.mix)
            elif s.type in ("quality", "topic"):
                _load_model(params.model, params.backend, f"{key}.model")
        except SpecError:
            raise
        except Exception as exc:
            raise SpecError(f"{key}: {exc}".splitlines()[0][:400]) from None


def _load_tokenizer(path: str, key: str) -> None:
    from curation.pipeline.spec import SpecError

    if not os.path.isfile(path):
        raise SpecError(f"{key}: tokenizer file not found: {path}")
    from tokenizers import Tokenizer

    try:
        Tokenizer.from_file(path)
    except Exception as exc:
        raise SpecError(f"{key}: cannot load {path}: {exc}"[:400]) from None


def _load_model(path: str, backend: str, key: str) -> None:
    from curation.pipeline.spec import SpecError

    if not os.path.isdir(path):
        raise SpecError(f"{key}: model directory not found: {path} (train it with `curate classifier train`)")
    from classifiers.train import BACKENDS

    try:
        BACKENDS[backend].load(path)
    except Exception as exc:
        raise SpecError(f"{key}: cannot load the {backend} model in {path}: {exc}"[:400]) from None
