"""The "Lift Video to Armature" Blender extension.

It sends a video to the local FinePOSE server (starting one when none answers, if allowed), follows the job
in a panel with a progress bar, and turns the `finepose.result/1` JSON into armatures with keyframes, or
retargets it onto a selected rig, plus a camera that overlays them on the footage. Only bpy, mathutils,
Blender's bundled numpy and the standard library are used; the rotation maths is in `retarget/` (pure numpy).
"""

from __future__ import annotations

import atexit

import bpy

from . import operators, panel, preferences, properties

CLASSES = (*preferences.CLASSES, *operators.CLASSES, *panel.CLASSES)


def register() -> None:
    properties.register()
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    atexit.register(operators.LOCAL_SERVER.stop)  # a server this Blender started ends with it


def unregister() -> None:
    operators.LOCAL_SERVER.stop()
    atexit.unregister(operators.LOCAL_SERVER.stop)
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
    properties.unregister()
