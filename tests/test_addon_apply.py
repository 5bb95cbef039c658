"""Applying results in real Blender (the bpy 5.0.1 wheel): armatures, keyframes, retargeting onto rigs built
here (generated skeleton, a Rigify-metarig-named rig, a Mixamo-named rig imported FBX-style, a rig generated
by the Rigify that comes with Blender), the camera,
foot locking and undo. Bone directions are read back from Blender's own evaluated pose."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

bpy = pytest.importorskip("bpy", reason="the bpy wheel is installed by `make setup` (extra 'dev')")

from mathutils import Matrix  # noqa: E402

from blender_addon.apply import ApplyError, ApplyOptions, apply_result  # noqa: E402
from blender_addon.retarget import rotations as rot  # noqa: E402
from blender_addon.retarget.bones import (  # noqa: E402
    BY_NAME,
    GENERATED,
    LOGICAL_NAMES,
    MIXAMO,
    RIGIFY_METARIG,
    RIGIFY_RIG,
)
from blender_addon.retarget.contacts import runs, two_bone_ik  # noqa: E402
from blender_addon.retarget.feet import ANKLE_HEIGHT_M  # noqa: E402
from blender_addon.retarget.generated import rest_joints  # noqa: E402
from blender_addon.retarget.prepare import MotionOptions  # noqa: E402
from blender_addon.retarget.result_file import ResultFileError, parse_result  # noqa: E402
from blender_addon.rig_probe import probe_carriers  # noqa: E402
from tests.conftest import REPO_ROOT  # noqa: E402
from tests.test_retarget import LENGTHS, MIXAMO_LIKE, posed_joints  # noqa: E402

pytestmark = pytest.mark.blender
EXACT = MotionOptions(smoothing=0.0, foot_locking=False, put_on_floor=False)  # the input joints, untouched


@pytest.fixture(autouse=True)
def empty_scene() -> Iterator[None]:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    yield


def result_document(people: list[np.ndarray], first_frames: list[int] | None = None) -> dict[str, Any]:
    first_frames = first_frames or [0] * len(people)
    K = [[800.0, 0.0, 320.0], [0.0, 800.0, 240.0], [0.0, 0.0, 1.0]]
    world_from_camera = [[1, 0, 0, 0], [0, 0, 1, -4.0], [0, -1, 0, 1.2], [0, 0, 0, 1]]  # level, 4 m back
    return {
        "schema": "finepose.result/1",
        "video": {"path": "", "width": 640, "height": 480, "fps": 25.0, "frame_count": 400},
        "camera": {"K": K, "source": "user", "world_from_camera": world_from_camera},
        "people": [
            {
                "id": index,
                "frames": list(range(start, start + len(joints))),
                "joints3d_world": joints.tolist(),
                "joints3d_camera": joints.tolist(),
            }
            for index, (joints, start) in enumerate(zip(people, first_frames, strict=True))
        ],
        "warnings": [],
    }


def evaluated_bones(obj: Any, frames: list[int]) -> dict[str, np.ndarray]:
    """World head and tail [F, 2, 3] of every pose bone, from Blender's evaluated pose at each frame."""
    scene = bpy.context.scene
    out: dict[str, list[np.ndarray]] = {bone.name: [] for bone in obj.pose.bones}
    for frame in frames:
        scene.frame_set(frame)
        evaluated = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
        world = np.array(evaluated.matrix_world)
        for bone in evaluated.pose.bones:
            ends = np.array([[*bone.head, 1.0], [*bone.tail, 1.0]]) @ world.T
            out[bone.name].append(ends[:, :3])
    return {name: np.array(values) for name, values in out.items()}


def direction_errors(
    posed: dict[str, np.ndarray], joints: np.ndarray, bone_map: dict[str, str]
) -> np.ndarray:
    """Angles (degrees) between each mapped bone (but the pelvis, a frame rather than a direction) and its
    joints, all frames."""
    return np.concatenate(
        [
            bone_errors(posed, joints, bone_map, logical)
            for logical in bone_map
            if logical in BY_NAME and logical != "pelvis"  # feet have no joint to point at
        ]
    )


