"""Does the add-on work in this Blender? `blender -b -P scripts/check_blender_compat.py`, or with any bpy
wheel: `python scripts/check_blender_compat.py`. Needs nothing but Blender (its bundled numpy).

It registers the add-on, applies a synthetic lift (a T-posed skeleton bent by smooth random rotations and
walking) to a new generated armature and to a Mixamo-named rig inside an FBX-style object transform, reads the
bone directions back from Blender's evaluated pose, and prints the angle errors and which keyframe path ran
(slotted actions on 4.4+, `Action.fcurves` before). Exit code 0 when every check holds.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import bpy
import numpy as np
from mathutils import Matrix

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from blender_addon.apply import ApplyOptions, apply_result  # noqa: E402
from blender_addon.keyframes import SLOTTED_ACTIONS  # noqa: E402
from blender_addon.retarget import rotations as rot  # noqa: E402
from blender_addon.retarget.bones import GENERATED, LOGICAL_BONES, MIXAMO  # noqa: E402
from blender_addon.retarget.generated import rest_joints  # noqa: E402
from blender_addon.retarget.prepare import MotionOptions  # noqa: E402
from blender_addon.retarget.result_file import parse_result  # noqa: E402
from blender_addon.retarget.rotations import Array  # noqa: E402

PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)
LENGTHS = {(0, 1): 0.12, (0, 4): 0.12, (1, 2): 0.44, (2, 3): 0.43, (4, 5): 0.44, (5, 6): 0.43, (0, 7): 0.23,
           (7, 8): 0.25, (8, 9): 0.1, (9, 10): 0.12, (8, 11): 0.17, (11, 12): 0.28, (12, 13): 0.25,
           (8, 14): 0.17, (14, 15): 0.28, (15, 16): 0.25}  # fmt: skip
# world positions (metres, z up, facing −Y) of each left or centre Mixamo bone's head and tail
MIXAMO_REST = {
    "Hips": ((0, 0, 1.0), (0, 0, 1.1)),
    "Spine": ((0, 0, 1.1), (0, 0, 1.22)),
    "Spine1": ((0, 0, 1.22), (0, 0, 1.35)),
    "Spine2": ((0, 0, 1.35), (0, 0, 1.48)),
    "Neck": ((0, 0, 1.48), (0, 0, 1.58)),
    "Head": ((0, 0, 1.58), (0, 0, 1.78)),
    "LeftShoulder": ((0.05, 0, 1.44), (0.17, 0, 1.44)),
    "LeftArm": ((0.17, 0, 1.44), (0.45, 0, 1.44)),
    "LeftForeArm": ((0.45, 0, 1.44), (0.70, 0, 1.44)),
    "LeftUpLeg": ((0.09, 0, 0.95), (0.09, 0, 0.52)),
    "LeftLeg": ((0.09, 0, 0.52), (0.09, 0.02, 0.09)),
    "LeftFoot": ((0.09, 0.02, 0.09), (0.09, -0.12, 0.02)),
}
MIXAMO_PARENTS = {
    "Spine": "Hips",
    "Spine1": "Spine",
    "Spine2": "Spine1",
    "Neck": "Spine2",
    "Head": "Neck",
    "LeftShoulder": "Spine2",
    "LeftArm": "LeftShoulder",
    "LeftForeArm": "LeftArm",
    "LeftUpLeg": "Hips",
    "LeftLeg": "LeftUpLeg",
    "LeftFoot": "LeftLeg",
}
FBX_STYLE = np.array([[0.01, 0, 0, 0.5], [0, 0, -0.01, -0.2], [0, 0.01, 0, 0.0], [0, 0, 0, 1]])


def walking_joints(frames: int = 60, seed: int = 2) -> Array:
    rng = np.random.default_rng(seed)
    rest, t = rest_joints(LENGTHS), np.linspace(0, 2 * np.pi, frames)
    axes = [np.broadcast_to(rot.normalize(rng.normal(size=3)), (frames, 3)) for _ in range(17)]
    local = np.stack([rot.from_axis_angle(a, 0.8 * np.sin(t + rng.uniform(0, 6))) for a in axes], 1)
    world, joints = np.zeros((frames, 17, 4)), np.zeros((frames, 17, 3))
    for j, p in enumerate(PARENTS):
        if p < 0:
            world[:, j], joints[:, j] = (
                local[:, j],
                rest[j] + np.outer(np.linspace(0, 2, frames), [1.0, 0, 0]),
            )
        else:
            world[:, j] = rot.multiply(world[:, p], local[:, j])
            joints[:, j] = joints[:, p] + rot.rotate(
                world[:, p], np.broadcast_to(rest[j] - rest[p], (frames, 3))
            )
    return joints


def document(joints: Array) -> dict[str, Any]:
    camera = [[1, 0, 0, 0], [0, 0, 1, -4.0], [0, -1, 0, 1.2], [0, 0, 0, 1]]
    frames = len(joints)
    person = {
        "id": 0,
        "frames": list(range(frames)),
        "joints3d_world": joints.tolist(),
        "joints3d_camera": joints.tolist(),
    }
    return {
        "schema": "finepose.result/1",
        "video": {"path": "", "width": 640, "height": 480, "fps": 25.0, "frame_count": frames},
        "camera": {"K": [[800, 0, 320], [0, 800, 240], [0, 0, 1]], "world_from_camera": camera},
        "people": [person],
    }


def mixamo_rig() -> Any:
    armature = bpy.data.armatures.new("Hero")
    obj = bpy.data.objects.new("Hero", armature)
    context: Any = bpy.context
    context.scene.collection.objects.link(obj)
    obj.matrix_world = Matrix(FBX_STYLE.tolist())
    context.view_layer.objects.active = obj
    inverse = np.linalg.inv(FBX_STYLE)
    bones = dict(MIXAMO_REST)
    for name, (head, tail) in MIXAMO_REST.items():  # the right side mirrors the left
        if name.startswith("Left"):
            bones[name.replace("Left", "Right")] = ((-head[0], *head[1:]), (-tail[0], *tail[1:]))
    bpy.ops.object.mode_set(mode="EDIT")
    for name, (head, tail) in bones.items():
        edit = armature.edit_bones.new(f"mixamorig:{name}")
        edit.head = (inverse[:3, :3] @ np.array(head) + inverse[:3, 3]).tolist()
        edit.tail = (inverse[:3, :3] @ np.array(tail) + inverse[:3, 3]).tolist()
    for name in bones:
        parent = MIXAMO_PARENTS.get(name.replace("Right", "Left"))
        if parent:
            parent = parent.replace("Left", "Right") if name.startswith("Right") else parent
            armature.edit_bones[f"mixamorig:{name}"].parent = armature.edit_bones[f"mixamorig:{parent}"]
    bpy.ops.object.mode_set(mode="OBJECT")
    return obj


def direction_errors(obj: Any, joints: Array, bone_map: dict[str, str]) -> Array:
    errors = []
    scene: Any = bpy.context.scene
    for frame in range(len(joints)):
        scene.frame_set(frame + 1)
        evaluated = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
        world = np.array(evaluated.matrix_world)
        for bone in LOGICAL_BONES:
            if bone.name == "pelvis" or bone.name not in bone_map:
                continue
            pose_bone = evaluated.pose.bones[bone_map[bone.name]]
            direction = world[:3, :3] @ (np.array(pose_bone.tail) - np.array(pose_bone.head))
            errors.append(
                np.degrees(rot.angle_between(direction, joints[frame, bone.tail] - joints[frame, bone.head]))
            )
    return np.array(errors)


def summary(errors: Array) -> str:
    return f"median {np.median(errors):.5f}°, 95th percentile {np.percentile(errors, 95):.5f}°"


def main() -> int:
    import addon_utils

    path = "slotted actions" if SLOTTED_ACTIONS else "Action.fcurves"
    print(f"Blender {bpy.app.version_string}; keyframes through {path}")
    checks: dict[str, bool] = {}
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable("blender_addon", default_set=True, handle_error=None)
    checks["registers"] = hasattr(bpy.types, "VIEW3D_PT_finepose_lift")
    addon_utils.disable("blender_addon", default_set=True)
    checks["unregisters"] = not hasattr(bpy.types, "VIEW3D_PT_finepose_lift")
    joints = walking_joints()
    result = parse_result(document(joints))
    exact = MotionOptions(smoothing=0.0, foot_locking=False, put_on_floor=False)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    apply_result(bpy.context, result, ApplyOptions(motion=exact))
    errors = direction_errors(bpy.data.objects["Person.0"], joints, GENERATED)
    print(f"generated skeleton: {summary(errors)}")
    checks["generated"] = bool(np.percentile(errors, 95) < 0.01)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    rig = mixamo_rig()
    apply_result(bpy.context, result, ApplyOptions(target="SELECTED", motion=exact))
    errors = direction_errors(rig, joints, MIXAMO)
    print(f"Mixamo-named rig (FBX-style transform): {summary(errors)}")
    checks["mixamo"] = bool(np.percentile(errors, 95) < 0.01)
    for name, ok in checks.items():
        print(f"  {name}: {'ok' if ok else 'FAILED'}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # Blender ignores SystemExit from -P scripts
