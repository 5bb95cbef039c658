"""Render validation video: held-out CMU motion on the CC0 MakeHuman body, with exact 3D ground truth.

The five clips in ../shared/data/rendered are the test set; nothing may be tuned on them. This script makes
their counterpart for validation, from the training split's held-out trials (subject 06 and trials 02_06,
02_09; `train.load_split`), in the same file format, so that `benchmarks/quality_rendered.py --rendered
runs/val_rendered` scores the whole pipeline on video that no choice has seen:

- the body: the MakeHuman hm08 base mesh (its `body` group; ../shared/data/makehuman, CC0), its CMU rig
  built from the mesh's joint cubes, its skin weights, flat materials for skin, shirt, trousers and shoes;
- the motion: the trial's Human3.6M joints (`JointMap.world_joints`) put onto that rig by the add-on's own
  retargeting solver (`blender_addon.retarget`, the Mixamo bone map, which the CMU names match), turned and
  placed in front of the camera;
- the ground truth: read back from the posed rig (bone heads, the same joint definitions as the test clips'
  README: Hips, UpLeg, Leg and Foot heads, Spine.head, Neck.head, Head.head and tail, Arm, ForeArm and Hand
  heads), so it is exactly the skeleton that moved the rendered mesh;
- the camera: a tripod 1.2–1.6 m high, pitched at the body's middle, 50–62° horizontal field of view,
  4–5.5 m away or further where the person would leave the picture; Cycles on the CPU, 640 × 480, 30 fps,
  6 samples and denoising (as the test clips), an mp4 written with OpenCV.

"The data used in this project was obtained from mocap.cs.cmu.edu. The database was created with funding
from NSF EIA-0196217." The body: MakeHuman / MPFB2 assets, CC0 1.0.

Usage: .venv/bin/python scripts/render_validation_clips.py [--out runs/val_rendered] [--frames 120]
       [--samples 6] [--trials 02_09 06_01 ...] [--only 06_01 ...] [--seed 7] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bpy
import cv2
import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from blender_addon.armature import rest_pose  # noqa: E402
from blender_addon.keyframes import write_motion  # noqa: E402
from blender_addon.retarget.bones import MIXAMO, resolve  # noqa: E402
from blender_addon.retarget.camera import blender_camera  # noqa: E402
from blender_addon.retarget.prepare import MotionOptions, prepare  # noqa: E402
from blender_addon.retarget.solve import SolveOptions, solve  # noqa: E402
from finepose_core.data.joint_maps import joint_map  # noqa: E402
from finepose_core.data.mocap import MocapSequence, load_descriptions  # noqa: E402
from finepose_core.geometry.camera import project  # noqa: E402
from finepose_core.skeleton import H36M_JOINTS  # noqa: E402
from finepose_core.train import RECIPES, TrainConfig, load_split  # noqa: E402

FloatArray = NDArray[np.float64]
MAKEHUMAN = REPO.parent / "shared/data/makehuman"
CMU = REPO.parent / "shared/data/mocap/cmu"
WIDTH, HEIGHT, FPS = 640, 480, 30.0
DEFAULT_TRIALS = ("02_09", "02_06", "06_01", "06_14", "06_10")

# Human3.6M joint → (rig bone, end), as in ../shared/data/rendered/README.md
GROUND_TRUTH = {
    "Hip": ("Hips", "head"),
    "RHip": ("RightUpLeg", "head"),
    "RKnee": ("RightLeg", "head"),
    "RAnkle": ("RightFoot", "head"),
    "LHip": ("LeftUpLeg", "head"),
    "LKnee": ("LeftLeg", "head"),
    "LAnkle": ("LeftFoot", "head"),
    "Spine": ("Spine", "head"),
    "Thorax": ("Neck", "head"),
    "Neck/Nose": ("Head", "head"),
    "Head": ("Head", "tail"),
    "LShoulder": ("LeftArm", "head"),
    "LElbow": ("LeftForeArm", "head"),
    "LWrist": ("LeftHand", "head"),
    "RShoulder": ("RightArm", "head"),
    "RElbow": ("RightForeArm", "head"),
    "RWrist": ("RightHand", "head"),
}
# which material a face gets, by the bone that weighs most on its vertices
CLOTHING = {
    "shirt": ("Hips", "LowerBack", "Spine", "Spine1", "LeftShoulder", "RightShoulder", "LeftArm", "RightArm"),
    "trousers": ("LHipJoint", "RHipJoint", "LeftUpLeg", "RightUpLeg", "LeftLeg", "RightLeg"),
    "shoes": ("LeftFoot", "RightFoot", "LeftToeBase", "RightToeBase"),
}
PALETTES = [  # skin, shirt, trousers, shoes, ground (linear RGB)
    ((0.62, 0.42, 0.32), (0.10, 0.22, 0.45), (0.15, 0.15, 0.17), (0.05, 0.05, 0.05), (0.35, 0.33, 0.30)),
    ((0.45, 0.28, 0.18), (0.60, 0.12, 0.10), (0.30, 0.25, 0.16), (0.25, 0.20, 0.15), (0.18, 0.30, 0.12)),
    ((0.70, 0.50, 0.40), (0.75, 0.75, 0.72), (0.08, 0.10, 0.25), (0.60, 0.60, 0.60), (0.40, 0.38, 0.36)),
    ((0.30, 0.18, 0.12), (0.12, 0.40, 0.20), (0.40, 0.35, 0.28), (0.10, 0.08, 0.06), (0.30, 0.30, 0.32)),
]


@dataclass(frozen=True)
class Shot:
    trial: str
    action: str
    subject: str
    start: int
    yaw_deg: float
    fov_deg: float
    height_m: float
    distance_m: float  # at least; further back where the person would leave the picture
    palette: int


def _scene() -> bpy.types.Scene:
    scene = bpy.context.scene
    assert scene is not None
    return scene


def _set_colour(material: bpy.types.Material, colour: tuple[float, float, float], roughness: float) -> None:
    material.use_nodes = True  # still needed in Blender 5.0 for the node tree to exist
    tree = material.node_tree
    assert tree is not None
    principled: Any = tree.nodes["Principled BSDF"]
    principled.inputs["Base Color"].default_value = (*colour, 1.0)
    principled.inputs["Roughness"].default_value = roughness


def _obj_groups(path: Path) -> tuple[FloatArray, dict[str, list[list[int]]]]:
    """Vertices (metres, Blender axes: z up, the body facing −y) and faces per group of the MakeHuman OBJ."""
    vertices, faces, group = [], {}, ""  # type: ignore[var-annotated]
    for line in path.read_text().splitlines():
        if line.startswith("v "):
            x, y, z = map(float, line.split()[1:4])
            vertices.append((0.1 * x, -0.1 * z, 0.1 * y))  # decimetres, y up, facing +z
        elif line.startswith("g "):
            group = line.split(maxsplit=1)[1]
        elif line.startswith("f "):
            faces.setdefault(group, []).append([int(token.split("/")[0]) - 1 for token in line.split()[1:]])
    return np.asarray(vertices), faces


def _cube_centres(vertices: FloatArray) -> dict[str, FloatArray]:
    groups = json.loads((MAKEHUMAN / "mesh_metadata/basemesh_vertex_groups.json").read_text())
    centres = {}
    for name, ranges in groups.items():
        if name.startswith("joint-"):
            indices = [i for first, last in ranges for i in range(first, last + 1)]
            centres[name] = vertices[indices].mean(axis=0)
    return centres


def _end(spec: dict[str, Any], centres: dict[str, FloatArray], vertices: FloatArray) -> FloatArray:
    if spec["strategy"] == "CUBE":
        return centres[spec["cube_name"]]
    return np.asarray(vertices[spec["vertex_indices"]].mean(axis=0))


def build_body(palette: int) -> tuple[bpy.types.Object, bpy.types.Object]:
    """The MakeHuman body (mesh, armature): rig from the joint cubes, skin weights, clothing colours."""
    vertices, faces = _obj_groups(MAKEHUMAN / "3dobjs/base.obj")
    body_faces = faces["body"]
    used = sorted({i for face in body_faces for i in face})
    remap = {old: new for new, old in enumerate(used)}
    mesh = bpy.data.meshes.new("Body")
    mesh.from_pydata(vertices[used].tolist(), [], [[remap[i] for i in face] for face in body_faces])
    mesh.update()
    for polygon in mesh.polygons:
        polygon.use_smooth = True
    body = bpy.data.objects.new("Body", mesh)
    _scene().collection.objects.link(body)

    rig = json.loads((MAKEHUMAN / "rigs/standard/rig.cmu_mb.json").read_text())
    centres = _cube_centres(vertices)
    armature = bpy.data.armatures.new("CMU")
    rig_object = bpy.data.objects.new("CMU", armature)
    _scene().collection.objects.link(rig_object)
    view_layer = bpy.context.view_layer
    assert view_layer is not None
    view_layer.objects.active = rig_object
    bpy.ops.object.mode_set(mode="EDIT")
    for name, spec in rig.items():
        bone = armature.edit_bones.new(name)
        bone.head = _end(spec["head"], centres, vertices).tolist()
        bone.tail = _end(spec["tail"], centres, vertices).tolist()
        bone.roll = float(spec["roll"])
    for name, spec in rig.items():
        if spec["parent"]:
            armature.edit_bones[name].parent = armature.edit_bones[spec["parent"]]
            armature.edit_bones[name].use_connect = bool(spec["use_connect"])
    bpy.ops.object.mode_set(mode="OBJECT")

    weights = json.loads((MAKEHUMAN / "rigs/standard/weights.cmu_mb.json").read_text())["weights"]
    strongest = np.zeros(len(used))
    owner = np.full(len(used), "", dtype=object)
    for bone, pairs in weights.items():
        group = body.vertex_groups.new(name=bone)
        for index, weight in pairs:
            if index in remap:
                group.add([remap[index]], float(weight), "REPLACE")
                if weight > strongest[remap[index]]:
                    strongest[remap[index]], owner[remap[index]] = weight, bone
    modifier: Any = body.modifiers.new("Armature", "ARMATURE")
    modifier.object = rig_object
    body.parent = rig_object

    colours = PALETTES[palette % len(PALETTES)]
    materials = {}
    for slot, (name, colour) in enumerate(zip(("skin", "shirt", "trousers", "shoes"), colours, strict=False)):
        material = bpy.data.materials.new(name)
        _set_colour(material, colour, 0.7 if name == "skin" else 0.85)
        mesh.materials.append(material)
        materials[name] = slot
    slot_of = {bone: materials[kind] for kind, bones in CLOTHING.items() for bone in bones}
    for polygon in mesh.polygons:
        votes = [slot_of.get(owner[v], materials["skin"]) for v in polygon.vertices]
        polygon.material_index = max(set(votes), key=votes.count)
    return body, rig_object


def _stage(palette: int, target: FloatArray) -> None:
    """Ground, sun and sky."""
    size = 40.0
    plane = bpy.data.meshes.new("Ground")
    corners = [(-size, -size, 0.0), (size, -size, 0.0), (size, size, 0.0), (-size, size, 0.0)]
    plane.from_pydata(corners, [], [[0, 1, 2, 3]])
    ground = bpy.data.objects.new("Ground", plane)
    ground.location = (float(target[0]), float(target[1]), 0.0)
    _scene().collection.objects.link(ground)
    material = bpy.data.materials.new("Ground")
    _set_colour(material, PALETTES[palette % len(PALETTES)][4], 0.9)
    plane.materials.append(material)
    sun: Any = bpy.data.lights.new("Sun", "SUN")
    sun.energy = 3.5
    sun.angle = math.radians(8)
    sun_object = bpy.data.objects.new("Sun", sun)
    sun_object.rotation_euler = (math.radians(50), 0.0, math.radians(30 + 40 * palette))
    _scene().collection.objects.link(sun_object)
    world = bpy.data.worlds.new("Sky")
    world.use_nodes = True
    assert world.node_tree is not None
    background: Any = world.node_tree.nodes["Background"]
    background.inputs["Color"].default_value = (0.55, 0.6, 0.68, 1.0)
    background.inputs["Strength"].default_value = 0.9
    _scene().world = world


def _placed(joints: FloatArray, yaw_deg: float) -> FloatArray:
    """The motion turned about z by `yaw` and moved so that its mean pelvis stands over the origin."""
    c, s = math.cos(math.radians(yaw_deg)), math.sin(math.radians(yaw_deg))
    turn = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    centre = joints[:, 0].mean(axis=0)
    moved = (joints - [centre[0], centre[1], 0.0]) @ turn.T
    return np.asarray(moved)


def _camera_for(joints: FloatArray, shot: Shot) -> tuple[FloatArray, FloatArray]:
    """K and world_from_camera (OpenCV axes) of a camera on −y looking along +y, pitched at 1 m height,
    at the shot's distance or stepped back until at least 97 % of the joints are in the picture."""
    focal = WIDTH / 2 / math.tan(math.radians(shot.fov_deg) / 2)
    K = np.array([[focal, 0, WIDTH / 2 - 0.5], [0, focal, HEIGHT / 2 - 0.5], [0, 0, 1]])
    for distance in np.arange(shot.distance_m, shot.distance_m + 8.0, 0.25):
        pitch = math.atan2(shot.height_m - 1.0, distance)
        # OpenCV camera axes in the world: x right, y down, z forward
        forward = np.array([0.0, math.cos(pitch), -math.sin(pitch)])
        right = np.array([1.0, 0.0, 0.0])
        down = np.cross(forward, right)
        world_from_camera = np.eye(4)
        world_from_camera[:3, :3] = np.stack([right, down, forward], axis=1)
        world_from_camera[:3, 3] = [0.0, -distance, shot.height_m]
        if _in_image(project(_in_camera(joints, world_from_camera), K)).mean() >= 0.97:
            break
    return K, world_from_camera


