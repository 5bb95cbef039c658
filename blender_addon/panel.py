"""The "Lift Video to Armature" panel in the 3D View's sidebar (tab "FinePOSE")."""

from __future__ import annotations

import textwrap
from typing import Any

import bpy

from .properties import PARTS, parse_words

WORDS_WIDTH = 44  # characters per line of a person's words in the panel


class VIEW3D_PT_finepose_lift(bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "FinePOSE"
    bl_label = "Lift Video to Armature"

    def draw(self, context: bpy.types.Context) -> None:
        layout: Any = self.layout
        settings: Any = context.scene.finepose  # type: ignore[union-attr]
        state: Any = context.window_manager.finepose_job  # type: ignore[union-attr]

        box = layout.box()
        box.prop(settings, "use_active_clip")
        row = box.row()
        row.enabled = not settings.use_active_clip
        row.prop(settings, "video_path")
        row = box.row(align=True)
        row.prop(settings, "frame_start")
        row.prop(settings, "frame_end")
        box.prop(settings, "max_people")
        box.prop(settings, "camera_mode")
        if settings.camera_mode == "FOV":
            box.prop(settings, "fov_deg")
        elif settings.camera_mode == "FOCAL":
            box.prop(settings, "focal_px")

        box = layout.box()
        box.label(text="Prompts", icon="TEXT")
        box.prop(settings, "action")
        box.prop(settings, "speed")
        for part in PARTS:
            row = box.row(align=True)
            row.prop(settings, f"{part}_text")
            row.prop(settings, f"{part}_strength", text="")
        box.prop(settings, "part_texts")
        box.prop(settings, "preset")
        box.prop(settings, "image_depth")
        box.prop(settings, "second_look")

        box = layout.box()
        box.prop(settings, "target")
        if settings.target == "SELECTED":
            box.prop(settings, "bone_map")
            if settings.bone_map == "CUSTOM":
                box.prop(settings, "custom_map_path")
            box.prop(settings, "person")
        column = box.column(align=True)
        column.prop(settings, "root_motion")
        column.prop(settings, "put_on_floor")
        column.prop(settings, "foot_locking")
        column.prop(settings, "flat_feet")
        column.prop(settings, "smoothing")

        row = layout.row(align=True)
        row.scale_y = 1.4
        row.operator("finepose.lift", icon="ARMATURE_DATA")
        row.operator("finepose.cancel", icon="CANCEL")
        if state.running:
            layout.progress(
                factor=state.progress, type="BAR", text=f"{state.stage}: {100 * state.progress:.0f}%"
            )
        if state.message:
            for line in state.message.splitlines()[:6]:
                layout.label(text=line, icon="ERROR" if state.is_error else "INFO")
        self.draw_words(layout, state)
        layout.operator("finepose.apply_result_file", icon="IMPORT")

    @staticmethod
    def draw_words(layout: Any, state: Any) -> None:
        """The words each person of the last lift was lifted with, and where they came from."""
        rows = parse_words(state.words)
        if not rows:
            return
        box = layout.box()
        box.label(text="Words Used", icon="TEXT")
        for person in sorted({row[0] for row in rows}):
            header = box.row()
            header.label(text=f"Person {person}")
            header.operator("finepose.use_words", text="Use", icon="PASTEDOWN").person = person
            for _, part, source, words in (row for row in rows if row[0] == person):
                # the sidebar is narrow and a label does not wrap: one label per line of words
                lines = textwrap.wrap(words, WORDS_WIDTH) or ["(no words)"]
                box.label(text=f"{part.capitalize()} [{source}]: {lines[0]}")
                for line in lines[1:]:
                    box.label(text=f"    {line}")


CLASSES = (VIEW3D_PT_finepose_lift,)
