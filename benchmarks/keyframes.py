"""Keyframe writing in Blender (the bpy wheel): the add-on's bulk path against `keyframe_insert`.

2 armatures × 20 bones × 900 frames of quaternion keys (plus the root's location): the add-on's
`keyframes.write_motion` (one slotted action per armature, `keyframe_points.add` + `foreach_set` per
F-curve) against setting each pose bone's rotation and calling `keyframe_insert` per bone and frame, the
usual way in add-ons.

Usage: python benchmarks/keyframes.py [--frames 900] [--bones 20] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import bpy
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from blender_addon.keyframes import write_motion  # noqa: E402
from blender_addon.retarget import rotations as rot  # noqa: E402
from blender_addon.retarget.rotations import Array  # noqa: E402
from blender_addon.retarget.solve import Motion  # noqa: E402


def chain(name: str, bones: int) -> Any:
    armature = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, armature)
    context: Any = bpy.context
    context.scene.collection.objects.link(obj)
    context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    parent = None
    for index in range(bones):
        bone = armature.edit_bones.new(f"b{index:02d}")
        bone.head, bone.tail = (0.0, 0.0, 0.1 * index), (0.0, 0.0, 0.1 * (index + 1))
        bone.parent = parent
        parent = bone
    bpy.ops.object.mode_set(mode="OBJECT")
    return obj


def motion(bones: int, frames: int, seed: int) -> Motion:
    rng = np.random.default_rng(seed)
    rotations = {f"b{i:02d}": rot.normalize(rng.normal(size=(frames, 4))) for i in range(bones)}
    return Motion(rotations, "b00", rng.normal(size=(frames, 3)), 1.0)


def bulk(objects: list[Any], motions: list[Motion], frames: Array) -> float:
    started = time.perf_counter()
    for obj, m in zip(objects, motions, strict=True):
        write_motion(obj, m, frames, f"{obj.name} bulk")
    return time.perf_counter() - started


def per_key(objects: list[Any], motions: list[Motion], frames: Array) -> float:
    started = time.perf_counter()
    for obj, m in zip(objects, motions, strict=True):
        bones = [obj.pose.bones[name] for name in m.rotations]
        for bone in bones:
            bone.rotation_mode = "QUATERNION"
        root = obj.pose.bones[m.root_bone]
        for row, frame in enumerate(frames):
            for bone in bones:
                bone.rotation_quaternion = m.rotations[bone.name][row]
                bone.keyframe_insert("rotation_quaternion", frame=float(frame))
            root.location = m.root_location[row]
            root.keyframe_insert("location", frame=float(frame))
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=900)
    parser.add_argument("--bones", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    frames = np.arange(1, args.frames + 1, dtype=np.float64)
    keys = 2 * args.frames * (4 * args.bones + 3)
    results = {}
    for name, method in (("foreach_set", bulk), ("keyframe_insert", per_key)):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        objects = [chain(f"{name}{i}", args.bones) for i in range(2)]
        motions = [motion(args.bones, args.frames, i) for i in range(2)]
        seconds = method(objects, motions, frames)
        results[name] = {"seconds": round(seconds, 3), "keys_per_s": round(keys / seconds)}
        print(f"{name}: {keys} keys in {seconds:.2f} s = {keys / seconds:,.0f} keys/s", flush=True)
    speedup = results["keyframe_insert"]["seconds"] / results["foreach_set"]["seconds"]
    print(f"foreach_set is {speedup:.0f}× faster than keyframe_insert")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        report = {
            "armatures": 2,
            "bones": args.bones,
            "frames": args.frames,
            "keys": keys,
            **results,
            "speedup": round(speedup, 1),
        }
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
