"""Options declared once as pydantic fields, and the plain description every client builds its controls from.

A setting is declared with `option(default, help, ge=…, le=…)` on a pydantic model (the job options in
`finepose_core/options.py`, the server's settings in `server/config.py`): that field is the only place its
default, range, choices and help are written. `option_specs(model)` turns the fields into a list of plain
dicts ("specs") that need nothing but the standard library to read: `option_flags.py` builds command-line
flags from them, and the Blender add-on, which cannot import pydantic, reads the same specs from the JSON
file that `scripts/build_options_schema.py` writes into it.

Kept free of torch so that `python -m server --help` answers at once.
"""

from __future__ import annotations

import types
from typing import Any, Literal, Protocol, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

Spec = dict[str, Any]


def option(
    default: Any,
    help: str,
    *,
    flag: str | None = None,
    label: str | None = None,
    cli: bool = True,
    group: str | None = None,
    ui_default: Any = None,
    metavar: str | None = None,
    **limits: Any,
) -> Any:
    """A pydantic field with what clients need beyond pydantic's own metadata.

    `flag`: the command-line flag (default `--name-with-dashes`); `cli=False`: no flag. `label`: the name
    shown in Blender (default from the field name). `group`: options of one mutually exclusive group (one
    flag of the group at most). `ui_default`: the value a UI starts from for an option whose default is
    "unset". `metavar`: the placeholder of the flag's value in `--help`.
    """
    extra: dict[str, Any] = {"x-cli": cli}
    pairs = (
        ("x-flag", flag),
        ("x-label", label),
        ("x-group", group),
        ("x-ui-default", ui_default),
        ("x-metavar", metavar),
    )
    for key, value in pairs:
        if value is not None:
            extra[key] = value
    return Field(default, description=help, json_schema_extra=extra, **limits)


def _base_type(annotation: Any) -> tuple[Any, bool]:
    """(the annotation without `| None`, whether None is allowed)."""
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return members[0], len(members) < len(get_args(annotation))
    return annotation, False


def _limits(info: FieldInfo) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in info.metadata:
        if isinstance(item, annotated_types.Ge):
            out["minimum"] = item.ge
        elif isinstance(item, annotated_types.Gt):
            out["exclusive_minimum"] = item.gt
        elif isinstance(item, annotated_types.Le):
            out["maximum"] = item.le
        elif isinstance(item, annotated_types.Lt):
            out["exclusive_maximum"] = item.lt
        elif isinstance(item, annotated_types.MaxLen):
            out["max_length"] = item.max_length
    return out


def _default(info: FieldInfo) -> Any:
    if info.default is not PydanticUndefined:
        return info.default
    if info.default_factory is not None:
        return info.default_factory()  # type: ignore[call-arg]
    raise TypeError("every option needs a default")


def option_specs(model: type[BaseModel]) -> list[Spec]:
    """One spec per field of `model`, in declaration order (see the module's docstring)."""
    specs = []
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        base, nullable = _base_type(info.annotation)
        spec: Spec = {
            "name": name,
            "default": _default(info),
            "nullable": nullable,
            "help": info.description or "",
            "label": extra.get("x-label", name.replace("_", " ").title()),
            "flag": ("--" + name.replace("_", "-")) if extra.get("x-flag") is None else extra["x-flag"],
            **_limits(info),
        }
        if not extra.get("x-cli", True):
            spec["flag"] = None
        for key in ("x-group", "x-ui-default", "x-metavar"):
            if key in extra:
                spec[key[2:].replace("-", "_")] = extra[key]
        if get_origin(base) is Literal:
            choices = list(get_args(base))
            spec.update(type=type(choices[0]).__name__, choices=choices)
        elif get_origin(base) is dict:
            key_type, value_type = get_args(base)
            spec.update(type="parts", choices=list(get_args(key_type)), fields=option_specs(value_type))
        elif base in (bool, int, float, str):
            spec["type"] = base.__name__
        else:  # a path or another type given on the command line as text
            spec["type"] = "str"
        specs.append(spec)
    return specs


class _HasErrors(Protocol):
    def errors(self) -> Any: ...


def describe_errors(error: _HasErrors, prefix: str = "", most: int = 5) -> str:
    """Pydantic's (or FastAPI's) validation errors as 'field.path: what is wrong; …', the first `most`."""
    items = list(error.errors())
    parts = []
    for item in items[:most]:
        location = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
        where = ".".join(p for p in (prefix, location) if p)
        text = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {text}" if where else text)
    more = len(items) - most
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
