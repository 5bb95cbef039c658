"""Turning a lift result into the scene: armatures (new or the selected rig), keyframes, camera, fps, range.

The numerical work is in `retarget/`; this module only moves data between it and Blender.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix

from .armature import ankle_height_over_soles, build_generated, rest_pose
from .keyframes import write_motion
from .retarget.bones import (
    GENERATED,
    MAPPABLE_NAMES,
    PRESETS,
    BoneMapError,
    detect_preset,
    load_custom_map,
    resolve,
)
from .retarget.camera import blender_camera, fps_settings
from .retarget.prepare import MotionOptions, floor_offset, prepare
from .retarget.result_file import LiftResult, PersonTrack
from .retarget.rotations import Array
from .retarget.solve import SolveOptions, solve
from .rig_probe import probe_carriers

# Rigify generated rigs blend IK and FK per limb with these custom properties (1.0 = FK).
RIGIFY_FK_SWITCHES = ("upper_arm_parent.L", "upper_arm_parent.R", "thigh_parent.L", "thigh_parent.R")
RIGIFY_FOLLOW = ("neck_follow", "head_follow")  # custom properties of Rigify's torso control


class ApplyError(RuntimeError):
    """The result cannot be applied; the message says what to change (select an armature, map bones…)."""


@dataclass(frozen=True)
class ApplyOptions:
    target: str = "NEW"  # NEW: an armature per person | SELECTED: retarget onto the active armature
    bone_map: str = "AUTO"  # AUTO | GENERATED | RIGIFY_METARIG | RIGIFY_RIG | MIXAMO | CUSTOM
    custom_map_path: str = ""
    person: int = -1  # SELECTED: the person id to use; −1: the one seen longest
    motion: MotionOptions = field(default_factory=MotionOptions)
    video_path: str = ""  # shown behind the camera when it exists
    make_camera: bool = True
    set_scene: bool = True  # fps, frame range and resolution from the video


@dataclass
class ApplySummary:
    armatures: list[str]
    camera: str | None
    frame_range: tuple[int, int]
    warnings: list[str] = field(default_factory=list)


def blender_frames(person: PersonTrack) -> Array:
    """Video frame index i is Blender frame i + 1 (scenes start at frame 1)."""
    return np.asarray(person.frames, dtype=np.float64) + 1.0


def bone_map_for(obj: bpy.types.Object, options: ApplyOptions) -> dict[str, str]:
    assert isinstance(obj.data, bpy.types.Armature)
    names = [bone.name for bone in obj.data.bones]
    try:
        if options.bone_map == "CUSTOM":
            chosen = load_custom_map(bpy.path.abspath(options.custom_map_path))
        elif options.bone_map == "AUTO":
            preset = detect_preset(names)
            if preset is None:
                raise ApplyError(
                    f"'{obj.name}' matches no bone-map preset (generated, Rigify, Mixamo); pick a preset "
                    "to see which bones are missing, or give a custom JSON map"
                )
            chosen = PRESETS[preset]
        else:
            chosen = PRESETS[options.bone_map]
        return resolve(chosen, names)
    except BoneMapError as error:
        raise ApplyError(f"'{obj.name}': {error}") from None


def apply_result(context: bpy.types.Context, result: LiftResult, options: ApplyOptions) -> ApplySummary:
    if not result.people:
        raise ApplyError(
            "no people were found in the video (nothing to animate); try a lower detection threshold"
        )
    summary = ApplySummary([], None, (result.first_frame + 1, result.last_frame + 1), list(result.warnings))
    # one vertical shift for everyone and the camera: each person's feet land on the floor as well as the
    # placement allows, and the armatures still overlay the footage through the camera
    z_offset = (
        floor_offset([p.joints_world for p in result.people], [p.foot_contacts for p in result.people])
        if options.motion.put_on_floor
        else 0.0
    )
    scene = context.scene
    assert scene is not None
    if options.set_scene:
        scene.render.fps, scene.render.fps_base = fps_settings(result.fps)
        scene.frame_start, scene.frame_end = summary.frame_range
        scene.render.resolution_x, scene.render.resolution_y = result.width, result.height
        scene.render.resolution_percentage = 100
    if options.target == "SELECTED":
        target = context.active_object
        if target is None or target.type != "ARMATURE":
            raise ApplyError("select the armature to retarget onto (make it the active object)")
        people = [p for p in result.people if p.id == options.person] if options.person >= 0 else []
        if options.person >= 0 and not people:
            raise ApplyError(
                f"person {options.person} is not in the result; ids: {[p.id for p in result.people]}"
            )
        person = people[0] if people else max(result.people, key=lambda p: p.length)
        bone_map = bone_map_for(target, options)
        _rigify_to_fk(target)
        ordered = [bone_map[name] for name in MAPPABLE_NAMES if name in bone_map]
        carriers, warnings = probe_carriers(context, target, ordered)
        summary.warnings.extend(warnings)
        soles = ankle_height_over_soles(target, bone_map)
        _animate(target, person, result.fps, bone_map, options, z_offset, carriers, soles, on_floor=True)
        summary.armatures.append(target.name)
    else:
        for person in result.people:
            obj = build_generated(context, f"Person.{person.id}", person.joints_world)
            names = [bone.name for bone in obj.data.bones]  # type: ignore[union-attr]
            _animate(obj, person, result.fps, resolve(GENERATED, names), options, z_offset)
            summary.armatures.append(obj.name)
    if options.make_camera:
        summary.camera = _camera(context, result, options.video_path, z_offset).name
    return summary


def _rigify_to_fk(obj: bpy.types.Object) -> None:
    """On a Rigify rig: limbs to FK (the keys go on the FK controls), and the neck and head following the
    chest fully (the solver turns them relative to it; at Rigify's default the head keeps its own
    orientation). Nothing happens on other rigs."""
    if obj.pose is None:
        return
    for switch in RIGIFY_FK_SWITCHES:
        pose_bone = obj.pose.bones.get(switch)
        if pose_bone is not None and "IK_FK" in pose_bone:
            pose_bone["IK_FK"] = 1.0
    torso = obj.pose.bones.get("torso")
    for setting in RIGIFY_FOLLOW:
        if torso is not None and setting in torso:
            torso[setting] = 1.0


def _animate(
    obj: bpy.types.Object,
    person: PersonTrack,
    fps: float,
    bone_map: dict[str, str],
    options: ApplyOptions,
    z_offset: float,
    carriers: dict[str, str | None] | None = None,
    ankle_height: float | None = None,
    on_floor: bool = False,
) -> None:
    """Key one person onto `obj`. `on_floor`: stand a user's rig on the floor by its own feet (SolveOptions);
    the generated skeleton is built from the joints and stands as they do."""
    prepared = prepare(person.joints_world, fps, options.motion, z_offset, person.foot_contacts)
    rest = replace(rest_pose(obj), carriers=carriers)
    try:
        motion = solve(
            prepared.joints,
            rest,
            bone_map,
            SolveOptions(
                root_motion=options.motion.root_motion,
                planted=prepared.planted,
                # locked feet stay locked on the rig: its legs reach for the motion's ankles
                reach_ankles=options.motion.foot_locking,
                on_floor=on_floor and options.motion.put_on_floor,
                ankle_height=ankle_height,
            ),
        )
    except ValueError as error:
        raise ApplyError(f"'{obj.name}': {error}") from None
    write_motion(obj, motion, blender_frames(person), f"{obj.name} lift")


def _camera(
    context: bpy.types.Context, result: LiftResult, video_path: str, z_offset: float
) -> bpy.types.Object:
    world_from_camera = result.world_from_camera.copy()
    world_from_camera[2, 3] += z_offset
    settings = blender_camera(result.K, world_from_camera, result.width, result.height)
    data = bpy.data.cameras.new("FinePOSE Camera")
    data.sensor_fit = "HORIZONTAL"
    data.sensor_width = settings.sensor_width_mm
    data.lens = settings.lens_mm
    data.shift_x, data.shift_y = settings.shift_x, settings.shift_y
    data.clip_end = 1000.0
    obj = bpy.data.objects.new("FinePOSE Camera", data)
    obj.matrix_world = Matrix(settings.matrix_world.tolist())  # both list rows
    scene = context.scene
    assert scene is not None
    scene.collection.objects.link(obj)
    scene.camera = obj
    path = Path(bpy.path.abspath(video_path)) if video_path else None
    if path is not None and path.is_file():
        clip = bpy.data.movieclips.load(str(path), check_existing=True)
        background = data.background_images.new()
        background.source = "MOVIE_CLIP"
        background.clip = clip
        background.alpha = 1.0
        data.show_background_images = True
        clip.frame_start = 1
    return obj
