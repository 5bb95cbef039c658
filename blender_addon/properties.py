"""The panel's settings (saved with the .blend, per scene) and the running job's state (per session)."""

from __future__ import annotations

from typing import Any

import bpy
from bpy.props import (
    BoolProperty,
    EnumProperty,
    FloatProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)

from .apply import ApplyOptions
from .job import job_options
from .options_schema import load, sentence
from .retarget.bones import PRESET_LABELS
from .retarget.prepare import SMOOTHING_RANGE, MotionOptions

SCHEMA = load()
PARTS = tuple(SCHEMA.parts)


def _number(option: str, kind: Any, **overrides: Any) -> Any:
    """A Blender number property from a job option's spec: its label, help, default and limits."""
    spec = SCHEMA.job(option)
    settings: dict[str, Any] = {
        "name": spec["label"],
        "description": sentence(spec["help"]),
        "default": spec["default"] if spec["default"] is not None else spec.get("ui_default"),
    }
    for key, limit in (("min", "minimum"), ("max", "maximum")):
        if spec.get(limit) is not None:
            settings[key] = spec[limit]
    return kind(**(settings | overrides))


def _part_properties() -> dict[str, Any]:
    text, strength = SCHEMA.part("description"), SCHEMA.part("strength")
    props: dict[str, Any] = {}
    for part in PARTS:
        props[f"{part}_text"] = StringProperty(
            name=part.capitalize(),
            description=f"Words about the {part} (empty: none)",
            maxlen=text["max_length"],
        )
        props[f"{part}_strength"] = FloatProperty(
            name=strength["label"],
            description=sentence(strength["help"]),
            default=strength["default"],
            min=strength["minimum"],
            max=strength["maximum"],
        )
    return props


def _speed_items() -> list[tuple[str, str, str]]:
    return [(choice.upper(), choice.capitalize(), "") for choice in SCHEMA.job("speed")["choices"]]


def _preset_items() -> list[tuple[str, str, str]]:
    return [(name, name.capitalize(), preset["summary"]) for name, preset in SCHEMA.presets.items()]


def _camera_items() -> list[tuple[str, str, str]]:
    fov = SCHEMA.job("fov_deg")
    return [
        ("AUTO", "Auto", f"Estimate (a {fov['ui_default']:g}° horizontal field of view)"),
        ("FOV", "Field of View", sentence(fov["help"])),
        ("FOCAL", "Focal Length", sentence(SCHEMA.job("focal_px")["help"])),
    ]


class FinePoseSettings(bpy.types.PropertyGroup):
    __annotations__ = {
        "video_path": StringProperty(name="Video", subtype="FILE_PATH", description="The video to lift"),
        "use_active_clip": BoolProperty(
            name="Use Active Movie Clip", description="Lift the clip open in the Movie Clip editor instead"
        ),
        "frame_start": _number("start", IntProperty, name="Start"),
        # 0 stands for "to the end" (an unset end), which an IntProperty cannot hold
        "frame_end": _number("end", IntProperty, name="End", default=0, min=0),
        "max_people": _number("max_people", IntProperty),
        "camera_mode": EnumProperty(name="Camera", items=_camera_items(), default="AUTO"),
        "fov_deg": _number("fov_deg", FloatProperty),
        "focal_px": _number("focal_px", FloatProperty),
        "action": StringProperty(
            name="Action",
            description=sentence(SCHEMA.job("action")["help"]),
            maxlen=SCHEMA.job("action")["max_length"],
        ),
        "speed": EnumProperty(
            name="Speed", items=_speed_items(), default=SCHEMA.job("speed")["default"].upper()
        ),
        **_part_properties(),
        "part_texts": EnumProperty(
            name=SCHEMA.job("part_texts")["label"],
            description=sentence(SCHEMA.job("part_texts")["help"]),
            items=[
                (choice, "From the Image" if choice == "auto" else choice.capitalize(), "")
                for choice in SCHEMA.job("part_texts")["choices"]
            ],
            default=SCHEMA.job("part_texts")["default"],
        ),
        "preset": EnumProperty(
            name=SCHEMA.job("preset")["label"], items=_preset_items(), default=SCHEMA.job("preset")["default"]
        ),
        "image_depth": _number("mediapipe_depth", FloatProperty, subtype="FACTOR"),
        "second_look": BoolProperty(
            name=SCHEMA.job("second_look")["label"],
            description=sentence(SCHEMA.job("second_look")["help"]),
            default=SCHEMA.job("second_look")["default"],
        ),
        "target": EnumProperty(
            name="Target",
            items=[
                ("NEW", "New Armature per Person", "Build an armature for every person found"),
                ("SELECTED", "Selected Armature", "Retarget one person onto the active armature"),
            ],
            default="NEW",
        ),
        "bone_map": EnumProperty(
            name="Bone Map",
            items=[("AUTO", "Auto-detect", "By bone names")]
            + [(key, label, "") for key, label in PRESET_LABELS.items()]
            + [("CUSTOM", "Custom JSON", "A JSON map of logical bone → rig bone")],
            default="AUTO",
        ),
        "custom_map_path": StringProperty(name="Map File", subtype="FILE_PATH"),
        "person": IntProperty(
            name="Person", description="Person id to retarget (−1: the longest seen)", default=-1, min=-1
        ),
        "root_motion": BoolProperty(
            name="Root Motion",
            default=MotionOptions().root_motion,
            description="Keep the travel across the room",
        ),
        "put_on_floor": BoolProperty(name="Put on Floor", default=MotionOptions().put_on_floor),
        "foot_locking": BoolProperty(
            name="Foot Locking", default=MotionOptions().foot_locking, description="Pin planted feet"
        ),
        "flat_feet": BoolProperty(
            name="Flat Feet",
            default=MotionOptions().flat_feet,
            description="Keep planted feet flat on the floor, not tilted with the shins (rigs with feet)",
        ),
        "smoothing": FloatProperty(
            name="Smoothing",
            default=MotionOptions().smoothing,
            min=SMOOTHING_RANGE[0],
            max=SMOOTHING_RANGE[1],
            subtype="FACTOR",
        ),
    }


