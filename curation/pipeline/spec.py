"""Pipeline specs: YAML validated with pydantic, with ``--set dotted.key=value`` overrides.

A bad spec fails fast with one line naming the offending key, before Spark starts. Relative paths in a spec file
(``out``, input paths, stage files such as models, mix files and tokenizers) resolve against the spec file's folder;
values given with ``--set`` are relative to the working directory. A stage path starting with ``{out}`` lives in the
run directory (:mod:`curation.pipeline.resources`).
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

# Names that become folders under `out` (stage names, input sources): no separators, no leading dot.
SAFE_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"
# Folder and file names the runner writes under `out` itself: a stage of that name would overwrite or delete them.
RESERVED_NAMES = frozenset({"rejected", "_tmp", "spec.yaml", "ledger.json", "report.md", "report.html", "run.lock"})


def _safe_name(v: str, what: str) -> str:
    import re

    if not re.fullmatch(SAFE_NAME, v):
        raise ValueError(f"{what} {v!r} is not a safe folder name ({SAFE_NAME})")
    return v


class SpecError(ValueError):
    """A user-facing, one-line problem with a pipeline spec."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SparkSpec(_Strict):
    master: str | None = None  # None: local[*], or what spark-submit was given
    conf: dict[str, str] = Field(default_factory=dict)
    driver_memory: str | None = None
    executor_memory: str | None = None

    @field_validator("conf", mode="before")
    @classmethod
    def _stringify(cls, v):
        return {str(k): str(val).lower() if isinstance(val, bool) else str(val) for k, val in (v or {}).items()}


class InputSpec(_Strict):
    format: str
    path: str
    source: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    # what the input's row ids start with: its source, or input<i> (set by validate_spec)
    _id_prefix: str | None = PrivateAttr(None)

    @property
    def id_prefix(self) -> str | None:
        return self._id_prefix

    @field_validator("source")
    @classmethod
    def _safe_source(cls, v):
        return v if v is None else _safe_name(v, "source")

    @field_validator("format")
    @classmethod
    def _known_format(cls, v):
        from curation.readers.formats import READERS

        if v not in READERS:
            raise ValueError(f"unknown format {v!r} (known: {', '.join(sorted(READERS))})")
        return v


class StageSpec(_Strict):
    name: str
    type: str
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _safe_stage_name(cls, v):
        _safe_name(v, "stage name")
        if v.lower() in RESERVED_NAMES:
            raise ValueError(f"stage name {v!r} is reserved (the run folder's own: "
                             f"{', '.join(sorted(RESERVED_NAMES))})")
        return v


class PipelineSpec(_Strict):
    out: str
    seed: int = 0
    spark: SparkSpec = Field(default_factory=SparkSpec)
    inputs: list[InputSpec] = Field(default_factory=list)
    stages: list[StageSpec]
    # write the documents at every stage, lazy ones included (Parquet ingest, annotation-only stages): for browsing
    # intermediate outputs, at the cost of a copy per stage
    materialize: bool = False
    # the run stops (non-zero exit) after its source stage when more than this share of the input files yield no
    # document but errors, or when no document at all could be read
    max_failed_file_share: float = Field(0.5, ge=0, le=1)

    @field_validator("stages", mode="before")
    @classmethod
    def _stages_from_mapping(cls, v):
        # In YAML, stages are an ordered mapping `name: {type: ..., params...}` so that `--set stages.NAME.KEY=V`
        # addresses a stage by name.
        if isinstance(v, dict):
            out = []
            for name, body in v.items():
                body = dict(body or {})
                stype = body.pop("type", name)
                out.append({"name": str(name), "type": stype, "params": body})
            return out
        return v

    def stage_names(self) -> list[str]:
        return [s.name for s in self.stages]


def _parse_value(raw: str):
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw


def apply_override(doc: dict, assignment: str) -> None:
    """Apply ``a.b.c=value`` to a nested dict/list structure; the value is parsed as YAML (numbers, lists, ...)."""
    if "=" not in assignment:
        raise SpecError(f"--set {assignment!r}: expected KEY=VALUE")
    key, raw = assignment.split("=", 1)
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise SpecError(f"--set {assignment!r}: empty key")
    node: Any = doc
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise SpecError(f"--set {key}: {'.'.join(parts[:i + 1])} is not an index of a list of {len(node)}")
            node = node[int(part)]
        else:
            if node.get(part) is None:
                node[part] = {}
            node = node[part]
            if not isinstance(node, (dict, list)):
                raise SpecError(f"--set {key}: {'.'.join(parts[:i + 1])} is a value, not a section")
    last = parts[-1]
    if isinstance(node, list):
        if not last.isdigit() or int(last) >= len(node):
            raise SpecError(f"--set {key}: {last} is not an index of a list of {len(node)}")
        node[int(last)] = _parse_value(raw)
    else:
        node[last] = _parse_value(raw)


