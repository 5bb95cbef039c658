"""Command-line flags built from option specs (`option_specs.py`): one flag per option, with its default,
choices, range and help taken from the spec, and the values given turned back into options.

    specs = option_specs(JobOptions)                     # or the list read from options_schema.json
    add_flags(parser, specs)
    options = given_options(parser.parse_args(), specs)  # {"max_people": 2, …}: defaults left out

Body-part prompts are one repeatable flag, `--part PART="TEXT"@STRENGTH`. Values outside an option's range
are refused by argparse with the range in the message, before any work starts.

Standard library only: scripts/batch.py runs it inside Blender, whose Python has no pydantic.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterable
from typing import Any

Spec = dict[str, Any]
PART_FLAG = re.compile(r"^(?P<part>\w+)=(?P<text>.*?)(?:@(?P<strength>[-+0-9.eE]+))?$")
CASTS: dict[str, Callable[[str], Any]] = {"int": int, "float": float, "str": str}


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def describe_range(spec: Spec) -> str:
    """'1–16', '> 0, ≤ 1000000', '≥ 0' or '' from a spec's limits."""
    low = spec.get("minimum")
    high = spec.get("maximum")
    if low is not None and high is not None:
        return f"{_number(low)}–{_number(high)}"
    if "exclusive_minimum" in spec:
        text = f"> {_number(spec['exclusive_minimum'])}"
        return text + (f", ≤ {_number(high)}" if high is not None else "")
    if low is not None:
        return f"≥ {_number(low)}"
    return f"≤ {_number(high)}" if high is not None else ""


def check_value(spec: Spec, value: Any) -> str | None:
    """Why `value` is outside the spec's range or choices, or None when it is inside."""
    if value is None:
        return None if spec.get("nullable") else "a value is required"
    if spec.get("choices") is not None and spec["type"] != "parts" and value not in spec["choices"]:
        return "choose one of " + ", ".join(str(choice) for choice in spec["choices"])
    bounded = ("minimum", "exclusive_minimum", "maximum", "exclusive_maximum")
    if spec["type"] in ("int", "float") and any(key in spec for key in bounded):
        low, high = spec.get("minimum"), spec.get("maximum")
        if (
            (low is not None and value < low)
            or (high is not None and value > high)
            or ("exclusive_minimum" in spec and value <= spec["exclusive_minimum"])
            or ("exclusive_maximum" in spec and value >= spec["exclusive_maximum"])
        ):
            return f"must be within {describe_range(spec)}"
    if spec["type"] == "str" and "max_length" in spec and len(value) > spec["max_length"]:
        return f"at most {spec['max_length']} characters"
    return None


def _typed(spec: Spec) -> Callable[[str], Any]:
    cast = CASTS[spec["type"]]

    def convert(text: str) -> Any:
        try:
            value = cast(text)
        except ValueError:
            article = "an" if cast is int else "a"
            raise argparse.ArgumentTypeError(f"{text!r} is not {article} {spec['type']}") from None
        problem = check_value(spec, value)
        if problem:
            raise argparse.ArgumentTypeError(f"{text}: {problem}")
        return value

    convert.__name__ = spec["type"]  # argparse names the type in its messages
    return convert


def part_parser(spec: Spec) -> Callable[[str], tuple[str, dict[str, Any]]]:
    """The `--part` flag's type: `arms="raised overhead"@1.5` (the shell removes the quotes) →
    ("arms", {"description": "raised overhead", "strength": 1.5}); the part and the strength are checked
    against the spec of the `parts` option."""
    fields = {field["name"]: field for field in spec["fields"]}

    def parse(value: str) -> tuple[str, dict[str, Any]]:
        usage = f"use PART=DESCRIPTION[@STRENGTH] with PART one of {', '.join(spec['choices'])}"
        match = PART_FLAG.match(value.strip())
        if not match or match.group("part") not in spec["choices"]:
            raise argparse.ArgumentTypeError(f"{value!r}: {usage}")
        part: dict[str, Any] = {"description": match.group("text").strip().strip("\"'")}
        if match.group("strength"):
            try:
                part["strength"] = float(match.group("strength"))
            except ValueError:
                raise argparse.ArgumentTypeError(f"{value!r}: {usage}") from None
        for name, given in part.items():
            problem = check_value(fields[name], given)
            if problem:
                raise argparse.ArgumentTypeError(f"{value!r}: the {name} {problem}")
        return match.group("part"), part

    parse.__name__ = "part"
    return parse


def _help(spec: Spec) -> str:
    notes = []
    default = spec["default"]
    if spec["type"] not in ("parts", "bool") and default is not None and default != "":
        notes.append(f"default {_number(default) if spec['type'] == 'float' else default}")
    limits = describe_range(spec)
    if limits:
        notes.append(limits)
    text = str(spec["help"]) + (f" ({'; '.join(notes)})" if notes else "")
    return text.replace("%", "%%")  # argparse formats help with %


def add_flags(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, specs: list[Spec], skip: Iterable[str] = ()
) -> None:
    """One flag per spec that has one (except the names in `skip`); mutually exclusive groups as declared."""
    left_out = set(skip)
    groups: dict[str, Any] = {}
    for spec in specs:
        if spec["flag"] is None or spec["name"] in left_out:
            continue
        target: Any = parser
        if spec.get("group"):
            target = groups.get(spec["group"]) or groups.setdefault(
                spec["group"], parser.add_mutually_exclusive_group()
            )
        common = {"dest": spec["name"], "help": _help(spec)}
        if spec["type"] == "parts":
            target.add_argument(
                spec["flag"], type=part_parser(spec), action="append", default=[], metavar='PART="TEXT"@S',
                **common,
            )  # fmt: skip
        elif spec["type"] == "bool":
            action = argparse.BooleanOptionalAction if spec["default"] else "store_true"
            target.add_argument(spec["flag"], action=action, default=spec["default"], **common)
        elif spec.get("choices") is not None:
            target.add_argument(spec["flag"], choices=spec["choices"], default=spec["default"], **common)
        else:
            metavar = spec.get("metavar") or {"int": "N", "float": "X"}.get(spec["type"], "TEXT")
            target.add_argument(
                spec["flag"], type=_typed(spec), default=spec["default"], metavar=metavar, **common
            )


def given_options(args: argparse.Namespace, specs: list[Spec]) -> dict[str, Any]:
    """The options whose flags were given a value other than the default, as JSON values."""
    out: dict[str, Any] = {}
    for spec in specs:
        if not hasattr(args, spec["name"]) or spec["flag"] is None:
            continue
        value = getattr(args, spec["name"])
        if spec["type"] == "parts":
            value = dict(value)
        if value != spec["default"]:
            out[spec["name"]] = value
    return out