class FinePoseJobState(bpy.types.PropertyGroup):
    """What the panel shows while a job runs (not saved in files)."""

    __annotations__ = {
        "running": BoolProperty(options={"SKIP_SAVE"}),
        "cancel_requested": BoolProperty(options={"SKIP_SAVE"}),
        "progress": FloatProperty(min=0.0, max=1.0, subtype="FACTOR", options={"SKIP_SAVE"}),
        "stage": StringProperty(options={"SKIP_SAVE"}),
        "message": StringProperty(options={"SKIP_SAVE"}),
        "is_error": BoolProperty(options={"SKIP_SAVE"}),
        # the last lift's words per person and part, one line each: "id\tpart\tsource\twords"
        "words": StringProperty(options={"SKIP_SAVE"}),
    }


def server_options(settings: Any) -> dict[str, Any]:
    """The panel's settings → the server's job options (JSON)."""
    plain = SCHEMA.part("strength")["default"]
    parts = {
        part: {
            "description": getattr(settings, f"{part}_text").strip(),
            "strength": getattr(settings, f"{part}_strength"),
        }
        for part in PARTS
        if getattr(settings, f"{part}_text").strip() or getattr(settings, f"{part}_strength") != plain
    }
    return job_options(
        {
            "preset": settings.preset,
            "max_people": settings.max_people,
            "action": settings.action,
            "speed": settings.speed,
            "start": settings.frame_start,
            "parts": parts,
            "part_texts": settings.part_texts,
            "end": settings.frame_end if settings.frame_end > settings.frame_start else None,
            "fov_deg": settings.fov_deg if settings.camera_mode == "FOV" else None,
            "focal_px": settings.focal_px if settings.camera_mode == "FOCAL" else None,
            "mediapipe_depth": settings.image_depth,
            "second_look": settings.second_look,
        }
    )


def words_lines(people: list[Any]) -> str:
    """The job state's record of the words each person was lifted with (PersonTrack.part_texts)."""
    lines = []
    for person in people:
        for part in PARTS:
            words = person.part_texts.get(part, "").replace("\t", " ").replace("\n", " ")
            source = person.part_sources.get(part, "none")
            lines.append(f"{person.id}\t{part}\t{source}\t{words}")
    return "\n".join(lines)


def parse_words(text: str) -> list[tuple[int, str, str, str]]:
    """(person id, part, source, words) from `words_lines`."""
    out = []
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) == 4 and fields[0].lstrip("-").isdigit():
            out.append((int(fields[0]), fields[1], fields[2], fields[3]))
    return out


def apply_options(settings: Any, video_path: str) -> ApplyOptions:
    return ApplyOptions(
        target=settings.target,
        bone_map=settings.bone_map,
        custom_map_path=settings.custom_map_path,
        person=settings.person,
        motion=MotionOptions(
            root_motion=settings.root_motion,
            put_on_floor=settings.put_on_floor,
            foot_locking=settings.foot_locking,
            flat_feet=settings.flat_feet,
            smoothing=settings.smoothing,
        ),
        video_path=video_path,
    )


CLASSES = (FinePoseSettings, FinePoseJobState)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.finepose = PointerProperty(type=FinePoseSettings)  # type: ignore[attr-defined]
    bpy.types.WindowManager.finepose_job = PointerProperty(type=FinePoseJobState)  # type: ignore[attr-defined]


def unregister() -> None:
    del bpy.types.WindowManager.finepose_job  # type: ignore[attr-defined]
    del bpy.types.Scene.finepose  # type: ignore[attr-defined]
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
