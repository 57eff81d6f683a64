"""The mix spec: one YAML file that says what a mixture search optimises and how (``curate mix tune spec.yaml``).

    name: corpora                       # the tuned mix is written as <out>/<name>.yaml (or `mix_file`)
    out: runs/mix-corpora               # the loop's working folder: ratios, proxy runs, fit, report
    pool: runs/corpora/shards/_artifacts   # a shards stage's artifacts: sources/<s>/ and eval/<s>/
    sources: [web, code, books]         # optional: a subset of the pool's sources (default: all of them)
    evals: {web: 1.0, wiki: 1.0}        # objective: weighted mean of these eval sets' losses (default: all, 1.0)
    extra_evals: {mmlu_like: {path: /data/eval-shards, weight: 2.0}}
    final_tokens: 2000000000            # the final training run's token budget (R)
    max_repetition: 4                   # E: a number or {source: number}; caps w_s <= E_s x tokens_s / R
    min_weight: {code: 0.05}            # optional per-source bounds
    max_weight: {web: 0.8}
    proxy: {model: mix-s, seq_len: 128, batch_size: 16, lr: 0.003, tokens: 500000}
    swarm: {runs: 64, seed: 0, size: null}
    fit: {regressor: auto, folds: 5}
    optimize: {kl_penalty: 0.05, search_candidates: 200000, top_k: 100}
    validate: {seeds: [101, 102, 103]}

Relative paths in the file resolve against its folder; paths given with ``--set`` against the working directory.
Names that become folder names (``name``, sources, eval sets) must match ``[A-Za-z0-9][A-Za-z0-9._-]*``.
"""
from __future__ import annotations

