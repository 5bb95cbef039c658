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
from .retarget.bones import PRESET_LABELS
from .retarget.prepare import MotionOptions

PARTS = ("head", "body", "arms", "legs")


def _part_properties() -> dict[str, Any]:
    props: dict[str, Any] = {}
    for part in PARTS:
        props[f"{part}_text"] = StringProperty(
            name=part.capitalize(), description=f"Words about the {part} (empty: none)", maxlen=200
        )
        props[f"{part}_strength"] = FloatProperty(
            name="Strength",
            description="Guidance of this part's prompt: 0 ignores it, 1 is plain, up to 2 exaggerates",
            default=1.0,
            min=0.0,
            max=2.0,
        )
    return props


class FinePoseSettings(bpy.types.PropertyGroup):
    __annotations__ = {
        "video_path": StringProperty(name="Video", subtype="FILE_PATH", description="The video to lift"),
        "use_active_clip": BoolProperty(
            name="Use Active Movie Clip", description="Lift the clip open in the Movie Clip editor instead"
        ),
        "frame_start": IntProperty(name="Start", description="First video frame (0 = the first)", min=0),
        "frame_end": IntProperty(name="End", description="Frame after the last one (0 = to the end)", min=0),
        "max_people": IntProperty(name="Max People", default=4, min=1, max=16),
        "camera_mode": EnumProperty(
            name="Camera",
            items=[
                ("AUTO", "Auto", "Estimate (a 60° horizontal field of view)"),
                ("FOV", "Field of View", "The horizontal field of view in degrees"),
                ("FOCAL", "Focal Length", "The focal length in pixels"),
            ],
            default="AUTO",
        ),
        "fov_deg": FloatProperty(name="FOV", default=60.0, min=1.0, max=179.0),
        "focal_px": FloatProperty(name="Focal (px)", default=1000.0, min=1.0, max=100000.0),
        "action": StringProperty(name="Action", description="What the people do, e.g. 'dancing'", maxlen=200),
        "speed": EnumProperty(
            name="Speed",
            items=[(s.upper(), s.capitalize(), "") for s in ("auto", "slow", "normal", "fast")],
            default="AUTO",
        ),
        **_part_properties(),
        "preset": EnumProperty(
            name="Quality",
            items=[
                ("fast", "Fast", "1 hypothesis, 1 step"),
                ("balanced", "Balanced", "5 hypotheses, 5 steps, flip"),
                ("best", "Best", "20 hypotheses, 10 steps, flip"),
            ],
            default="balanced",
        ),
        "image_depth": FloatProperty(
            name="Image Depth",
            description="Share of each joint's depth taken from MediaPipe's own 3D, which sees the image "
            "(0: from the 2D keypoints alone)",
            default=0.5,
            min=0.0,
            max=1.0,
            subtype="FACTOR",
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
            name="Root Motion", default=True, description="Keep the travel across the room"
        ),
        "put_on_floor": BoolProperty(name="Put on Floor", default=True),
        "foot_locking": BoolProperty(name="Foot Locking", default=True, description="Pin planted feet"),
        "smoothing": FloatProperty(name="Smoothing", default=0.3, min=0.0, max=1.0, subtype="FACTOR"),
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
    }


def server_options(settings: Any) -> dict[str, Any]:
    """The panel's settings → the server's job options (JSON)."""
    parts = {
        part: {
            "description": getattr(settings, f"{part}_text").strip(),
            "strength": getattr(settings, f"{part}_strength"),
        }
        for part in PARTS
        if getattr(settings, f"{part}_text").strip() or getattr(settings, f"{part}_strength") != 1.0
    }
    return job_options(
        settings.preset,
        settings.max_people,
        settings.action,
        settings.speed,
        settings.frame_start,
        parts,
        end=settings.frame_end if settings.frame_end > settings.frame_start else None,
        fov_deg=settings.fov_deg if settings.camera_mode == "FOV" else None,
        focal_px=settings.focal_px if settings.camera_mode == "FOCAL" else None,
        mediapipe_depth=settings.image_depth,
    )


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
