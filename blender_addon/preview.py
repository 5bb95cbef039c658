"""A renderable preview of a lift: armatures drawn as meshes over the video, rendered with Workbench.

Bones are viewport overlays and never appear in renders, so each armature gets a "skin" of octahedral bone
shapes bound to it with an Armature modifier; the video is an image-textured plane filling the camera's
view far behind the people. Workbench's texture colouring shows both, without lights or a GPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import bpy
import numpy as np

from .retarget.rotations import Array

BACKDROP_DISTANCE_M = 60.0  # behind anyone the camera could see in a room or a street
PERSON_COLOURS = ((1.0, 0.55, 0.1), (0.2, 0.8, 1.0), (0.5, 1.0, 0.3), (1.0, 0.3, 0.6), (0.9, 0.9, 0.2))


def _node_material(name: str) -> bpy.types.Material:
    material = bpy.data.materials.new(name)
    if bpy.app.version < (5, 0, 0):  # Blender 5 materials always have nodes (use_nodes is deprecated)
        material.use_nodes = True
    return material


def _solid_material(name: str, colour: tuple[float, float, float]) -> bpy.types.Material:
    """A material whose 'texture' is one colour, so that Workbench's texture mode shows it."""
    image = bpy.data.images.new(f"{name} colour", 1, 1)
    pixels: Any = image.pixels
    pixels[:] = (*colour, 1.0)
    material = _node_material(name)
    material.diffuse_color = (*colour, 1.0)
    assert material.node_tree is not None
    node = material.node_tree.nodes.new("ShaderNodeTexImage")
    node.image = image  # type: ignore[attr-defined]
    material.node_tree.nodes.active = node
    return material


def _octahedron(head: Array, tail: Array, z_axis: Array) -> tuple[Array, list[tuple[int, int, int]]]:
    """Blender's octahedral bone shape: a waist at 10 % of the length, 10 % of the length wide."""
    axis = tail - head
    length = float(np.linalg.norm(axis))
    y = axis / max(length, 1e-9)
    z = z_axis - np.dot(z_axis, y) * y
    z = z / max(float(np.linalg.norm(z)), 1e-9)
    x = np.cross(y, z)
    waist = head + 0.1 * axis
    r = 0.1 * length
    vertices = np.array([head, waist + r * x, waist + r * z, waist - r * x, waist - r * z, tail])
    faces = [(0, 1, 2), (0, 2, 3), (0, 3, 4), (0, 4, 1), (5, 2, 1), (5, 3, 2), (5, 4, 3), (5, 1, 4)]
    return vertices, faces


def add_bone_meshes(
    context: bpy.types.Context, armature_obj: bpy.types.Object, colour_index: int = 0
) -> bpy.types.Object:
    """A mesh following the armature's pose: one octahedron per bone, weighted fully to that bone."""
    armature = armature_obj.data
    assert isinstance(armature, bpy.types.Armature)
    vertices: list[Array] = []
    faces: list[tuple[int, ...]] = []
    groups: list[tuple[str, range]] = []
    for bone in armature.bones:
        matrix = np.array(bone.matrix_local)
        shape, shape_faces = _octahedron(np.array(bone.head_local), np.array(bone.tail_local), matrix[:3, 2])
        first = sum(len(v) for v in vertices)
        vertices.append(shape)
        faces += [tuple(first + i for i in face) for face in shape_faces]
        groups.append((bone.name, range(first, first + len(shape))))
    mesh = bpy.data.meshes.new(f"{armature_obj.name} bones")
    mesh.from_pydata(np.concatenate(vertices).tolist(), [], faces)
    mesh.update()
    obj = bpy.data.objects.new(f"{armature_obj.name} bones", mesh)
    scene = context.scene
    assert scene is not None
    scene.collection.objects.link(obj)
    obj.parent = armature_obj  # armature space → world through the armature object's transform
    for name, indices in groups:
        obj.vertex_groups.new(name=name).add(list(indices), 1.0, "REPLACE")
    modifier = obj.modifiers.new("Armature", "ARMATURE")
    modifier.object = armature_obj  # type: ignore[attr-defined]
    mesh.materials.append(_solid_material(f"{armature_obj.name} colour", PERSON_COLOURS[colour_index % 5]))
    return obj


def add_video_backdrop(
    context: bpy.types.Context, camera_obj: bpy.types.Object, video_path: str, frame_count: int
) -> bpy.types.Object:
    """A plane showing the video, filling the camera's view at BACKDROP_DISTANCE_M, parented to the camera."""
    camera = camera_obj.data
    assert isinstance(camera, bpy.types.Camera)
    scene = context.scene
    assert scene is not None
    aspect = scene.render.resolution_y / scene.render.resolution_x
    width = BACKDROP_DISTANCE_M * camera.sensor_width / camera.lens  # horizontal sensor fit
    height = width * aspect
    cx, cy = camera.shift_x * width, camera.shift_y * width
    corners = [
        (cx - width / 2, cy - height / 2),
        (cx + width / 2, cy - height / 2),
        (cx + width / 2, cy + height / 2),
        (cx - width / 2, cy + height / 2),
    ]
    mesh = bpy.data.meshes.new("FinePOSE video")
    mesh.from_pydata([(x, y, -BACKDROP_DISTANCE_M) for x, y in corners], [], [(0, 1, 2, 3)])
    uv = mesh.uv_layers.new(name="UVMap")
    for loop, coords in zip(mesh.loops, ((0, 0), (1, 0), (1, 1), (0, 1)), strict=True):
        uv.data[loop.index].uv = coords
    obj = bpy.data.objects.new("FinePOSE video", mesh)
    scene.collection.objects.link(obj)
    obj.parent = camera_obj
    image = bpy.data.images.load(str(Path(bpy.path.abspath(video_path))), check_existing=True)
    image.source = "MOVIE"
    material = _node_material("FinePOSE video")
    assert material.node_tree is not None
    node = material.node_tree.nodes.new("ShaderNodeTexImage")
    node.image = image  # type: ignore[attr-defined]
    user = node.image_user  # type: ignore[attr-defined]
    user.frame_duration, user.frame_start, user.frame_offset = frame_count, 1, 0
    user.use_auto_refresh = True
    material.node_tree.nodes.active = node
    mesh.materials.append(material)
    return obj


def use_workbench(scene: Any) -> None:
    """Workbench with flat light and texture colours: the preview's look, for stills and videos alike."""
    scene.render.engine = "BLENDER_WORKBENCH"
    shading = scene.display.shading
    shading.light, shading.color_type = "FLAT", "TEXTURE"
    scene.view_settings.view_transform = "Standard"  # the video's own colours, not a film look
    scene.render.film_transparent = False


def render_still(context: bpy.types.Context, path: str | Path, frame: int) -> Path:
    """Render one frame with Workbench (flat light, texture colours) to a PNG."""
    scene: Any = context.scene
    use_workbench(scene)
    scene.render.image_settings.file_format = "PNG"
    scene.frame_set(frame)
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    return Path(path)
