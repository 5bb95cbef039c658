"""Saving what a lift made: per-person FBX and BVH with Blender's own exporters, a Workbench preview (PNG or
MP4 of the armatures over the video), and appending a rig from another .blend (used by the batch script)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import bpy

from .preview import add_bone_meshes, add_video_backdrop, render_still, use_workbench


class ExportError(RuntimeError):
    pass


def _select_only(context: bpy.types.Context, objects: list[bpy.types.Object]) -> None:
    view_layer: Any = context.view_layer
    for obj in view_layer.objects:
        obj.select_set(False)
    for obj in objects:
        obj.select_set(True)
    view_layer.objects.active = objects[0]


def export_fbx(context: bpy.types.Context, armature: bpy.types.Object, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{bpy.path.clean_name(armature.name)}.fbx"
    _select_only(context, [armature, *[c for c in armature.children if c.type == "MESH"]])
    bpy.ops.export_scene.fbx(
        filepath=str(path),
        use_selection=True,
        object_types={"ARMATURE", "MESH"},
        add_leaf_bones=False,
        bake_anim=True,
        bake_anim_use_all_actions=False,
        bake_anim_use_nla_strips=False,
    )
    return path


def export_bvh(context: bpy.types.Context, armature: bpy.types.Object, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{bpy.path.clean_name(armature.name)}.bvh"
    _select_only(context, [armature])
    scene: Any = context.scene
    bpy.ops.export_anim.bvh(filepath=str(path), frame_start=scene.frame_start, frame_end=scene.frame_end)
    return path


def render_preview(
    context: bpy.types.Context,
    armatures: list[str],
    camera: str,
    video_path: str,
    frame_count: int,
    output: Path,
    frame: int | None = None,
) -> Path:
    """PNG: one frame (default: the middle of the range); MP4: the whole range, H.264."""
    for index, name in enumerate(armatures):
        add_bone_meshes(context, bpy.data.objects[name], index)
    if video_path and Path(video_path).is_file():
        add_video_backdrop(context, bpy.data.objects[camera], video_path, frame_count)
    scene: Any = context.scene
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix.lower() == ".png":
        middle = (scene.frame_start + scene.frame_end) // 2
        still: Path = render_still(context, output, frame if frame is not None else middle)
        return still
    if output.suffix.lower() != ".mp4":
        raise ExportError(f"--preview {output}: give a .png (one frame) or an .mp4 (the whole range)")
    use_workbench(scene)
    settings = scene.render.image_settings
    if hasattr(settings, "media_type"):  # Blender 5: still images and videos are separate media types
        settings.media_type = "VIDEO"
    settings.file_format = "FFMPEG"
    scene.render.ffmpeg.format, scene.render.ffmpeg.codec = "MPEG4", "H264"
    scene.render.filepath = str(output)
    bpy.ops.render.render(animation=True)
    return output


def append_rig(context: bpy.types.Context, blend: Path, name: str) -> bpy.types.Object:
    """Append an armature object (and the objects parented to it) from another .blend into the scene."""
    if not blend.is_file():
        raise ExportError(f"--rig: {blend} does not exist")
    load: Any = bpy.data.libraries.load  # (fake-bpy's stub says it returns None; it is a context manager)
    with load(str(blend), link=False) as (source, target):
        if name not in source.objects:
            raise ExportError(f"--rig: {blend} has no object '{name}'; it has: {', '.join(source.objects)}")
        target.objects = list(source.objects)
    loaded = [obj for obj in target.objects if obj is not None]
    rig = next(obj for obj in loaded if obj.name == name or obj.name.startswith(f"{name}."))
    if rig.type != "ARMATURE":
        raise ExportError(f"--rig: '{name}' in {blend} is a {rig.type.lower()}, not an armature")
    scene: Any = context.scene
    keep = {rig}
    for obj in loaded:
        parent = obj.parent
        while parent is not None and parent not in keep:
            parent = parent.parent
        if parent is not None:
            keep.add(obj)
    for obj in loaded:
        if obj in keep:
            scene.collection.objects.link(obj)
        else:
            bpy.data.objects.remove(obj)
    context.view_layer.objects.active = rig  # type: ignore[union-attr]
    found: bpy.types.Object = rig
    return found
