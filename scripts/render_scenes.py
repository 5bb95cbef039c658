"""Render validation scenes for people and ground: cameras high and low, lenses 35–90°, several people who
cross and occlude each other at different distances and builds, a person behind a desk.

The single-person validation clips (scripts/render_validation_clips.py) film one person from a tripod
1.2–1.6 m high through a 50–62° lens; the tracker, the floor and the lens are judged here on what those
clips do not show. Everything else is theirs: held-out CMU trials (subject 06 and trials 02_06, 02_09) on
the CC0 MakeHuman body, retargeted by the add-on's solver, ground truth read back from the posed rigs,
Cycles on the CPU, 640 × 480, 30 fps, and the test clips' file format, with one entry per person.

"The data used in this project was obtained from mocap.cs.cmu.edu. The database was created with funding
from NSF EIA-0196217." The body: MakeHuman / MPFB2 assets, CC0 1.0.

Usage: .venv/bin/python scripts/render_scenes.py [--out runs/val_scenes] [--scenes high low ...]
       [--frames 120] [--samples 6] [--threads N] [--check]   (--check: ground truth and coverage only)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bpy
import numpy as np
from numpy.typing import NDArray

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import render_validation_clips as single  # noqa: E402

from blender_addon.armature import rest_pose  # noqa: E402
from blender_addon.keyframes import write_motion  # noqa: E402
from blender_addon.retarget.bones import MIXAMO, resolve  # noqa: E402
from blender_addon.retarget.prepare import MotionOptions, prepare  # noqa: E402
from blender_addon.retarget.solve import SolveOptions, solve  # noqa: E402
from finepose_core.data.joint_maps import joint_map  # noqa: E402
from finepose_core.data.mocap import MocapSequence, load_descriptions  # noqa: E402
from finepose_core.geometry.camera import project  # noqa: E402
from finepose_core.skeleton import H36M_JOINTS  # noqa: E402
from finepose_core.train import RECIPES, TrainConfig, load_split  # noqa: E402

FloatArray = NDArray[np.float64]
WIDTH, HEIGHT, FPS = single.WIDTH, single.HEIGHT, single.FPS


@dataclass(frozen=True)
class Actor:
    trial: str
    start: int  # first frame at 30 fps
    yaw_deg: float  # the motion turned about the vertical
    offset: tuple[float, float]  # where its mean pelvis stands, metres (x right, y away from the camera)
    scale: float = 1.0  # body build: the whole figure and its motion scaled about its feet
    palette: int = 0


@dataclass(frozen=True)
class Scene:
    name: str
    actors: tuple[Actor, ...]
    camera_height_m: float
    pitch_deg: float  # positive: looking down
    fov_deg: float
    distance_m: float  # camera at y = −distance
    desk: tuple[float, float] | None = None  # a desk's centre (x, y) on the floor
    notes: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)


SCENES: dict[str, Scene] = {
    scene.name: scene
    for scene in (
        Scene(
            "high",
            (Actor("06_01", 0, 70.0, (0.0, 0.0)),),
            camera_height_m=3.4,
            pitch_deg=34.0,
            fov_deg=70.0,
            distance_m=3.6,
            notes="a walker seen from 3.4 m up, pitched 32° down (a balcony, a security camera)",
        ),
        Scene(
            "low",
            (Actor("06_03", 0, -110.0, (0.0, 0.0), palette=1),),
            camera_height_m=0.5,
            pitch_deg=-6.0,
            fov_deg=45.0,
            distance_m=7.0,
            notes="a dribbling walker seen from 0.5 m, looking up a little, through a 45° lens",
        ),
        Scene(
            "crossing",
            (
                Actor("06_01", 0, 90.0, (0.0, 1.5), palette=2),
                Actor("06_04", 0, -90.0, (0.2, -0.4), scale=0.9, palette=3),
            ),
            camera_height_m=1.5,
            pitch_deg=8.0,
            fov_deg=85.0,
            distance_m=2.6,
            notes="two people of different builds walking opposite ways, the near one passing in front",
        ),
        Scene(
            "desk",
            (Actor("06_14", 0, 180.0, (0.0, 0.0), palette=1),),
            camera_height_m=1.3,
            pitch_deg=4.0,
            fov_deg=38.0,
            distance_m=7.5,
            desk=(0.0, -0.9),
            notes="a person behind a desk that hides the legs, through a 38° lens",
        ),
        Scene(
            "three",
            (
                Actor("06_01", 0, -80.0, (-0.3, 0.2), palette=0),
                Actor("06_06", 0, 100.0, (0.4, 1.6), scale=1.1, palette=2),
                Actor("02_09", 0, 20.0, (1.4, 5.0), scale=0.95, palette=3),
            ),
            camera_height_m=2.2,
            pitch_deg=14.0,
            fov_deg=60.0,
            distance_m=4.0,
            notes="three people: two crossing near the camera, one fencing further back (a fifth as tall)",
        ),
    )
}


def _actor_joints(actor: Actor, sequence: MocapSequence, frames: int) -> FloatArray:
    jm = joint_map(TrainConfig.from_file(RECIPES / "cmu_small.json").joint_map)
    joints = single._placed(
        jm.world_joints(sequence.motion, None, slice(actor.start, actor.start + frames)), actor.yaw_deg
    )
    return np.asarray(joints + np.array([actor.offset[0], actor.offset[1], 0.0]))


def _camera(scene: Scene) -> tuple[FloatArray, FloatArray]:
    focal = WIDTH / 2 / math.tan(math.radians(scene.fov_deg) / 2)
    K = np.array([[focal, 0, WIDTH / 2 - 0.5], [0, focal, HEIGHT / 2 - 0.5], [0, 0, 1]])
    pitch = math.radians(scene.pitch_deg)
    forward = np.array([0.0, math.cos(pitch), -math.sin(pitch)])
    right = np.array([1.0, 0.0, 0.0])
    down = np.cross(forward, right)
    world_from_camera = np.eye(4)
    world_from_camera[:3, :3] = np.stack([right, down, forward], axis=1)
    world_from_camera[:3, 3] = [0.0, -scene.distance_m, scene.camera_height_m]
    return K, world_from_camera


def _desk(centre: tuple[float, float]) -> None:
    """A plain table 1.6 × 0.7 m, 0.76 m high: a top and a front panel that hides the legs behind it."""
    width, depth, height = 1.6, 0.7, 0.76
    x, y = centre
    corners = [
        (x + dx * width / 2, y + dy * depth / 2, z) for z in (0.0, height) for dy in (-1, 1) for dx in (-1, 1)
    ]
    faces = [[0, 1, 3, 2], [4, 5, 7, 6], [0, 1, 5, 4], [2, 3, 7, 6], [0, 2, 6, 4], [1, 3, 7, 5]]
    mesh = bpy.data.meshes.new("Desk")
    mesh.from_pydata(corners, [], faces)
    desk = bpy.data.objects.new("Desk", mesh)
    single._scene().collection.objects.link(desk)
    material = bpy.data.materials.new("Desk")
    single._set_colour(material, (0.32, 0.2, 0.1), 0.6)
    mesh.materials.append(material)


def render_scene(
    scene: Scene,
    sequences: dict[str, MocapSequence],
    frames: int,
    samples: int,
    out: Path,
    check: bool,
    threads: int = 0,
) -> dict[str, Any]:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    blender = single._scene()
    truths = []
    wanted = frames
    for actor in scene.actors:
        joints = _actor_joints(actor, sequences[actor.trial], wanted)
        wanted = min(wanted, len(joints))
        truths.append(joints)
    frames = wanted
    blender.render.fps, blender.frame_start, blender.frame_end = int(FPS), 1, frames
    truth_world = []
    for index, (actor, joints) in enumerate(zip(scene.actors, truths, strict=True)):
        body, rig_object = single.build_body(actor.palette)
        rest = rest_pose(rig_object)
        armature: Any = rig_object.data
        bone_map = resolve(MIXAMO, [bone.name for bone in armature.bones])
        options = MotionOptions(root_motion=True, put_on_floor=False, foot_locking=False, smoothing=0.0)
        prepared = prepare(joints[:frames], FPS, options, 0.0)
        # planted feet flat on the floor, as the add-on keys them (riding on the shins, a toe or heel
        # would dip below the sole and set the body's lowest point, standing the ankles too high)
        motion = solve(
            prepared.joints, rest, bone_map, SolveOptions(root_motion=True, planted=prepared.planted)
        )
        write_motion(rig_object, motion, np.arange(frames, dtype=np.float64) + 1.0, f"actor{index}")
        world, lowest = single._posed(rig_object, body, frames)
        drop = float(np.percentile(lowest, 10))
        rig_object.location.z -= drop
        world[..., 2] -= drop
        if actor.scale != 1.0:  # a shorter or taller build, scaled about the point under its mean pelvis
            pivot = np.array([*world[:, 0, :2].mean(axis=0), 0.0])
            rig_object.scale = (actor.scale,) * 3
            rig_object.location = tuple((np.array(rig_object.location) - pivot) * actor.scale + pivot)
            world = (world - pivot) * actor.scale + pivot
        truth_world.append(world)
    world_all = np.stack(truth_world)  # [P, F, 17, 3]
    K, world_from_camera = _camera(scene)
    centre = world_all[:, :, 0].reshape(-1, 3).mean(axis=0)
    single._stage(scene.actors[0].palette, centre)
    if scene.desk is not None:
        _desk(scene.desk)
    single._add_camera(K, world_from_camera)
    camera_from_world = np.linalg.inv(world_from_camera)
    truth_camera = single._in_camera(world_all, world_from_camera)
    truth_2d = project(truth_camera, K)
    inside = single._in_image(truth_2d)
    in_front = truth_camera[..., 2] > 0.1
    inside &= in_front
    summary: dict[str, Any] = {
        "clip": f"s_{scene.name}",
        "notes": scene.notes,
        "people": len(scene.actors),
        "frames": frames,
        "hfov_deg": scene.fov_deg,
        "camera_height_m": scene.camera_height_m,
        "pitch_deg": scene.pitch_deg,
        "desk": scene.desk is not None,
        "trials": [a.trial for a in scene.actors],
        "joints_in_image": [round(float(v), 3) for v in inside.mean(axis=(1, 2))],
        "height_in_image": [
            round(float(np.median(np.ptp(truth_2d[p, :, :, 1], axis=-1))) / HEIGHT, 3)
            for p in range(len(scene.actors))
        ],
    }
    if check:
        return summary

    name = f"s_{scene.name}"
    single.render_video(frames, samples, out / f"{name}.mp4", name, threads)
    people = len(scene.actors)
    np.savez_compressed(
        out / f"{name}.npz",
        joints3d_cam=truth_camera.astype(np.float32),
        joints3d_world=world_all.astype(np.float32),
        joints2d_gt=truth_2d.astype(np.float32),
        K=K.astype(np.float32),
        R=camera_from_world[:3, :3].astype(np.float32),
        t=camera_from_world[:3, 3].astype(np.float32),
        image_size=np.array([WIDTH, HEIGHT], np.int32),
        fps=np.float32(FPS),
        num_people=np.int32(people),
        num_frames=np.int32(frames),
        person_present=np.ones((people, frames), bool),
        joints_in_image=inside,
        joint_names=np.array(H36M_JOINTS),
        action=np.array([sequences[a.trial].action for a in scene.actors]),
        subject=np.array([sequences[a.trial].subject for a in scene.actors]),
        bvh_trial=np.array([a.trial for a in scene.actors]),
        hfov_deg=np.float32(scene.fov_deg),
        clip_name=np.array(name),
    )
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "runs/val_scenes")
    parser.add_argument("--scenes", nargs="+", default=list(SCENES), choices=list(SCENES))
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--samples", type=int, default=6)
    parser.add_argument("--check", action="store_true", help="ground truth and coverage only, no rendering")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for Cycles (default: all)")
    args = parser.parse_args(argv)
    if not single.MAKEHUMAN.is_dir():
        print(f"error: {single.MAKEHUMAN} not found (the MakeHuman body is in ../shared)", file=sys.stderr)
        return 1
    config = TrainConfig.from_recipe("cmu_small", single.CMU)
    jm = joint_map(config.joint_map)
    descriptions = load_descriptions(Path(config.descriptions)) if config.descriptions else {}
    _, validation = load_split(config, jm, descriptions)
    by_trial = {sequence.trial: sequence for sequence in validation}
    args.out.mkdir(parents=True, exist_ok=True)
    summary = []
    for name in args.scenes:
        summary.append(
            render_scene(
                SCENES[name], by_trial, args.frames, args.samples, args.out, args.check, args.threads
            )
        )
        print(json.dumps(summary[-1]))
    if not args.check:
        (args.out / "scenes.json").write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
