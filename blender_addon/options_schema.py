"""The job options, quality presets and server settings as the server defines them, read from
`options_schema.json` (generated from the project's one definition of every option by
scripts/build_options_schema.py), so that the panel, the preferences and the batch script show the same
defaults, limits and choices without importing the project's Python packages, which Blender lacks."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_FILE = Path(__file__).resolve().with_name("options_schema.json")
Spec = dict[str, Any]


@dataclass(frozen=True)
class OptionsSchema:
    job_specs: list[Spec]
    presets: dict[str, dict[str, Any]]
    server_specs: list[Spec]
    devices: list[str]

    def job(self, name: str) -> Spec:
        return next(spec for spec in self.job_specs if spec["name"] == name)

    def server(self, name: str) -> Spec:
        return next(spec for spec in self.server_specs if spec["name"] == name)

    def part(self, field: str) -> Spec:
        """A field (description, strength) of one body part's options."""
        return next(spec for spec in self.job("parts")["fields"] if spec["name"] == field)

    @property
    def parts(self) -> list[str]:
        return list(self.job("parts")["choices"])

    @property
    def server_url(self) -> str:
        """Where a local server listens by default."""
        return f"http://{self.server('host')['default']}:{self.server('port')['default']}"


@cache  # the file ships with the add-on and never changes while Blender runs
def load() -> OptionsSchema:
    raw = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return OptionsSchema(raw["job"], raw["presets"], raw["server"], raw["devices"])


def sentence(text: str) -> str:
    """A spec's help as Blender shows descriptions: capitalised."""
    return text[:1].upper() + text[1:]
