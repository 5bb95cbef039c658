"""Every option is defined once (finepose_core/options.py, server/config.py): each client — the lift CLI, the
server and its CLI, the batch script, the demo, the Blender add-on's panel and preferences — shows the same
defaults, limits and choices, and the add-on's generated schema file is current."""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from finepose_core import lift
from finepose_core.devices import DEFAULT_DEVICE, DEVICES
from finepose_core.option_flags import add_flags, given_options
from finepose_core.option_specs import option_specs
from finepose_core.options import QUALITY_PRESETS, JobOptions
from server import __main__ as server_cli
from server.client_schema import SCHEMA_PATH, client_schema, render
from server.config import ServerConfig
from tests.conftest import REPO_ROOT

JOB_SPECS = option_specs(JobOptions)
SERVER_SPECS = option_specs(ServerConfig)
JOB_DEFAULTS = JobOptions().model_dump()
SERVER_DEFAULTS = ServerConfig().model_dump()


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"scripts_{name}", REPO_ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the script is executed
    spec.loader.exec_module(module)
    return module


def _parser_defaults(parser: argparse.ArgumentParser) -> dict[str, Any]:
    return {action.dest: action.default for action in parser._actions}


def _parser_choices(parser: argparse.ArgumentParser) -> dict[str, Any]:
    return {action.dest: list(action.choices) for action in parser._actions if action.choices is not None}


def _assert_job_flags(parser: argparse.ArgumentParser, names: list[str] | None = None) -> None:
    defaults, choices = _parser_defaults(parser), _parser_choices(parser)
    for spec in JOB_SPECS:
        if names is not None and spec["name"] not in names:
            continue
        expected = [] if spec["type"] == "parts" else JOB_DEFAULTS[spec["name"]]
        assert defaults[spec["name"]] == expected, spec["name"]
        if spec.get("choices") and spec["type"] != "parts":
            assert choices[spec["name"]] == spec["choices"], spec["name"]


