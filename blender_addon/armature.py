"""Blender glue for armatures: build the generated skeleton, read any armature's rest pose for the solver."""

from __future__ import annotations

import bpy
import numpy as np

from .retarget.bones import FOOT_NAMES
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


def ankle_height_over_soles(obj: bpy.types.Object, bone_map: dict[str, str]) -> float | None:
    """How high the rig's ankles (its mapped foot bones' heads) stand over its soles at rest, in world
    units: over the lowest rest vertex of the meshes it deforms. None without a mapped foot or such a mesh
    (bones alone do not say where a sole is: a toe bone runs through the middle of the foot)."""
    armature = obj.data
    assert isinstance(armature, bpy.types.Armature)
    world = np.array(obj.matrix_world, dtype=np.float64)
    heads = [
        world[:3, :3] @ np.array(armature.bones[bone_map[name]].head_local) + world[:3, 3]
        for name in FOOT_NAMES
        if name in bone_map and bone_map[name] in armature.bones
    ]
    meshes = [
        candidate
        for candidate in bpy.data.objects
        if candidate.type == "MESH"
        and any(m.type == "ARMATURE" and getattr(m, "object", None) == obj for m in candidate.modifiers)
    ]
    lowest = []
    for mesh_object in meshes:
        mesh = mesh_object.data
        assert isinstance(mesh, bpy.types.Mesh)
        if not len(mesh.vertices):
            continue
        co = np.empty(3 * len(mesh.vertices))
        mesh.vertices.foreach_get("co", co)
        matrix = np.array(mesh_object.matrix_world, dtype=np.float64)
        lowest.append(float((co.reshape(-1, 3) @ matrix[:3, :3].T + matrix[:3, 3])[:, 2].min()))
    if not heads or not lowest:
        return None
    height = float(np.mean([head[2] for head in heads])) - min(lowest)
    return height if height > 0 else None


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
