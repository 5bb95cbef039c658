"""Which mapped bone really turns each mapped bone's parent, found by turning bones in Blender.

Control rigs drive bones through constraints and drivers as well as parenting: on a Rigify rig the FK
upper arm hangs from a mechanism bone that copies the shoulder control's rotation, which follows the chest
control, none of which are its parent's ancestors. The solver needs, for every mapped bone, the mapped bone
whose rotation its parent carries. This turns each mapped bone in turn by a test rotation, lets Blender
evaluate the rig (constraints, drivers) and records which parents turn all the way with it; the last such
bone, parents first, is the carrier. A parent that turns only partly with a bone after its carrier (a
"follow" slider between 0 and 1) cannot be reproduced by rotations alone and is reported.
"""

from __future__ import annotations

import math
from typing import Any

import bpy
import numpy as np
from mathutils import Matrix, Vector

TEST_ANGLE = 0.5  # radians
TOLERANCE = math.radians(0.5)


def _parent_rotations(
    obj: bpy.types.Object, names: list[str]
) -> dict[str, np.ndarray[Any, np.dtype[np.float64]]]:
    assert obj.pose is not None
    out = {}
    for name in names:
        parent = obj.pose.bones[name].parent
        if parent is not None:
            out[name] = np.array(parent.matrix.to_3x3().normalized(), dtype=np.float64)
    return out


def _angle(before: np.ndarray[Any, Any], after: np.ndarray[Any, Any]) -> float:
    delta = after @ before.T
    return math.acos(max(-1.0, min(1.0, (float(np.trace(delta)) - 1.0) / 2.0)))


def probe_carriers(
    context: bpy.types.Context, obj: bpy.types.Object, mapped: list[str]
) -> tuple[dict[str, str | None], list[str]]:
    """For the mapped rig bones (parents first): {bone: the mapped bone turning its parent, or None}, and
    warnings for parents that follow a bone only partly. The pose and the action are left as they were."""
    assert obj.pose is not None
    layer = context.view_layer
    assert layer is not None
    animation = obj.animation_data
    action = animation.action if animation is not None else None
    slot = getattr(animation, "action_slot", None) if animation is not None else None
    if animation is not None:
        animation.action = None  # keys would override the test rotations
    saved = {name: obj.pose.bones[name].matrix_basis.copy() for name in mapped}
    carriers: dict[str, str | None] = {name: None for name in mapped}
    partly: dict[str, str] = {}
    test = Matrix.Rotation(TEST_ANGLE, 4, Vector((1.0, 2.0, 3.0)).normalized())  # no special axis
    try:
        layer.update()
        rest = _parent_rotations(obj, mapped)
        for turned in mapped:
            bone = obj.pose.bones[turned]
            bone.matrix_basis = saved[turned] @ test
            layer.update()
            now = _parent_rotations(obj, mapped)
            bone.matrix_basis = saved[turned]
            for name, before in rest.items():
                if name == turned:
                    continue
                angle = _angle(before, now[name])
                if abs(angle - TEST_ANGLE) < TOLERANCE:
                    carriers[name] = turned
                    partly.pop(name, None)
                elif angle > TOLERANCE:
                    partly[name] = turned
    finally:
        for name, matrix in saved.items():
            obj.pose.bones[name].matrix_basis = matrix
        if animation is not None:
            animation.action = action
            if slot is not None and getattr(animation, "action_slot", None) != slot:
                animation.action_slot = slot
        layer.update()
    warnings = [
        f"'{obj.name}': {name}'s parent follows {other} only partly (a follow setting between 0 and 1); "
        f"{name} will be off by that share of {other}'s rotation"
        for name, other in partly.items()
    ]
    return carriers, warnings