def bone_errors(
    posed: dict[str, np.ndarray], joints: np.ndarray, bone_map: dict[str, str], logical: str
) -> np.ndarray:
    """Angles (degrees) per frame between one mapped bone and its joints. The spine is measured from its
    bone's head to the neck bone's head (the thorax joint): a rig's spine bone is often one of several
    segments."""
    definition = BY_NAME[logical]
    bone = posed[bone_map[logical]]
    direction = bone[:, 1] - bone[:, 0]
    if logical == "spine" and "neck" in bone_map:
        direction = posed[bone_map["neck"]][:, 0] - bone[:, 0]
    observed = joints[:, definition.tail] - joints[:, definition.head]
    return np.asarray(np.degrees(rot.angle_between(direction, observed)))


def hip_line_error(posed: dict[str, np.ndarray], joints: np.ndarray, bone_map: dict[str, str]) -> np.ndarray:
    line = posed[bone_map["thigh.L"]][:, 0] - posed[bone_map["thigh.R"]][:, 0]
    return np.degrees(rot.angle_between(line, joints[:, 4] - joints[:, 1]))


def build_rig(
    name: str, bones: list[tuple[str, str | None, tuple[float, ...], tuple[float, ...]]], matrix: np.ndarray
) -> Any:
    """An armature object with the given (name, parent, head, tail) bones in WORLD coordinates (metres,
    z up, facing −Y), random rolls, and the object transform `matrix`."""
    rng = np.random.default_rng(5)
    armature = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, armature)
    bpy.context.scene.collection.objects.link(obj)
    obj.matrix_world = Matrix(matrix.tolist())
    bpy.context.view_layer.objects.active = obj
    inverse = np.linalg.inv(matrix)
    bpy.ops.object.mode_set(mode="EDIT")
    for bone_name, parent, head, tail in bones:
        edit = armature.edit_bones.new(bone_name)
        edit.head = (inverse[:3, :3] @ np.array(head) + inverse[:3, 3]).tolist()
        edit.tail = (inverse[:3, :3] @ np.array(tail) + inverse[:3, 3]).tolist()
        edit.roll = float(rng.uniform(-np.pi, np.pi))
        if parent:
            edit.parent = armature.edit_bones[parent]
            edit.use_connect = np.allclose(edit.parent.tail, edit.head, atol=1e-6)
    bpy.ops.object.mode_set(mode="OBJECT")
    return obj


def _sides(bones: list[tuple[str, str | None, tuple[float, ...], tuple[float, ...]]]) -> list[Any]:
    """Add the .R/Right mirror (x → −x) of every left-side bone."""
    out = list(bones)
    for name, parent, head, tail in bones:
        if ".L" in name or "Left" in name:
            mirror = lambda n: n.replace(".L", ".R").replace("Left", "Right") if n else n  # noqa: E731
            out.append((mirror(name), mirror(parent), (-head[0], *head[1:]), (-tail[0], *tail[1:])))
    return out


RIGIFY_LIKE = _sides([  # the human metarig's names and a typical A-pose rest (metres)
    ("spine", None, (0, 0.03, 0.95), (0, 0.02, 1.05)),
    ("spine.001", "spine", (0, 0.02, 1.05), (0, 0.03, 1.18)),
    ("spine.002", "spine.001", (0, 0.03, 1.18), (0, 0.02, 1.32)),
    ("spine.003", "spine.002", (0, 0.02, 1.32), (0, 0.04, 1.48)),
    ("spine.004", "spine.003", (0, 0.04, 1.48), (0, 0.02, 1.55)),
    ("spine.005", "spine.004", (0, 0.02, 1.55), (0, 0.0, 1.62)),
    ("spine.006", "spine.005", (0, 0.0, 1.62), (0, 0.0, 1.85)),
    ("shoulder.L", "spine.003", (0.02, -0.03, 1.45), (0.17, 0.03, 1.43)),
    ("upper_arm.L", "shoulder.L", (0.17, 0.03, 1.43), (0.40, 0.05, 1.22)),
    ("forearm.L", "upper_arm.L", (0.40, 0.05, 1.22), (0.58, 0.0, 1.02)),
    ("hand.L", "forearm.L", (0.58, 0.0, 1.02), (0.64, -0.02, 0.94)),
    ("thigh.L", "spine", (0.1, 0.0, 0.98), (0.11, -0.02, 0.52)),
    ("shin.L", "thigh.L", (0.11, -0.02, 0.52), (0.11, 0.03, 0.08)),
    ("foot.L", "shin.L", (0.11, 0.03, 0.08), (0.11, -0.12, 0.02)),
])  # fmt: skip

