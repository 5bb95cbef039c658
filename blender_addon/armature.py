"""Blender glue for armatures: build the generated skeleton, read any armature's rest pose for the solver."""

from __future__ import annotations

import bpy
import numpy as np

from .retarget.generated import median_lengths, rest_joints, skeleton_bones
from .retarget.rotations import Array
from .retarget.solve import RestBone, RestPose


def rest_pose(obj: bpy.types.Object) -> RestPose:
    """The armature's bones (parents first) with their rest matrices, and the object's world matrix."""
    armature = obj.data
    assert isinstance(armature, bpy.types.Armature)
    ordered: list[bpy.types.Bone] = []
    pending = [bone for bone in armature.bones if bone.parent is None]
    while pending:
        bone = pending.pop(0)
        ordered.append(bone)
        pending.extend(bone.children)
    bones = [
        RestBone(
            bone.name,
            bone.parent.name if bone.parent else None,
            np.array(bone.matrix_local, dtype=np.float64),
        )
        for bone in ordered
    ]
    return RestPose(bones, np.array(obj.matrix_world, dtype=np.float64))


def build_generated(context: bpy.types.Context, name: str, joints_world: Array) -> bpy.types.Object:
    """A new armature object with the generated skeleton, sized by the person's median bone lengths."""
    specs = skeleton_bones(rest_joints(median_lengths(joints_world)))
    armature = bpy.data.armatures.new(name)
    armature.display_type = "OCTAHEDRAL"
    obj = bpy.data.objects.new(name, armature)
    obj.show_in_front = True  # visible over the video background
    scene, view_layer = context.scene, context.view_layer
    assert scene is not None and view_layer is not None
    scene.collection.objects.link(obj)
    previous = view_layer.objects.active
    view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    try:
        edit_bones = armature.edit_bones
        for spec in specs:
            bone = edit_bones.new(spec.name)
            bone.head = spec.head.tolist()
            bone.tail = spec.tail.tolist()
            bone.roll = 0.0
            if spec.parent:
                bone.parent = edit_bones[spec.parent]
                bone.use_connect = spec.connected
    finally:
        bpy.ops.object.mode_set(mode="OBJECT")
        view_layer.objects.active = previous or obj
    return obj