import os
import re

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class MixSpecError(ValueError):
    """A one-line problem with a mix spec, naming the key or the source."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _safe(name: str, what: str) -> str:
    if not SAFE_NAME.match(name) or name in (".", ".."):
        raise ValueError(f"{what} {name!r} must match {SAFE_NAME.pattern}")
    return name


class ExtraEval(_Strict):
    path: str = Field(description="A shard directory (manifest.json) of held-out text.")
    weight: float = Field(default=1.0, ge=0, description="Weight of this set's loss in the objective.")


class ProxySpec(_Strict):
    model: str = Field(default="mix-s", description="Named proxy model config (train/model.py SHAPES).")
    seq_len: int = Field(default=128, gt=1, description="Context length of the proxies.")
    batch_size: int = Field(default=16, gt=0, description="Sequences per step per proxy.")
    lr: float = Field(default=3e-3, gt=0, description="Peak learning rate (warmup, then cosine).")
    min_lr_ratio: float = Field(default=0.1, ge=0, le=1, description="The cosine ends at lr * min_lr_ratio; 0 "
                                                                     "anneals to zero, so a run's final loss does not "
                                                                     "hang on its last steps' gradient noise.")
    tokens: int = Field(default=500_000, gt=0, description="Training tokens per proxy run.")
    eval_tokens: int = Field(default=1 << 16, gt=0, description="At most this many tokens scored per eval set.")
    tie_embeddings: bool = Field(default=True, description="false: the output layer is a matrix of its own, not "
                                                           "the input embeddings (a lower loss for the same compute; "
                                                           "benchmarks/results/NOTES.md).")
    device: str = Field(default="auto", description="auto (CUDA when present), cpu, cuda, cuda:1 ...")


class SwarmSpec(_Strict):
    runs: int = Field(default=64, ge=4, description="Proposed mixtures (proxy runs), baselines not counted.")
    seed: int = Field(default=0, description="Seed of the proposals and of every proxy's init and sampling.")
    size: int | None = Field(default=None, gt=0, description="Proxies trained at once (default: chosen from "
                                                                "the device).")
    temperature: float = Field(default=0.5, gt=0, description="Prior = token shares ** temperature, "
                                                                "renormalised.")


class FitSpec(_Strict):
    regressor: str = Field(default="auto", description="linear, loglinear, lightgbm, or auto (the "
                                                         "simplest within one standard error of the best k-fold "
                                                         "Spearman).")
    folds: int = Field(default=5, ge=2, description="Folds of the cross-validation.")


class OptimizeSpec(_Strict):
    kl_penalty: float = Field(default=0.05, ge=0, description="Weight of KL(w || prior) added to the objective.")
    search_candidates: int = Field(default=200_000, ge=1000, description="Candidates of the seeded search.")
    top_k: int = Field(default=100, ge=1, description="The search averages its best top_k candidates.")


class ValidateSpec(_Strict):
    seeds: list[int] = Field(default_factory=lambda: [101, 102, 103], min_length=1,
                             description="Fresh seeds the chosen mix and the baselines are retrained with.")


class MixSpec(_Strict):
    name: str = Field(description="Name of the tuned mix (mixes/<name>.yaml).")
    out: str = Field(description="Working folder of the loop.")
    pool: str | None = Field(default=None, description="A shards stage's _artifacts folder (sources/, eval/).")
    source_dirs: dict[str, str] = Field(default_factory=dict,
                                        description="NAME -> shard directory, instead of or beside `pool`.")
    sources: list[str] | None = Field(default=None, description="Sources to mix (default: all found).")
    evals: dict[str, float] | None = Field(default=None,
                                           description="Pool eval set -> objective weight (default: all, 1.0).")
    extra_evals: dict[str, ExtraEval] = Field(default_factory=dict, description="Further eval sets.")
    final_tokens: int = Field(gt=0, description="Token budget of the final training run.")
    max_repetition: float | dict[str, float] = Field(default=4.0, description="Max epochs per source.")
    min_weight: dict[str, float] = Field(default_factory=dict, description="Per-source lower bounds.")
    max_weight: dict[str, float] = Field(default_factory=dict, description="Per-source upper bounds.")
    mix_file: str | None = Field(default=None, description="Where the tuned mix file goes (default "
                                                            "<out>/<name>.yaml).")
    proxy: ProxySpec = Field(default_factory=ProxySpec)
    swarm: SwarmSpec = Field(default_factory=SwarmSpec)
    fit: FitSpec = Field(default_factory=FitSpec)
    optimize: OptimizeSpec = Field(default_factory=OptimizeSpec)
    validate_runs: ValidateSpec = Field(default_factory=ValidateSpec, alias="validate")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("name")
    @classmethod
    def _name_safe(cls, v: str) -> str:
        return _safe(v, "name")

    @field_validator("sources")
    @classmethod
    def _sources_safe(cls, v):
        return None if v is None else [_safe(s, "source") for s in v]

    @field_validator("source_dirs", "extra_evals")
    @classmethod
    def _keys_safe(cls, v: dict):
        for k in v:
            _safe(k, "name")
        return v

    @model_validator(mode="after")
    def _has_pool(self):
        if self.pool is None and not self.source_dirs:
            raise ValueError("give `pool` (a shards stage's _artifacts folder) or `source_dirs`")
        return self

    def repetition(self, source: str) -> float:
        if isinstance(self.max_repetition, dict):
            return float(self.max_repetition.get(source, 1.0))
        return float(self.max_repetition)


def _resolve(path: str, base: str) -> str:
    path = os.path.expanduser(path)
    return path if os.path.isabs(path) else os.path.normpath(os.path.join(base, path))


def _path_slots(doc: dict) -> list[tuple[dict, str]]:
    """(mapping, key) of every path value in a spec document."""
    slots = [(doc, k) for k in ("out", "pool", "mix_file") if isinstance(doc.get(k), str)]
    if isinstance(doc.get("source_dirs"), dict):
        slots += [(doc["source_dirs"], k) for k, v in doc["source_dirs"].items() if isinstance(v, str)]
    if isinstance(doc.get("extra_evals"), dict):
        slots += [(e, "path") for e in doc["extra_evals"].values() if isinstance(e, dict)
                  and isinstance(e.get("path"), str)]
    return slots


def _resolve_doc(doc: dict, base: str) -> None:
    for mapping, key in _path_slots(doc):
        mapping[key] = _resolve(mapping[key], base)


def load_mix_spec(path: str, overrides: list[str] | tuple[str, ...] = ()) -> MixSpec:
    """Read, override (``dotted.key=value``, values parsed as YAML) and validate a mix spec; the file's paths
    resolve against its folder, overridden ones against the working directory. Errors are one line naming the
    file and the key."""
    if not os.path.isfile(path):
        raise MixSpecError(f"mix spec not found: {path}")
    with open(path, encoding="utf-8") as f:
        try:
            doc = yaml.safe_load(f) or {}
        except yaml.YAMLError as exc:
            raise MixSpecError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict):
        raise MixSpecError(f"{path}: a mix spec is a mapping of keys, got {type(doc).__name__}")
    # the file's paths are relative to its folder, an override's to the working directory (as for pipelines)
    _resolve_doc(doc, os.path.dirname(os.path.abspath(path)))
    for assignment in overrides:
        key, sep, raw = assignment.partition("=")
        if not sep or not key:
            raise MixSpecError(f"override must be dotted.key=value, got {assignment!r}")
        node = doc
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise MixSpecError(f"override {key!r}: {part!r} is not a mapping")
        node[parts[-1]] = yaml.safe_load(raw)
        _resolve_doc(doc, os.getcwd())
    try:
        spec = MixSpec.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "spec"
        raise MixSpecError(f"{path}: {where}: {first['msg']}") from None
    return spec