MIXAMO_RIG = _sides([  # Mixamo's names with the usual "mixamorig:" prefix, T-pose, metres here
    ("mixamorig:Hips", None, (0, 0, 1.0), (0, 0, 1.1)),
    ("mixamorig:Spine", "mixamorig:Hips", (0, 0, 1.1), (0, 0, 1.22)),
    ("mixamorig:Spine1", "mixamorig:Spine", (0, 0, 1.22), (0, 0, 1.35)),
    ("mixamorig:Spine2", "mixamorig:Spine1", (0, 0, 1.35), (0, 0, 1.48)),
    ("mixamorig:Neck", "mixamorig:Spine2", (0, 0, 1.48), (0, 0, 1.58)),
    ("mixamorig:Head", "mixamorig:Neck", (0, 0, 1.58), (0, 0, 1.78)),
    ("mixamorig:LeftShoulder", "mixamorig:Spine2", (0.05, 0, 1.44), (0.17, 0, 1.44)),
    ("mixamorig:LeftArm", "mixamorig:LeftShoulder", (0.17, 0, 1.44), (0.45, 0, 1.44)),
    ("mixamorig:LeftForeArm", "mixamorig:LeftArm", (0.45, 0, 1.44), (0.70, 0, 1.44)),
    ("mixamorig:LeftHand", "mixamorig:LeftForeArm", (0.70, 0, 1.44), (0.78, 0, 1.44)),
    ("mixamorig:LeftUpLeg", "mixamorig:Hips", (0.09, 0, 0.95), (0.09, 0, 0.52)),
    ("mixamorig:LeftLeg", "mixamorig:LeftUpLeg", (0.09, 0, 0.52), (0.09, 0.02, 0.09)),
    ("mixamorig:LeftFoot", "mixamorig:LeftLeg", (0.09, 0.02, 0.09), (0.09, -0.12, 0.02)),
])  # fmt: skip


# ---------------------------------------------------------------------------------------------- tests
def test_new_armature_per_person_follows_the_joints() -> None:
    people = [posed_joints(50, seed=0), posed_joints(40, seed=1) + np.array([1.5, 0.0, 0.0])]
    result = parse_result(result_document(people, first_frames=[0, 10]))
    summary = apply_result(bpy.context, result, ApplyOptions(motion=EXACT))
    assert summary.armatures == ["Person.0", "Person.1"] and summary.camera == "FinePOSE Camera"
    scene = bpy.context.scene
    assert (scene.frame_start, scene.frame_end) == (1, 50) and scene.render.fps == 25
    assert (scene.render.resolution_x, scene.render.resolution_y) == (640, 480)
    for obj, joints, first in zip(
        (bpy.data.objects["Person.0"], bpy.data.objects["Person.1"]), people, (1, 11), strict=True
    ):
        frames = list(range(first, first + len(joints)))
        posed = evaluated_bones(obj, frames)
        errors = direction_errors(posed, joints, GENERATED)
        # measured: median 0.00001°, 95th percentile 0.00002° (float32 keys); the hip line likewise
        assert np.median(errors) < 0.001 and np.percentile(errors, 95) < 0.005
        assert hip_line_error(posed, joints, GENERATED).max() < 0.005
        # root motion: the hips bone's head is on the person's pelvis, in world space
        assert np.abs(posed["Hips"][:, 0] - joints[:, 0]).max() < 1e-3
    # one action per armature, keyed on every frame of its person, slotted (Blender 5 has no Action.fcurves)
    action = bpy.data.objects["Person.1"].animation_data.action
    assert not hasattr(action, "fcurves") and len(action.slots) == 1
    curve = action.layers[0].strips[0].channelbags[0].fcurves[0]
    assert len(curve.keyframe_points) == 40 and curve.keyframe_points[0].co[0] == 11


