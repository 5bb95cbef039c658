"""The Blender-as-a-module wheel works here, with the Blender 5.0 animation API the add-on uses.

These check facts the add-on relies on, apart from its own code: bpy 5.0.1 imports headless with numpy<2,
builds an armature, and keys bones through slotted actions and channelbags, because Blender 5.0 removed
`Action.fcurves`.
"""

from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy", reason="the bpy wheel is installed by `make setup` (extra 'dev')")

pytestmark = pytest.mark.blender


def test_version_and_numpy() -> None:
    assert bpy.app.version[:2] == (5, 0)
    assert int(np.__version__.split(".")[0]) == 1


def test_armature_keys_through_a_channelbag() -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    data = bpy.data.armatures.new("Probe")
    rig = bpy.data.objects.new("Probe", data)
    bpy.context.scene.collection.objects.link(rig)
    bpy.context.view_layer.objects.active = rig
    bpy.ops.object.mode_set(mode="EDIT")
    bone = data.edit_bones.new("Hip")
    bone.head, bone.tail = (0, 0, 1), (0, 0, 1.2)
    bpy.ops.object.mode_set(mode="OBJECT")

    action = bpy.data.actions.new("ProbeAction")
    assert not hasattr(action, "fcurves")  # gone in Blender 5.0
    rig.animation_data_create()
    slot = action.slots.new(id_type="OBJECT", name=rig.name)
    rig.animation_data.action = action
    rig.animation_data.action_slot = slot
    assert rig.animation_data.action_slot == slot
    channelbag = action.layers.new("Layer").strips.new(type="KEYFRAME").channelbag(slot, ensure=True)
    curve = channelbag.fcurves.new('pose.bones["Hip"].location', index=2)
    frames = np.arange(1, 11, dtype=np.float32)
    values = 0.1 * frames
    curve.keyframe_points.add(len(frames))
    curve.keyframe_points.foreach_set("co", np.column_stack([frames, values]).ravel())
    curve.update()

    bpy.context.scene.frame_set(7)
    assert rig.pose.bones["Hip"].location.z == pytest.approx(0.7, abs=1e-6)
