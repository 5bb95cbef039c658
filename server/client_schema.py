"""The options schema that the Blender add-on and the batch script read (`blender_addon/options_schema.json`):
the job options, the server's settings, the quality presets and the device choices, as plain specs generated
from their one definition, so that the add-on, which imports nothing from this project's Python packages,
never restates a default, a range or a choice. `scripts/build_options_schema.py` writes it (the extension
build runs it too); a test fails when the committed file is stale."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from finepose_core.devices import DEVICES
from finepose_core.option_specs import option_specs
from finepose_core.options import QUALITY_PRESETS, JobOptions
from server.config import ServerConfig

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "blender_addon" / "options_schema.json"


def client_schema() -> dict[str, Any]:
    return {
        "generated_by": "scripts/build_options_schema.py, from finepose_core/options.py and server/config.py",
        "job": option_specs(JobOptions),
        "presets": {
            name: {**asdict(preset), "summary": preset.summary()} for name, preset in QUALITY_PRESETS.items()
        },
        "server": option_specs(ServerConfig),
        "devices": list(DEVICES),
    }


def render() -> str:
    return json.dumps(client_schema(), indent=1, ensure_ascii=False) + "\n"
