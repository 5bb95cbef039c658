"""Writing a solved Motion as keyframes, in bulk: `keyframe_points.add` + `foreach_set` per F-curve.

Blender 4.4+ keeps F-curves in slotted actions (layers → strips → channelbags); 5.0 removed
`Action.fcurves`. Older versions (4.2, 4.3) still have it. Both paths are here.
"""

from __future__ import annotations

from typing import Any

import bpy
import numpy as np

from .retarget.rotations import Array
from .retarget.solve import Motion

SLOTTED_ACTIONS = bpy.app.version >= (4, 4, 0)


def _fcurve_collection(obj: bpy.types.Object, action: bpy.types.Action) -> Any:
    if obj.animation_data is None:
        obj.animation_data_create()
    assert obj.animation_data is not None
    obj.animation_data.action = action
    if not SLOTTED_ACTIONS:
        return action.fcurves  # type: ignore[attr-defined]  # Blender < 4.4
    from bpy_extras import anim_utils

    slot = action.slots.new(id_type="OBJECT", name=obj.name)
    obj.animation_data.action_slot = slot
    ensure: Any = anim_utils.action_ensure_channelbag_for_slot  # (fake-bpy's stub says it returns None)
    return ensure(action, slot).fcurves


def _write(fcurves: Any, path: str, index: int, group: str, frames: Array, values: Array) -> None:
    if SLOTTED_ACTIONS:
        curve = fcurves.new(path, index=index, group_name=group)
    else:
        curve = fcurves.new(path, index=index, action_group=group)
    curve.keyframe_points.add(len(frames))
    co = np.empty(2 * len(frames), dtype=np.float32)
    co[0::2] = frames
    co[1::2] = values
    curve.keyframe_points.foreach_set("co", co)
    curve.update()  # sorts keys and computes the automatic handles


def write_motion(obj: bpy.types.Object, motion: Motion, frames: Array, name: str) -> bpy.types.Action:
    """Key every rotated pose bone's quaternion and the root's location at the given Blender frames."""
    action = bpy.data.actions.new(name)
    fcurves = _fcurve_collection(obj, action)
    frames = np.asarray(frames, dtype=np.float64)
    pose = obj.pose
    assert pose is not None
    for bone_name, quaternions in motion.rotations.items():
        pose_bone = pose.bones.get(bone_name)
        if pose_bone is None:
            continue
        pose_bone.rotation_mode = "QUATERNION"
        path = pose_bone.path_from_id("rotation_quaternion")
        for index in range(4):
            _write(fcurves, path, index, bone_name, frames, quaternions[:, index])
    root = pose.bones[motion.root_bone]
    path = root.path_from_id("location")
    for index in range(3):
        _write(fcurves, path, index, motion.root_bone, frames, motion.root_location[:, index])
    return action
