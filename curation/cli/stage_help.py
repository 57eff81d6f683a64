"""`curate stages`: each stage type with its parameters' types, defaults and descriptions, read from the pydantic
``Field(description=...)`` of its ``Params`` (nested parameter models, such as the heuristics rule sets, are listed
under their parent), laid out for an 80-column terminal."""
from __future__ import annotations

import textwrap
import types
import typing

from pydantic import BaseModel

WIDTH = 80


def type_name(annotation) -> str:
    """A parameter type as a spec author reads it: ``int | None``, ``list[str]``, ``'a' | 'b'``."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join("None" if a is type(None) else type_name(a) for a in args)
    if origin is not None:
        return f"{getattr(origin, '__name__', str(origin))}[{', '.join(type_name(a) for a in args)}]"
    return getattr(annotation, "__name__", str(annotation))


def _nested_model(annotation):
    """The pydantic model a parameter holds (itself, optional, or as list items), with the suffix its fields get."""
    args = typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, ""
    if typing.get_origin(annotation) is list and args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
        return args[0], "[]"
    for a in args:
        if isinstance(a, type) and issubclass(a, BaseModel):
            return a, ""
    return None, ""


_UNSET = object()


def _default(field, inherited=_UNSET) -> tuple[str, object]:
    """(the default as shown, the default value) of a field. Inside a nested model the value is ``inherited`` from
    the parent's default: the heuristics stage runs all four rule sets, although each set's own field defaults to
    null."""
    if inherited is not _UNSET:
        value = inherited
    elif field.is_required():
        return "(required)", None
    elif field.default_factory is not None:
        value = field.default_factory()
    else:
        value = field.default
    if isinstance(value, BaseModel):
        return "= (as below)", value
    return f"= {'null' if value is None else repr(value)}", value


def param_lines(model: type[BaseModel], prefix: str = "", indent: int = 2,
                defaults: BaseModel | None = None) -> list[str]:
    """``name: type = default`` and the wrapped description of each field of ``model``, nested models expanded;
    ``defaults``: the instance whose values are the defaults (a nested model's parent default)."""
    lines = []
    for name, field in model.model_fields.items():
        shown, value = _default(field, _UNSET if defaults is None else getattr(defaults, name))
        head = f"{' ' * indent}{prefix}{name}: {type_name(field.annotation)}"
        lines += [f"{head} {shown}"] if len(head) + len(shown) < WIDTH else [head, f"{' ' * (indent + 2)}{shown}"]
        if field.description:
            lines += textwrap.wrap(field.description, WIDTH, initial_indent=" " * (indent + 4),
                                   subsequent_indent=" " * (indent + 4))
        nested, suffix = _nested_model(field.annotation)
        if nested is not None:
            lines += param_lines(nested, f"{prefix}{name}{suffix}.", indent + 2,
                                 value if isinstance(value, BaseModel) else None)
    return lines


def stage_help(name: str, cls) -> str:
    """One stage type: its name, the first line of its docstring, its parameters."""
    doc = " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())
    lines = [name] + textwrap.wrap(doc, WIDTH, initial_indent="  ", subsequent_indent="  ")
    if cls.Params.model_fields:
        lines += ["  parameters:"] + param_lines(cls.Params, indent=4)
    return "\n".join(lines)