def _in_camera(points: FloatArray, world_from_camera: FloatArray) -> FloatArray:
    camera_from_world = np.linalg.inv(world_from_camera)
    return np.asarray(points @ camera_from_world[:3, :3].T + camera_from_world[:3, 3])


def _in_image(pixels: FloatArray) -> NDArray[np.bool_]:
    x, y = pixels[..., 0], pixels[..., 1]
    return np.asarray((x >= 0) & (x < WIDTH) & (y >= 0) & (y < HEIGHT))


def _add_camera(K: FloatArray, world_from_camera: FloatArray) -> None:
    from mathutils import Matrix

    settings = blender_camera(K, world_from_camera, WIDTH, HEIGHT)
    data = bpy.data.cameras.new("Camera")
    data.sensor_fit = "HORIZONTAL"
    data.sensor_width = settings.sensor_width_mm
    data.lens = settings.lens_mm
    data.shift_x, data.shift_y = settings.shift_x, settings.shift_y
    camera = bpy.data.objects.new("Camera", data)
    camera.matrix_world = Matrix(settings.matrix_world.tolist())
    _scene().collection.objects.link(camera)
    _scene().camera = camera


def _posed(
    rig_object: bpy.types.Object, body: bpy.types.Object, frames: int
) -> tuple[FloatArray, FloatArray]:
    """In one pass over the frames: the evaluated rig's world joints [F, 17, 3], and the lowest point of the
    deformed body [F], metres."""
    joints = np.zeros((frames, 17, 3))
    lowest = np.zeros(frames)
    scene = _scene()
    for f in range(frames):
        scene.frame_set(f + 1)
        depsgraph = bpy.context.evaluated_depsgraph_get()
        rig = rig_object.evaluated_get(depsgraph)
        world = np.array(rig.matrix_world)
        pose = rig.pose
        assert pose is not None
        for j, name in enumerate(H36M_JOINTS):
            bone, end = GROUND_TRUTH[name]
            joints[f, j] = (world @ np.array([*getattr(pose.bones[bone], end), 1.0]))[:3]
        skin = body.evaluated_get(depsgraph)
        mesh = skin.to_mesh()
        coords = np.empty(len(mesh.vertices) * 3)
        mesh.vertices.foreach_get("co", coords)
        world = np.array(skin.matrix_world)
        lowest[f] = (coords.reshape(-1, 3) @ world[:3, :3].T + world[:3, 3])[:, 2].min()
        skin.to_mesh_clear()
    return joints, lowest