def _loc(loc: tuple, doc: dict) -> str:
    """Turn a pydantic error location into the dotted key the user wrote (stage names, not list indices)."""
    parts: list[str] = []
    stage_names = list((doc.get("stages") or {}).keys()) if isinstance(doc.get("stages"), dict) else []
    i = 0
    while i < len(loc):
        p = loc[i]
        if parts == ["stages"] and isinstance(p, int) and p < len(stage_names):
            parts.append(stage_names[p])
            # skip the StageSpec field name ("params") so the key reads stages.NAME.KEY
            if i + 1 < len(loc) and loc[i + 1] == "params":
                i += 1
        else:
            parts.append(str(p))
        i += 1
    return ".".join(parts)


def _first_error(err: ValidationError, doc: dict, prefix: str = "") -> str:
    e = err.errors()[0]
    key = _loc(tuple(e["loc"]), doc)
    key = f"{prefix}.{key}" if prefix and key else (prefix or key)
    msg = e["msg"]
    if e["type"] == "extra_forbidden":
        msg = "unknown key"
    elif e["type"] == "missing":
        msg = "required key is missing"
    return f"{key}: {msg}"


def load_spec(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> PipelineSpec:
    """Load, override, and validate a spec, including every stage's parameters. Raises :class:`SpecError`."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"spec file not found: {path}")
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise SpecError(f"{path}: invalid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(doc, dict):
        raise SpecError(f"{path}: a spec must be a mapping with out, inputs and stages")
    from curation.pipeline.resources import resolve_spec_paths

    resolve_spec_paths(doc, str(path.parent))
    return spec_from_mapping(doc, overrides, source=str(path))


def spec_from_mapping(doc: dict, overrides: Iterable[str] = (), source: str = "spec") -> PipelineSpec:
    """A spec from its mapping (what the YAML holds), ``overrides`` applied to a copy, validated."""
    doc = copy.deepcopy(doc)
    for assignment in overrides:
        apply_override(doc, assignment)
    from curation.pipeline.resources import fill_out

    fill_out(doc)
    return validate_spec(doc, source=source)


def validate_spec(doc: dict, source: str = "spec") -> PipelineSpec:
    try:
        spec = PipelineSpec.model_validate(doc)
    except ValidationError as err:
        raise SpecError(f"{source}: {_first_error(err, doc)}") from None
    from curation.pipeline.registry import stage_class

    sources = [inp.source for inp in spec.inputs]
    for i, inp in enumerate(spec.inputs):
        inp._id_prefix = inp.source if inp.source is not None and sources.count(inp.source) == 1 else \
            f"{inp.source or 'input'}{i}"
    seen = set()
    for s in spec.stages:
        if s.name in seen:
            raise SpecError(f"{source}: stages.{s.name}: duplicate stage name")
        seen.add(s.name)
        try:
            cls = stage_class(s.type)
        except KeyError as exc:
            raise SpecError(f"{source}: stages.{s.name}.type: {exc.args[0]}") from None
        try:
            cls.Params.model_validate(s.params)
        except ValidationError as err:
            raise SpecError(f"{source}: {_first_error(err, {}, prefix=f'stages.{s.name}')}") from None
    sources = [s for s in spec.stages if stage_class(s.type).is_source]
    if sources and spec.stages[0] is not sources[0]:
        raise SpecError(f"{source}: stages.{sources[0].name}: a source stage must come first")
    if sources and not spec.inputs:
        raise SpecError(f"{source}: inputs: at least one input is needed for stage {sources[0].name}")
    return spec


def check_inputs(spec: PipelineSpec) -> None:
    """Fail fast, with the key named, when an input path matches no files."""
    from curation.readers.file_source import list_files

    for i, inp in enumerate(spec.inputs):
        try:
            files = list_files(inp.path)
        except Exception as exc:  # e.g. a URI scheme without a file system
            raise SpecError(f"inputs.{i}.path: cannot list {inp.path}: {exc}") from None
        if not files:
            raise SpecError(f"inputs.{i}.path: no files match {inp.path}")


def dump_spec(spec: PipelineSpec) -> str:
    doc = spec.model_dump(mode="json")
    doc["stages"] = {s["name"]: {"type": s["type"], **s["params"]} for s in doc["stages"]}
    return yaml.safe_dump(doc, sort_keys=False)