@pytest.mark.parametrize(
    ("bones", "matrix", "bone_map"),
    [(RIGIFY_LIKE, np.eye(4), RIGIFY_METARIG), (MIXAMO_RIG, MIXAMO_LIKE, MIXAMO)],
    ids=["rigify-metarig", "mixamo-fbx-style"],
)
def test_retarget_onto_a_selected_rig(bones: Any, matrix: np.ndarray, bone_map: dict[str, str]) -> None:
    rig = build_rig("Rig", bones, matrix)
    joints = posed_joints(60, seed=2)
    result = parse_result(result_document([joints]))
    summary = apply_result(bpy.context, result, ApplyOptions(target="SELECTED", motion=EXACT))
    assert summary.armatures == ["Rig"]
    posed = evaluated_bones(rig, list(range(1, 61)))
    errors = direction_errors(posed, joints, bone_map)
    # measured: median and 95th percentile under 0.01°, whatever the rolls and the object transform
    assert np.median(errors) < 0.05 and np.percentile(errors, 95) < 0.1, (
        np.median(errors),
        np.percentile(errors, 95),
    )
    assert hip_line_error(posed, joints, bone_map).max() < 0.1
    # unmapped bones ride along: spine.001 / Spine keep their rest pose relative to their parent
    for name in ("spine.001", "mixamorig:Spine"):
        if name in rig.pose.bones:
            assert rig.pose.bones[name].rotation_quaternion[0] == pytest.approx(1.0)


def test_a_rig_missing_bones_is_refused_naming_them() -> None:
    build_rig(
        "Partial", [b for b in MIXAMO_RIG if "LeftForeArm" not in b[0] and "LeftHand" not in b[0]], np.eye(4)
    )
    result = parse_result(result_document([posed_joints(10)]))
    with pytest.raises(ApplyError, match=r"mixamorig:LeftForeArm \(forearm\.L\)"):
        apply_result(bpy.context, result, ApplyOptions(target="SELECTED", bone_map="MIXAMO", motion=EXACT))
    with pytest.raises(ApplyError, match="matches no bone-map preset"):
        apply_result(bpy.context, result, ApplyOptions(target="SELECTED", motion=EXACT))
    bpy.context.view_layer.objects.active = None
    with pytest.raises(ApplyError, match="select the armature"):
        apply_result(bpy.context, result, ApplyOptions(target="SELECTED", motion=EXACT))
    with pytest.raises(ApplyError, match="no people"):
        apply_result(bpy.context, parse_result(result_document([])), ApplyOptions())


def walking_body(frames: int = 150, fps: float = 25.0, noise: float = 0.008) -> np.ndarray:
    """A T-posed upper body walking along x at 0.6 m/s with legs that plant each foot for half a second,
    with detector-like noise (8 mm) on the planted ankles."""
    rng = np.random.default_rng(8)
    rest = rest_joints(LENGTHS)
    t = np.arange(frames) / fps
    joints = np.repeat(rest[None], frames, 0)
    joints[:, :, 0] += 0.6 * t[:, None]
    joints[:, :, 2] -= 0.03  # hips a little lower than standing straight: the knees stay bent
    for hip, knee, ankle, phase in ((4, 5, 6, 0.0), (1, 2, 3, 0.5)):
        cycle = (t / 1.0 + phase) % 1.0
        stance = cycle < 0.5
        step = np.floor(t / 1.0 + phase)
        foot_x = (
            np.where(stance, 0.6 * step + 0.1, 0.6 * step + 0.1 + 0.6 * (cycle - 0.5) / 0.5) - 0.6 * phase
        )
        lift = np.where(stance, 0.0, 0.1 * np.sin(np.pi * (cycle - 0.5) / 0.5))
        target = np.stack([foot_x, np.full(frames, rest[ankle, 1]), ANKLE_HEIGHT_M + lift], -1)
        target += rng.normal(scale=noise, size=target.shape)
        joints[:, knee], joints[:, ankle] = two_bone_ik(
            joints[:, hip], target, joints[:, hip] + [1.0, 0.0, -0.4], LENGTHS[(1, 2)], LENGTHS[(2, 3)]
        )
    return joints