def test_the_addons_schema_file_is_current() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render(), (
        "blender_addon/options_schema.json is stale: run `python scripts/build_options_schema.py`"
    )
    check = subprocess.run(
        [sys.executable, "scripts/build_options_schema.py", "--check"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr


def test_the_schema_holds_every_option_with_its_definition() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    by_name = {spec["name"]: spec for spec in schema["job"]}
    assert list(by_name) == list(JobOptions.model_fields)
    assert by_name["max_people"] | {} == {
        "name": "max_people",
        "default": 4,
        "nullable": False,
        "help": JobOptions.model_fields["max_people"].description,
        "label": "Max People",
        "flag": "--max-people",
        "minimum": 1,
        "maximum": 16,
        "type": "int",
    }
    assert by_name["mediapipe_depth"]["default"] == JOB_DEFAULTS["mediapipe_depth"]
    assert by_name["preset"]["choices"] == list(QUALITY_PRESETS)
    assert by_name["fov_deg"]["group"] == by_name["focal_px"]["group"] == "camera"
    strength = next(s for s in by_name["parts"]["fields"] if s["name"] == "strength")
    assert (strength["minimum"], strength["default"], strength["maximum"]) == (0.0, 1.0, 2.0)
    assert schema["presets"]["best"] == {
        "hypotheses": 20,
        "steps": 10,
        "flip": True,
        "summary": "20 hypotheses, 10 steps, flip",
    }
    assert schema["devices"] == list(DEVICES) and schema == json.loads(json.dumps(client_schema()))


def test_the_lift_cli_takes_every_default_from_the_options() -> None:
    parser = lift.build_parser()
    _assert_job_flags(parser)
    assert _parser_defaults(parser)["device"] == DEFAULT_DEVICE
    args = parser.parse_args(["clip.mp4", "-o", "r.json"])
    assert JobOptions.model_validate(given_options(args, JOB_SPECS)) == JobOptions()


def test_the_server_cli_takes_every_default_from_its_settings() -> None:
    parser = server_cli.build_parser()
    defaults = _parser_defaults(parser)
    for spec in SERVER_SPECS:
        if spec["flag"] is not None:
            assert defaults[spec["name"]] == SERVER_DEFAULTS[spec["name"]], spec["name"]
    assert _parser_choices(parser)["device"] == list(DEVICES)
    assert server_cli.config_from([]) == ServerConfig()
    assert server_cli.config_from(["--max-queue", "3"]).max_queue == 3


def test_the_demo_offers_the_presets_of_the_options() -> None:
    parser = _script("demo").build_parser()
    _assert_job_flags(parser, ["preset"])
    assert _parser_defaults(parser)["action"] == "walking"  # the sample clip's, on purpose


def test_the_batch_script_takes_every_default_from_the_schema() -> None:
    pytest.importorskip("bpy", reason="the batch script imports bpy; the wheel is installed by `make setup`")
    batch = _script("batch")
    parser = batch.build_parser()
    _assert_job_flags(parser)
    args = parser.parse_args(["--video", "x.mp4"])
    assert batch.server_options(args) == {}  # nothing but the server's own defaults
    assert _parser_defaults(parser)["server"].endswith(f"127.0.0.1:{SERVER_DEFAULTS['port']}")


def test_the_addon_panel_and_preferences_show_the_options_definitions() -> None:
    bpy = pytest.importorskip("bpy", reason="the bpy wheel is installed by `make setup` (extra 'dev')")
    import addon_utils

    addon_utils.enable("blender_addon", default_set=True, handle_error=None)
    try:
        props = bpy.context.scene.finepose.bl_rna.properties
        pairs = {"max_people": "max_people", "image_depth": "mediapipe_depth", "frame_start": "start"}
        for prop, option in pairs.items():
            field = JobOptions.model_fields[option]
            limits = {type(m).__name__: m for m in field.metadata}
            assert props[prop].default == pytest.approx(field.default), prop
            assert props[prop].hard_min == pytest.approx(limits["Ge"].ge), prop
            assert props[prop].hard_max == pytest.approx(limits["Le"].le), prop
        for prop in ("fov_deg", "focal_px"):
            spec = next(s for s in JOB_SPECS if s["name"] == prop)
            assert props[prop].default == pytest.approx(spec["ui_default"])
            assert (props[prop].hard_min, props[prop].hard_max) == pytest.approx(
                (spec["minimum"], spec["maximum"])
            )
        assert [item.identifier for item in props["preset"].enum_items] == list(QUALITY_PRESETS)
        assert props["preset"].default == JOB_DEFAULTS["preset"]
        assert props["preset"].enum_items["best"].description == QUALITY_PRESETS["best"].summary()
        speeds = next(s for s in JOB_SPECS if s["name"] == "speed")["choices"]
        assert [item.identifier.lower() for item in props["speed"].enum_items] == speeds
        assert props["speed"].default.lower() == JOB_DEFAULTS["speed"]
        settings = bpy.context.scene.finepose
        settings.action = "x" * 1000  # Blender cuts a string at its property's length
        assert len(settings.action) == JobOptions.model_fields["action"].metadata[0].max_length
        settings.action = ""
        for part in ("head", "body", "arms", "legs"):
            strength = props[f"{part}_strength"]
            assert (strength.hard_min, strength.default, strength.hard_max) == (0.0, 1.0, 2.0)
        prefs = bpy.context.preferences.addons["blender_addon"].preferences
        assert prefs.server_url == f"http://{SERVER_DEFAULTS['host']}:{SERVER_DEFAULTS['port']}"
        # the panel's untouched settings send nothing but the server's defaults
        from blender_addon.properties import server_options

        assert server_options(bpy.context.scene.finepose) == {}
    finally:
        addon_utils.disable("blender_addon", default_set=True)


def test_flags_refuse_values_out_of_range_with_the_range() -> None:
    parser = argparse.ArgumentParser(exit_on_error=False)
    add_flags(parser, JOB_SPECS)
    for flags, message in (
        (["--max-people", "17"], "must be within 1–16"),
        (["--mediapipe-depth", "-0.1"], "must be within 0–1"),
        (["--part", "arms=up@2.5"], "the strength must be within 0–2"),
        (["--part", "tail=up"], "PART one of head, body, arms, legs"),
        (["--steps", "two"], "'two' is not an int"),
    ):
        with pytest.raises(argparse.ArgumentError, match=message):
            parser.parse_args(flags)
    with pytest.raises(argparse.ArgumentError, match="not allowed with argument --fov"):
        parser.parse_args(["--fov", "60", "--focal-px", "900"])


def test_given_options_keep_what_differs_from_the_defaults() -> None:
    parser = argparse.ArgumentParser()
    add_flags(parser, JOB_SPECS)
    args = parser.parse_args(
        ["--part", 'arms="raised overhead"@1.5', "--part", "legs=bent", "--max-people", "4", "--fov", "50"]
    )
    given = given_options(args, JOB_SPECS)
    assert given == {
        "parts": {
            "arms": {"description": "raised overhead", "strength": 1.5},
            "legs": {"description": "bent"},
        },
        "fov_deg": 50.0,
    }
    options = JobOptions.model_validate(given)
    assert options.prompts.part("arms").strength == 1.5 and options.prompts.part("legs").strength == 1.0


def test_the_flag_builder_needs_nothing_but_the_standard_library() -> None:
    """scripts/batch.py runs it inside Blender, whose Python has neither pydantic nor torch."""
    code = (
        "import sys; import finepose_core.option_flags; "
        "bad = {'pydantic', 'torch', 'numpy'} & set(sys.modules); assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True)


def test_no_client_restates_a_default(tmp_path: Path) -> None:
    """The values that were once written in several places appear in their one definition only."""
    sources = [
        p
        for folder in ("finepose_core", "server", "blender_addon", "scripts")
        for p in (REPO_ROOT / folder).rglob("*.py")
    ]
    restated = {
        '"auto", "cpu", "cuda"': "finepose_core/devices.py",
        '"fast", "balanced", "best"': "finepose_core/options.py",
        "max_people: int = option(4": "finepose_core/options.py",
        "8765": "server/config.py",
    }
    for text, home in restated.items():
        found = sorted(
            str(p.relative_to(REPO_ROOT)) for p in sources if text in p.read_text(encoding="utf-8")
        )
        assert found == [home], (text, found)