def render_video(frames: int, samples: int, path: Path, name: str, threads: int = 0) -> None:
    """Render frames 1…frames of the current scene with Cycles on the CPU into an mp4 at `path`, on
    `threads` CPU threads (0: all)."""
    scene = _scene()
    scene.render.threads_mode = "FIXED" if threads > 0 else "AUTO"
    if threads > 0:
        scene.render.threads = threads
    render: Any = scene.render  # the stubs know only Eevee's engine name
    render.engine = "CYCLES"
    cycles: Any = scene.cycles
    cycles.device, cycles.samples, cycles.use_denoising = "CPU", samples, True
    scene.render.resolution_x, scene.render.resolution_y = WIDTH, HEIGHT
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    folder = Path(tempfile.mkdtemp(prefix="finepose_render_"))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    try:
        for f in tqdm(range(frames), desc=name, unit="frame"):
            scene.frame_set(f + 1)
            scene.render.filepath = str(folder / f"{f:05d}.png")
            bpy.ops.render.render(write_still=True)
            writer.write(cv2.imread(str(folder / f"{f:05d}.png")))
    finally:
        writer.release()
        shutil.rmtree(folder, ignore_errors=True)


def render_clip(
    sequence: MocapSequence, shot: Shot, frames: int, samples: int, out: Path, threads: int = 0
) -> dict[str, Any]:
    jm = joint_map(TrainConfig.from_file(RECIPES / "cmu_small.json").joint_map)
    joints = _placed(
        jm.world_joints(sequence.motion, None, slice(shot.start, shot.start + frames)), shot.yaw_deg
    )
    frames = len(joints)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = _scene()
    scene.render.fps, scene.frame_start, scene.frame_end = int(FPS), 1, frames
    body, rig_object = build_body(shot.palette)

    rest = rest_pose(rig_object)
    armature: Any = rig_object.data
    bone_map = resolve(MIXAMO, [bone.name for bone in armature.bones])
    options = MotionOptions(root_motion=True, put_on_floor=False, foot_locking=False, smoothing=0.0)
    prepared = prepare(joints, FPS, options, 0.0)
    # planted feet flat on the floor, as the add-on keys them (riding on the shins, a toe or heel would dip
    # below the sole and set the body's lowest point, standing the ankles too high)
    motion = solve(prepared.joints, rest, bone_map, SolveOptions(root_motion=True, planted=prepared.planted))
    write_motion(rig_object, motion, np.arange(frames, dtype=np.float64) + 1.0, "validation")
    # feet on the ground: the body's lowest point touches z = 0 in a typical frame (10th percentile), as the
    # test clips were made; a few centimetres of sliding or sinking remain where the rig's legs differ
    truth_world, lowest = _posed(rig_object, body, frames)
    drop = float(np.percentile(lowest, 10))
    rig_object.location.z -= drop  # moves the body (its child) and the ground truth alike
    truth_world[..., 2] -= drop

    K, world_from_camera = _camera_for(truth_world, shot)
    _stage(shot.palette, truth_world[:, 0].mean(axis=0))
    _add_camera(K, world_from_camera)
    camera_from_world = np.linalg.inv(world_from_camera)
    truth_camera = _in_camera(truth_world, world_from_camera)
    truth_2d = project(truth_camera, K)

    name = f"v{shot.trial}_{shot.start:04d}"
    render_video(frames, samples, out / f"{name}.mp4", name, threads)

    inside = _in_image(truth_2d)
    np.savez_compressed(
        out / f"{name}.npz",
        joints3d_cam=truth_camera[None].astype(np.float32),
        joints3d_world=truth_world[None].astype(np.float32),
        joints2d_gt=truth_2d[None].astype(np.float32),
        K=K.astype(np.float32),
        R=camera_from_world[:3, :3].astype(np.float32),
        t=camera_from_world[:3, 3].astype(np.float32),
        image_size=np.array([WIDTH, HEIGHT], np.int32),
        fps=np.float32(FPS),
        num_people=np.int32(1),
        num_frames=np.int32(frames),
        person_present=np.ones((1, frames), bool),
        joints_in_image=inside[None],
        joint_names=np.array(H36M_JOINTS),
        action=np.array([shot.action]),
        subject=np.array([shot.subject]),
        bvh_trial=np.array([shot.trial]),
        hfov_deg=np.float32(shot.fov_deg),
        clip_name=np.array(name),
    )
    return {
        "clip": name,
        "trial": shot.trial,
        "action": shot.action,
        "frames": frames,
        "start_frame_30fps": shot.start,
        "yaw_deg": shot.yaw_deg,
        "hfov_deg": shot.fov_deg,
        "camera_height_m": shot.height_m,
        "camera_distance_m": round(float(-world_from_camera[1, 3]), 2),
        "joints_in_image": round(float(inside.mean()), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "runs/val_rendered")
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--samples", type=int, default=6)
    parser.add_argument("--trials", nargs="+", default=list(DEFAULT_TRIALS))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--only",
        nargs="+",
        default=None,
        help="render only these of --trials (each keeps the shot it gets among all of them)",
    )
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for Cycles (default: all)")
    args = parser.parse_args(argv)
    if not MAKEHUMAN.is_dir():
        print(f"error: {MAKEHUMAN} not found (the MakeHuman body is in ../shared)", file=sys.stderr)
        return 1
    config = TrainConfig.from_recipe("cmu_small", CMU)
    jm = joint_map(config.joint_map)
    descriptions = load_descriptions(Path(config.descriptions)) if config.descriptions else {}
    _, validation = load_split(config, jm, descriptions)
    by_trial = {sequence.trial: sequence for sequence in validation}
    unknown = [trial for trial in args.trials if trial not in by_trial]
    if unknown:
        print(f"error: {unknown} are not validation trials ({sorted(by_trial)})", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    summary = []
    for index, trial in enumerate(args.trials):
        sequence = by_trial[trial]
        shot = Shot(
            trial=trial,
            action=sequence.action,
            subject=sequence.subject,
            start=int(rng.integers(0, max(sequence.motion.frames - args.frames, 0) + 1)),
            yaw_deg=float(rng.uniform(-180, 180)),
            fov_deg=float(rng.uniform(50, 62)),
            height_m=float(rng.uniform(1.2, 1.6)),
            distance_m=float(rng.uniform(4.0, 5.5)),
            palette=index,
        )
        if args.only is not None and trial not in args.only:
            continue  # its shot was drawn all the same, so that the others' shots do not change
        summary.append(render_clip(sequence, shot, args.frames, args.samples, args.out, args.threads))
        print(json.dumps(summary[-1]))
    (args.out / "clips.json").write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