def test_foot_locking_keeps_a_planted_foot_still() -> None:
    joints = walking_body()
    result = parse_result(result_document([joints]))
    drift = {}
    for locking in (False, True):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        options = ApplyOptions(motion=MotionOptions(smoothing=0.0, foot_locking=locking, put_on_floor=True))
        apply_result(bpy.context, result, options)
        posed = evaluated_bones(bpy.data.objects["Person.0"], list(range(1, len(joints) + 1)))
        ankle = posed["Shin.L"][:, 1]  # the shin's tail is the ankle
        speed = np.linalg.norm(np.diff(joints[:, 6], axis=0), axis=-1)
        planted = np.concatenate([[False], speed < 0.02])  # true contacts: the ankle moved < 2 cm/frame
        drift[locking] = max(
            np.linalg.norm(ankle[a:b] - ankle[a:b].mean(0), axis=-1).max()
            for a, b in runs(planted)
            if b - a >= 5
        )
    # measured per contact: 9–18 mm of drift without locking, 0.0 mm with it
    assert drift[False] > 0.008 and drift[True] < 0.001, drift


def test_the_floor_comes_from_the_results_planted_feet() -> None:
    """The result's floor sits 5 cm off and for 15 frames the lifted body sinks 5 cm more (as a lifter's
    depth noise or a crouch would): "Put on Floor" brings the planted ankles to ankle height from the
    result's foot contacts; from the lowest ankles alone, the sunken frames leave everyone floating."""
    fps, frames = 25.0, 150
    joints = walking_body(frames, fps, noise=0.004)
    joints[..., 2] -= 0.05
    sunk = np.zeros(frames, bool)
    sunk[60:75] = True
    joints[sunk, :, 2] -= 0.05
    t = np.arange(frames) / fps
    contacts = np.stack([(t + phase) % 1.0 < 0.5 for phase in (0.5, 0.0)], -1)  # right, left
    heights = {}
    for given in (False, True):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        document = result_document([joints])
        if given:
            document["people"][0]["foot_contacts"] = contacts.tolist()
        result = parse_result(document)
        options = ApplyOptions(motion=MotionOptions(smoothing=0.0, put_on_floor=True), make_camera=False)
        apply_result(bpy.context, result, options)
        posed = evaluated_bones(bpy.data.objects["Person.0"], list(range(1, frames + 1)))
        ankles = np.stack(
            [posed["Shin.R"][:, 1, 2], posed["Shin.L"][:, 1, 2]], -1
        )  # a shin's tail: its ankle
        heights[given] = float(np.median(ankles[contacts & ~sunk[:, None]]))
    assert abs(heights[True] - ANKLE_HEIGHT_M) < 0.005, heights
    assert heights[False] > ANKLE_HEIGHT_M + 0.03, heights
    bad = result_document([joints])
    bad["people"][0]["foot_contacts"] = contacts[:10].tolist()
    with pytest.raises(ResultFileError, match=r"foot_contacts has shape \(10, 2\), expected \(150, 2\)"):
        parse_result(bad)


