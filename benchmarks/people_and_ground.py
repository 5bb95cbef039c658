"""People and ground on rendered validation video: tracking, the upright world, the lens, planted feet.

For every clip (the validation scenes of scripts/render_scenes.py and the single-person validation clips
of scripts/render_validation_clips.py; CMU motion on the CC0 MakeHuman body, "The data used in this project
was obtained from mocap.cs.cmu.edu. The database was created with funding from NSF EIA-0196217."), the
whole job runs from the video with nothing known (no lens, no floor), and prints:

- coverage: the share of ground-truth person-frames whose limbs are in the image (15 of 17 joints) that a
  track covers (people matched one-to-one per frame by 2D joint distance, as quality_rendered.py does);
- id switches of a matched person; ghost person-frames: track frames matched to nobody, as a share of
  all the result's person-frames;
- world-up error (degrees between the result's up and the true one, both in camera coordinates), camera
  height error (m), focal length error (%), the median root position error (m);
- foot skate while the true foot is planted (its ankle within 5 cm of its low level and moving under
  10 mm a frame): the result JSON's world ankles, in mm/frame (the truth's own beside it), and the planted
  ankles' height error (mm, result minus truth, both over their floors);
- the same skate and height error on the armature the add-on keys from the result (defaults: foot locking
  on, put on the floor), read back from Blender (`--blender`; the bpy wheel);
- pose error: root-relative MPJPE and P-MPJPE (mm).

Usage: python benchmarks/people_and_ground.py [--clips runs/val_scenes runs/val_rendered] [--preset balanced]
       [--checkpoint CKPT] [--json OUT] [--blender] [--no-second-look] [--no-cleanup]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.quality_rendered import _assign, _counted, _rooted, _scores  # noqa: E402
from finepose_core.data.clip import load_clips  # noqa: E402
from finepose_core.geometry.gravity import angle_deg  # noqa: E402
from finepose_core.options import JobOptions  # noqa: E402
from finepose_core.pipeline import Pipeline, PipelineConfig  # noqa: E402

ANKLES = (3, 6)
FloatArray = NDArray[np.float64]


def planted(world: FloatArray) -> NDArray[np.bool_]:
    """[F, 2] where the true ankle (right, left) of world joints [F, 17, 3] (z up) is planted."""
    out = np.zeros((len(world), 2), bool)
    for side, ankle in enumerate(ANKLES):
        z = world[:, ankle, 2]
        step = np.r_[np.inf, np.linalg.norm(np.diff(world[:, ankle], axis=0), axis=-1)]
        out[:, side] = (z < np.percentile(z, 5) + 0.05) & (step < 0.010)
    return out


def skate_mm(world: FloatArray, mask: NDArray[np.bool_], adjacent: NDArray[np.bool_]) -> tuple[float, int]:
    """Sum of horizontal ankle steps (mm) between rows both in `mask` and `adjacent` in time ([F − 1]), and
    their count."""
    total, count = 0.0, 0
    for side, ankle in enumerate(ANKLES):
        both = mask[1:, side] & mask[:-1, side] & adjacent
        steps = np.linalg.norm(np.diff(world[:, ankle, :2], axis=0), axis=-1)[both]
        steps = steps[np.isfinite(steps)]
        total += 1000 * float(steps.sum())
        count += len(steps)
    return total, count


def blender_ankles(result_json: Path) -> dict[int, FloatArray]:
    """Per person, the world ankles (right, left) [F, 2, 3] of the armature the add-on keys from a result
    (defaults: a generated armature per person, foot locking on, put on the floor), read back from Blender's
    evaluated pose at every frame."""
    import bpy

    from blender_addon.apply import ApplyOptions, apply_result, blender_frames
    from blender_addon.retarget.result_file import read_result

    bpy.ops.wm.read_factory_settings(use_empty=True)
    lifted = read_result(result_json)
    apply_result(bpy.context, lifted, ApplyOptions(make_camera=False))
    scene = bpy.context.scene
    assert scene is not None
    out = {}
    for person in lifted.people:
        obj = bpy.data.objects[f"Person.{person.id}"]
        frames = blender_frames(person)
        ankles = np.zeros((len(frames), 2, 3))
        for row, frame in enumerate(frames):
            scene.frame_set(int(frame))
            evaluated: Any = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
            world = np.array(evaluated.matrix_world)
            for side, bone in enumerate(("Shin.R", "Shin.L")):  # a shin's tail is its ankle
                ankles[row, side] = (world @ np.array([*evaluated.pose.bones[bone].tail, 1.0]))[:3]
        out[person.id] = ankles
    return out


def score(result: Any, path: Path, armature: dict[int, FloatArray] | None = None) -> dict[str, Any]:
    clips = load_clips(path)
    with np.load(path) as data:
        in_image = np.asarray(data["joints_in_image"])
        K = np.asarray(data["K"], np.float64)
        R = np.asarray(data["R"], np.float64)  # camera from world
        t = np.asarray(data["t"], np.float64)
        truth_world = np.asarray(data["joints3d_world"], np.float64)  # [P, F, 17, 3]
    frames = clips[0].frames
    tracked = {person.id: person for person in result.people}
    index = {pid: {f: row for row, f in enumerate(person.frames)} for pid, person in tracked.items()}
    counted = matched = switches = 0
    result_frames = sum(len(person.frames) for person in tracked.values())
    used = 0
    previous: dict[int, int] = {}
    sequences: dict[int, dict[int, tuple[FloatArray, FloatArray]]] = {p: {} for p in range(len(clips))}
    roots: list[float] = []
    pairs: dict[tuple[int, int], list[int]] = {}  # (truth, track) → frames
    for f in range(frames):
        truths = _counted(clips, in_image, f)
        counted += len(truths)
        ids = [pid for pid in tracked if f in index[pid]]
        candidates = (
            np.stack([tracked[pid].keypoints2d[index[pid][f]] for pid in ids])
            if ids
            else np.zeros((0, 17, 2))
        )
        everyone = {p: clips[p].keypoints2d[f] for p in range(len(clips)) if in_image[p, f].sum() >= 6}
        used += len(_assign(candidates, everyone))  # a track on a half-seen person is no ghost
        for p, choice in _assign(candidates, truths).items():
            pid = ids[choice]
            matched += 1
            if p in previous and previous[p] != pid:
                switches += 1
            previous[p] = pid
            camera = tracked[pid].joints3d_camera[index[pid][f]]
            truth3d = clips[p].joints3d
            assert truth3d is not None
            truth = truth3d[f]
            sequences[p][f] = (_rooted(camera), _rooted(truth))
            roots.append(float(np.linalg.norm(camera[0] - truth[0])))
            pairs.setdefault((p, pid), []).append(f)

    # feet: per matched pair, over the frames the truth is planted and the track follows it
    skate, steps, truth_skate, truth_steps, heights = 0.0, 0, 0.0, 0, []
    keyed, keyed_steps, keyed_heights = 0.0, 0, []
    for (p, pid), matched_frames in pairs.items():
        person = tracked[pid]
        rows = np.array([index[pid][f] for f in matched_frames])
        world = np.asarray(person.joints3d_world, np.float64)[rows]
        truth = truth_world[p][matched_frames]
        adjacent = (np.diff(matched_frames) == 1) & (np.diff(rows) == 1)
        mask = planted(truth_world[p])[matched_frames]
        a, n = skate_mm(world, mask, adjacent)
        b, m = skate_mm(truth, mask, adjacent)
        skate, steps, truth_skate, truth_steps = skate + a, steps + n, truth_skate + b, truth_steps + m
        for side, ankle in enumerate(ANKLES):
            heights += list(1000 * (world[mask[:, side], ankle, 2] - truth[mask[:, side], ankle, 2]))
        if armature is not None and pid in armature:
            posed = np.zeros_like(world)
            posed[:, list(ANKLES)] = armature[pid][rows]
            c, k = skate_mm(posed, mask, adjacent)
            keyed, keyed_steps = keyed + c, keyed_steps + k
            for side, ankle in enumerate(ANKLES):
                keyed_heights += list(
                    1000 * (posed[mask[:, side], ankle, 2] - truth[mask[:, side], ankle, 2])
                )

    camera = result.camera
    world_from_camera = np.asarray(camera.world_from_camera, np.float64)
    up_result = world_from_camera[2, :3]  # the world's z axis in camera coordinates
    up_truth = R[:, 2]
    true_height = float((-R.T @ t)[2])
    return {
        "clip": path.stem,
        "people": len(clips),
        "coverage": round(matched / max(counted, 1), 3),
        "id_switches": switches,
        "ghost_share": round(1 - used / max(result_frames, 1), 3),
        "tracks": len(tracked),
        "up_error_deg": round(float(angle_deg(up_result / np.linalg.norm(up_result), up_truth)), 1),
        "up_source": getattr(camera, "up_source", "contacts" if camera.floor_fitted else "default"),
        "camera_height_error_m": round(abs(float(world_from_camera[2, 3]) - true_height), 2),
        "focal_error_pct": round(100 * abs(float(camera.K[0, 0]) / float(K[0, 0]) - 1), 1),
        "lens_source": f"{camera.source} ({camera.focal_from})" if camera.focal_from else camera.source,
        "root_error_m": round(float(np.median(roots)), 3) if roots else float("nan"),
        "skate_mm": round(skate / max(steps, 1), 1),
        "truth_skate_mm": round(truth_skate / max(truth_steps, 1), 1),
        "planted_height_error_mm": round(float(np.mean(heights)), 1) if heights else float("nan"),
        "armature_skate_mm": round(keyed / keyed_steps, 1) if keyed_steps else float("nan"),
        "armature_height_error_mm": round(float(np.mean(keyed_heights)), 1)
        if keyed_heights
        else float("nan"),
        **_scores(sequences),
    }


def clip_paths(folders: list[Path]) -> list[Path]:
    """The validation clips' ground-truth files in `folders` (or the files themselves), sorted; where there
    are none, says how to make them."""
    paths = sorted(
        p
        for folder in folders
        for p in (folder.glob("*.npz") if folder.is_dir() else [folder] * folder.is_file())
    )
    if not paths:
        print(
            "no clips: render them with scripts/render_scenes.py and scripts/render_validation_clips.py",
            file=sys.stderr,
        )
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--clips", nargs="+", type=Path, default=[REPO / "runs/val_scenes", REPO / "runs/val_rendered"]
    )
    parser.add_argument("--preset", default="balanced")
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--no-second-look", action="store_true", help="without the detection's second look (on by default)"
    )
    parser.add_argument(
        "--no-cleanup",
        action="store_true",
        help="lift the tracked 2D as detected (without putting swapped legs back and filling jumps)",
    )
    parser.add_argument(
        "--no-occlusion",
        action="store_true",
        help="leave a track's open ends where someone hides the person (detect/occlusion.py) as they are",
    )
    parser.add_argument(
        "--blender",
        action="store_true",
        help="also key the add-on's armatures in Blender (bpy) and read them back",
    )
    args = parser.parse_args(argv)
    paths = clip_paths(args.clips)
    if not paths:
        return 1
    config = PipelineConfig(checkpoint=args.checkpoint) if args.checkpoint else PipelineConfig()
    if args.no_cleanup:
        config = replace(config, cleanup=None)
    if args.no_occlusion:
        config = replace(config, occlusion=None)
    pipeline = Pipeline(config)
    rows = []
    columns = (
        "clip", "people", "tracks", "coverage", "id_switches", "ghost_share", "up_error_deg", "up_source",
        "camera_height_error_m", "focal_error_pct", "lens_source", "root_error_m", "skate_mm",
        "truth_skate_mm", "planted_height_error_mm", "armature_skate_mm", "armature_height_error_mm",
        "mpjpe_mm", "p_mpjpe_mm", "detect_s",
    )  # fmt: skip
    print("\t".join(columns))
    for path in paths:
        with np.load(path) as data:
            people = int(data["num_people"])
        options = JobOptions(preset=args.preset, max_people=max(2, people + 1))
        if args.no_second_look:
            options = options.model_copy(update={"second_look": False})
        result = pipeline.run(path.with_suffix(".mp4"), options)
        armature = None
        if args.blender:
            with tempfile.TemporaryDirectory() as folder:
                written = Path(folder) / "result.json"
                result.write_json(written)
                armature = blender_ankles(written)
        row = score(result, path, armature)
        row["detect_s"] = round(result.timings.get("detect", float("nan")), 1)
        row["warnings"] = list(result.warnings)
        rows.append(row)
        print("\t".join(str(row[c]) for c in columns), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