def shoes(rig: Any) -> Any:
    """A mesh the rig deforms: a box round each foot bone, soles at z = 0 (the ankles stand 9 cm over them),
    each box weighted to its foot."""
    vertices: list[tuple[float, float, float]] = []
    faces: list[tuple[int, ...]] = []
    groups: list[tuple[str, list[int]]] = []
    for side, x in (("Left", 0.09), ("Right", -0.09)):
        base = len(vertices)
        for dx in (-0.05, 0.05):
            for y in (0.06, -0.16):
                for z in (0.0, 0.12):
                    vertices.append((x + dx, y, z))
        faces += [
            tuple(base + i for i in face)
            for face in ((0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3))
        ]
        groups.append((f"mixamorig:{side}Foot", list(range(base, base + 8))))
    mesh = bpy.data.meshes.new("Shoes")
    mesh.from_pydata(vertices, [], faces)
    obj = bpy.data.objects.new("Shoes", mesh)
    bpy.context.scene.collection.objects.link(obj)
    for name, indices in groups:
        obj.vertex_groups.new(name=name).add(indices, 1.0, "REPLACE")
    modifier = obj.modifiers.new("Armature", "ARMATURE")
    modifier.object = rig
    return obj


def soles(obj: Any, frames: list[int]) -> np.ndarray:
    """World heights [F, 2, 4] of each shoe's four bottom corners, from Blender's evaluated mesh."""
    out = []
    for frame in frames:
        bpy.context.scene.frame_set(frame)
        evaluated = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
        mesh = evaluated.to_mesh()
        co = np.array([vertex.co[:] for vertex in mesh.vertices]) @ np.array(evaluated.matrix_world)[:3, :3].T
        evaluated.to_mesh_clear()
        out.append(co[:, 2].reshape(2, 4, 2)[:, :, 0])  # per shoe: (dx, y) corners, bottom (z = 0 at rest)
    return np.array(out)


def test_planted_feet_stand_flat_with_their_soles_on_the_floor() -> None:
    joints = walking_body(noise=0.0)  # planted ankles exactly at ankle height: the floor is exactly at z = 0
    result = parse_result(result_document([joints]))
    frames = list(range(1, len(joints) + 1))
    # the true stances of walking_body (left foot, then right), less three frames at each end, where the
    # contact finder eases in and out
    t = np.arange(len(joints)) / 25.0
    stance = np.stack([(t + phase) % 1.0 < 0.5 for phase in (0.0, 0.5)], -1)
    planted = np.stack([np.convolve(~stance[:, side], np.ones(7), "same") == 0 for side in (0, 1)], -1)
    measured = {}
    for flat in (False, True):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        rig = build_rig("Rig", MIXAMO_RIG, MIXAMO_LIKE)
        shoe = shoes(rig)
        bpy.context.view_layer.objects.active = rig
        motion = MotionOptions(smoothing=0.0, foot_locking=True, put_on_floor=True, flat_feet=flat)
        apply_result(bpy.context, result, ApplyOptions(target="SELECTED", motion=motion))
        corners = soles(shoe, frames)  # [F, shoe, corner]
        down = np.concatenate([corners[planted[:, 0], 0], corners[planted[:, 1], 1]])
        measured[flat] = (np.ptp(down, axis=1).max(), np.abs(down.min(axis=1)).max())
    # measured: riding on the shins a planted shoe's sole tilts by up to 7.1 cm between heel and toe and
    # its lowest corner goes 1.4 cm off the floor; kept flat, its corners are level (to 1e-7 m) and its sole
    # within 1.3 mm of the floor, the rig standing on its own soles
    # and its thighs start 5 cm below its pelvis bone
    assert measured[False][0] > 0.03 and measured[True][0] < 1e-4, measured
    assert measured[True][1] < 0.003, measured


def test_one_undo_removes_the_lift() -> None:
    bpy.ops.ed.undo_push(message="before the lift")
    result = parse_result(result_document([posed_joints(20)]))
    apply_result(bpy.context, result, ApplyOptions(motion=EXACT))
    bpy.ops.ed.undo_push(message="Lift Video to Armature")
    assert {"Person.0", "FinePOSE Camera"} <= set(bpy.data.objects.keys())
    bpy.ops.ed.undo()
    assert "Person.0" not in bpy.data.objects and "FinePOSE Camera" not in bpy.data.objects


def test_camera_matches_the_intrinsics_and_looks_at_the_people() -> None:
    result = parse_result(result_document([posed_joints(10)]))
    apply_result(bpy.context, result, ApplyOptions(motion=EXACT))
    camera = bpy.data.objects["FinePOSE Camera"]
    assert camera.data.lens == pytest.approx(800 / 640 * 36) and camera.data.sensor_fit == "HORIZONTAL"
    assert np.allclose(np.array(camera.matrix_world)[:3, 3], [0.0, -4.0, 1.2])
    # Blender cameras look down their −Z: here along +Y, towards the people at y ≈ 0
    assert np.allclose(np.array(camera.matrix_world)[:3, 2], [0.0, -1.0, 0.0], atol=1e-6)


def test_preview_render_overlays_the_armature_where_the_camera_sees_it(tmp_path: Path) -> None:
    from blender_addon.preview import PERSON_COLOURS, add_bone_meshes, add_video_backdrop, render_still

    joints = posed_joints(5, amplitude=0.2)
    result = parse_result(result_document([joints]))
    sample = str(REPO_ROOT / "samples/office_walk.mp4")
    summary = apply_result(bpy.context, result, ApplyOptions(motion=EXACT, video_path=sample))
    add_bone_meshes(bpy.context, bpy.data.objects["Person.0"])
    add_video_backdrop(bpy.context, bpy.data.objects[summary.camera], sample, 136)
    bpy.context.scene.render.resolution_percentage = 50
    path = render_still(bpy.context, tmp_path / "preview.png", 3)
    image = bpy.data.images.load(str(path))
    width, height = image.size
    pixels = np.array(image.pixels[:]).reshape(height, width, 4)[::-1, :, :3]  # rows from the top
    # the middle of the chest bone, projected with the result's own camera (a pinhole; half resolution)
    world_from_camera = np.array(result.world_from_camera)
    point = 0.5 * (joints[2, 7] + joints[2, 8])
    camera_point = np.linalg.inv(world_from_camera) @ np.append(point, 1.0)
    u, v = (result.K @ camera_point[:3])[:2] / camera_point[2] / 2
    patch = pixels[int(v) - 1 : int(v) + 2, int(u) - 1 : int(u) + 2].reshape(-1, 3)
    linear = np.array(PERSON_COLOURS[0])
    colour = np.where(linear > 0.0031308, 1.055 * linear ** (1 / 2.4) - 0.055, 12.92 * linear)  # PNG is sRGB
    assert np.min(np.linalg.norm(patch - colour, axis=-1)) < 0.15, patch
    # and the video is behind it: away from the person the picture is not the person's colour
    corner = pixels[5:15, 5:15].reshape(-1, 3)
    assert np.linalg.norm(corner.mean(0) - colour) > 0.3


# ------------------------------------------------------------------------ a real Rigify generated rig
@pytest.fixture(scope="module")
def rigify_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A rig generated by the Rigify that comes with Blender, from its human metarig (about 15 s)."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    try:
        bpy.ops.preferences.addon_enable(module="rigify")
    except RuntimeError as error:  # a Blender build without its bundled add-ons
        pytest.skip(f"Rigify cannot be enabled here: {error}")
    bpy.ops.object.armature_human_metarig_add()
    bpy.ops.pose.rigify_generate()
    path = tmp_path_factory.mktemp("rigify") / "rigify.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    # the rig works without the add-on (constraints and drivers are Blender's own); disabled, its file
    # handlers stay out of the other tests
    bpy.ops.preferences.addon_disable(module="rigify")
    # Rigify 5.0.1 leaves one load_post handler behind when disabled; it fails on every file opened after
    for handler in [h for h in bpy.app.handlers.load_post if h.__module__.startswith("rigify")]:
        bpy.app.handlers.load_post.remove(handler)
    return path


def _open_rig(path: Path) -> Any:
    bpy.ops.wm.open_mainfile(filepath=str(path))
    rig = bpy.data.objects["rig"]
    for obj in bpy.context.view_layer.objects:
        obj.select_set(False)
    bpy.context.view_layer.objects.active = rig
    rig.select_set(True)
    return rig


# what the FK controls move: Rigify's ORG bones (its metarig's bones, following the controls)
RIGIFY_ORG = {k: f"ORG-{v}" for k, v in RIGIFY_METARIG.items() if k not in ("pelvis", "spine", "neck")}


def test_retarget_onto_a_rigify_generated_rig(rigify_file: Path) -> None:
    rig = _open_rig(rigify_file)
    joints = posed_joints(40, seed=2)
    summary = apply_result(
        bpy.context, parse_result(result_document([joints])), ApplyOptions(target="SELECTED", motion=EXACT)
    )
    assert summary.armatures == ["rig"] and summary.warnings == []
    for switch in ("upper_arm_parent.L", "upper_arm_parent.R", "thigh_parent.L", "thigh_parent.R"):
        assert rig.pose.bones[switch]["IK_FK"] == 1.0
    assert rig.pose.bones["torso"]["neck_follow"] == 1.0 and rig.pose.bones["torso"]["head_follow"] == 1.0
    posed = evaluated_bones(rig, list(range(1, 41)))
    # limbs, clavicles and head — measured: under 0.0002° (before the rig was probed the arms were 54–77°
    # off: their parents follow the chest and shoulder controls through constraints)
    limbs = direction_errors(posed, joints, RIGIFY_ORG)
    assert limbs.max() < 0.01, limbs.max()
    neck = np.degrees(
        rot.angle_between(
            posed["ORG-spine.006"][:, 0] - posed["ORG-spine.004"][:, 0], joints[:, 9] - joints[:, 8]
        )
    )
    assert neck.max() < 0.01, neck.max()
    # the chest control bends spine.002 by only part of its turn and spine.003 fully, so the upper spine
    # (spine.002's head to the neck) follows to within a few degrees — measured: median 7.4°, max 11.7°
    spine = np.degrees(
        rot.angle_between(
            posed["ORG-spine.004"][:, 0] - posed["ORG-spine.002"][:, 0], joints[:, 8] - joints[:, 7]
        )
    )
    assert np.median(spine) < 9.0 and spine.max() < 14.0, (np.median(spine), spine.max())
    assert hip_line_error(posed, joints, RIGIFY_ORG).max() < 0.01


def test_probing_finds_what_turns_each_rigify_bone(rigify_file: Path) -> None:
    rig = _open_rig(rigify_file)
    apply_result(  # switches the limbs to FK and the neck and head to follow
        bpy.context, parse_result(result_document([posed_joints(5)])), ApplyOptions(target="SELECTED")
    )
    mapped = [RIGIFY_RIG[name] for name in LOGICAL_NAMES]
    bpy.context.scene.frame_set(3)
    before = {name: np.array(rig.pose.bones[name].matrix_basis) for name in mapped}
    carriers, warnings = probe_carriers(bpy.context, rig, mapped)
    assert carriers == {
        "torso": None,
        "chest": "torso",
        "neck": "chest",
        "head": "neck",
        "shoulder.L": "chest",
        "upper_arm_fk.L": "shoulder.L",
        "forearm_fk.L": "upper_arm_fk.L",
        "shoulder.R": "chest",
        "upper_arm_fk.R": "shoulder.R",
        "forearm_fk.R": "upper_arm_fk.R",
        "thigh_fk.L": "torso",
        "shin_fk.L": "thigh_fk.L",
        "thigh_fk.R": "torso",
        "shin_fk.R": "thigh_fk.R",
    }
    assert warnings == []
    # the keyed pose and the action are back as they were
    assert rig.animation_data.action is not None
    for name in mapped:
        np.testing.assert_allclose(np.array(rig.pose.bones[name].matrix_basis), before[name], atol=1e-6)
    # Rigify's default neck follow (half the chest's turn) cannot be keyed as rotations: it is reported
    rig.pose.bones["torso"]["neck_follow"] = 0.5
    _, warnings = probe_carriers(bpy.context, rig, mapped)
    assert len(warnings) == 1 and "neck's parent follows chest only partly" in warnings[0]
