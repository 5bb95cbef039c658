"""Quality of the whole job on the rendered clips (exact 3D ground truth), stage by stage, against MediaPipe.

For every clip in ../shared/data/rendered (CMU motion on the CC0 MakeHuman body; "The data used in this
project was obtained from mocap.cs.cmu.edu. The database was created with funding from NSF EIA-0196217."):

- lift from the exact 2D (the ground-truth projection, known K): the lifter alone;
- the full pipeline from the video (MediaPipe detection, tracking, lifting, placement; K estimated from the
  default field of view unless --known-k): detection rate, id switches, root-relative MPJPE and P-MPJPE,
  acceleration error (jitter, mm/frame²), root-position error; as it runs, with each joint's depth blended
  with MediaPipe's own (geometry/depth_fusion.py), and with the lifter's depth alone (--mediapipe-depth 0);
- MediaPipe's own 3D (pose world landmarks mapped to the 17 joints, root-aligned): what MediaPipe-based
  Blender add-ons give their users today.

A ground-truth person counts in a frame when at least 15 of the 17 joints are inside the image; in every
frame the people are matched one-to-one to the tracks (and to MediaPipe's detections) by median 2D joint
distance, a pair counting only under 0.35 × the person's 2D height — so while one person hides behind
another, the visible track is scored once, against the person it fits best.

Usage: python benchmarks/quality_rendered.py [--rendered DIR] [--checkpoint CKPT] [--preset balanced]
       [--known-k] [--mediapipe-depth W] [--clips TEXT] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from finepose_core import metrics
from finepose_core.data.clip import load_clips
from finepose_core.detect.landmarker import PoseLandmarker
from finepose_core.detect.video import iter_frames
from finepose_core.model.prompts import Prompts
from finepose_core.options import QUALITY_PRESETS, JobOptions
from finepose_core.pipeline import Pipeline, PipelineConfig
from finepose_core.sequence import consecutive_runs
from finepose_core.skeleton import mediapipe_to_h36m

REPO = Path(__file__).resolve().parents[1]


def mediapipe_world(video: Path, people: int, fps: float) -> list[tuple[NDArray[Any], NDArray[Any]]]:
    """Per frame: (image joints [P, 17, 2], metric world joints [P, 17, 3]) of MediaPipe's detections."""
    out = []
    with PoseLandmarker(JobOptions(max_people=people).landmarker_config()) as detector:
        for index, frame in iter_frames(video):
            found = detector.detect(frame, round(1000 * index / fps))
            image, _ = mediapipe_to_h36m(found.pixels, found.visibility)
            world, _ = mediapipe_to_h36m(found.world, found.visibility)
            out.append((image, world))
    return out


def _assign(candidates: NDArray[Any], truths: dict[int, NDArray[Any]]) -> dict[int, int]:
    """One-to-one matching of ground-truth people {p: 2D [17, 2]} to candidates [C, 17, 2] by median joint
    distance (Hungarian), each pair kept only under 0.35 × the person's 2D height: a person hidden behind
    another cannot take the visible one's track as well."""
    if len(candidates) == 0 or not truths:
        return {}
    people = list(truths)
    cost = np.stack(
        [np.nanmedian(np.linalg.norm(candidates - truths[p][None], axis=-1), axis=-1) for p in people]
    )  # [P, C]
    rows, cols = linear_sum_assignment(np.nan_to_num(cost, nan=1e9))
    return {
        people[r]: int(c)
        for r, c in zip(rows, cols, strict=True)
        if cost[r, c] < 0.35 * float(np.ptp(truths[people[r]][:, 1]))
    }


Sequences = dict[int, dict[int, tuple[NDArray[Any], NDArray[Any]]]]  # person → frame → (pred, truth)


def _scores(sequences: Sequences) -> dict[str, float]:
    """Root-relative MPJPE and P-MPJPE over every matched frame, and the acceleration error (jitter, in
    mm/frame²) over runs of consecutive matched frames."""
    pairs = [pair for frames in sequences.values() for pair in frames.values()]
    if not pairs:
        return {"mpjpe_mm": float("nan"), "p_mpjpe_mm": float("nan"), "accel_mm": float("nan")}
    p, g = np.stack([a for a, _ in pairs]), np.stack([b for _, b in pairs])
    accel, weight = 0.0, 0
    for frames in sequences.values():
        order = np.array(sorted(frames))
        for run in (order[positions] for positions in consecutive_runs(order)):
            if len(run) >= 3:
                pred = np.stack([frames[f][0] for f in run])
                truth = np.stack([frames[f][1] for f in run])
                accel += metrics.acceleration_error(pred, truth) * (len(run) - 2)
                weight += len(run) - 2
    return {
        "mpjpe_mm": round(1000 * metrics.mpjpe(p, g), 1),
        "p_mpjpe_mm": round(1000 * metrics.p_mpjpe(p, g), 1),
        "accel_mm": round(1000 * accel / max(weight, 1), 1),
    }


def _counted(clips: list[Any], in_image: NDArray[Any], frame: int) -> dict[int, NDArray[Any]]:
    """The ground-truth people that count in a frame (15 of 17 joints in the image): person → 2D joints."""
    return {p: clip.keypoints2d[frame] for p, clip in enumerate(clips) if in_image[p, frame].sum() >= 15}


def _rooted(joints: NDArray[Any]) -> NDArray[Any]:
    return np.asarray(joints - joints[:1])


def score_pipeline(result: Any, clips: list[Any], in_image: NDArray[Any]) -> dict[str, Any]:
    """Detection rate, id switches, accuracy and root error of the pipeline's people against the truth."""
    tracked = {person.id: person for person in result.people}
    counted = matched = switches = 0
    sequences: Sequences = {p: {} for p in range(len(clips))}
    root_errors: list[float] = []
    previous_id: dict[int, int] = {}
    for f in range(clips[0].frames):
        truths = _counted(clips, in_image, f)
        counted += len(truths)
        ids = [pid for pid, person in tracked.items() if f in person.frames]
        candidates = (
            np.stack([tracked[pid].keypoints2d[tracked[pid].frames.index(f)] for pid in ids])
            if ids
            else np.zeros((0, 17, 2))
        )
        for p, choice in _assign(candidates, truths).items():
            truth3d = clips[p].joints3d[f]
            matched += 1
            person = tracked[ids[choice]]
            if p in previous_id and ids[choice] != previous_id[p]:
                switches += 1
            previous_id[p] = ids[choice]
            camera = person.joints3d_camera[person.frames.index(f)]
            sequences[p][f] = (_rooted(camera), _rooted(truth3d))
            root_errors.append(float(np.linalg.norm(camera[0] - truth3d[0])))
    return {
        "detection_rate": round(matched / max(counted, 1), 3),
        "id_switches": switches,
        **_scores(sequences),
        "root_error_m": round(float(np.median(root_errors)), 3) if root_errors else float("nan"),
    }


def evaluate_clip(path: Path, pipeline: Pipeline, options: JobOptions, known_k: bool) -> dict[str, Any]:
    clips = load_clips(path)
    with np.load(path) as data:
        in_image = data["joints_in_image"]  # [P, F, 17]
        K = np.asarray(data["K"], np.float64)
    fps = clips[0].fps
    video = path.with_suffix(".mp4")

    # 1. the lifter alone, from the exact 2D
    exact: Sequences = {}
    for p, clip in enumerate(clips):
        assert clip.joints3d is not None
        lifted = pipeline.lifter.lift(
            clip.keypoints2d, clip.K, clip.image_size, None, Prompts(), fps, options.lift_options()
        )
        exact[p] = {f: (lifted.joints3d[f], _rooted(clip.joints3d[f])) for f in range(clip.frames)}

    # 2. the pipeline from the video, as it runs (depth blended with MediaPipe's) and with the lifter's
    # depth alone
    focal = float(K[0, 0]) if known_k else None
    job = options.model_copy(update={"focal_px": focal, "max_people": max(2, len(clips))})
    result = pipeline.run(video, job)
    lifter_depth = pipeline.run(video, job.model_copy(update={"mediapipe_depth": 0.0}))

    # 3. MediaPipe's own 3D
    mp_frames = mediapipe_world(video, len(clips), fps)
    mp: Sequences = {p: {} for p in range(len(clips))}
    for f in range(clips[0].frames):
        truths = _counted(clips, in_image, f)
        image, world = mp_frames[f]
        for p, choice in _assign(image, truths).items():
            mp[p][f] = (_rooted(world[choice]), _rooted(clips[p].joints3d[f]))  # type: ignore[index]
    return {
        "clip": path.stem,
        "people": len(clips),
        "lifter_exact_2d": _scores(exact),
        "pipeline": score_pipeline(result, clips, in_image),
        "pipeline_lifter_depth": _scores_only(score_pipeline(lifter_depth, clips, in_image)),
        "mediapipe_depth_weight": job.mediapipe_depth,
        "mediapipe_3d": _scores(mp),
        "k_source": result.camera.source,
    }


def _triple(row: dict[str, Any]) -> str:
    return f"{row['mpjpe_mm']:.1f}/{row['p_mpjpe_mm']:.1f}/{row['accel_mm']:.1f}"


def _scores_only(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in ("mpjpe_mm", "p_mpjpe_mm", "accel_mm")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rendered", type=Path, default=REPO.parent / "shared/data/rendered")
    parser.add_argument("--checkpoint")
    parser.add_argument("--preset", default="balanced", choices=list(QUALITY_PRESETS))
    parser.add_argument("--known-k", action="store_true", help="give the pipeline the true focal length")
    parser.add_argument("--json", type=Path, help="also write the table as JSON")
    parser.add_argument("--clips", help="only the clips whose names contain this text")
    parser.add_argument(
        "--mediapipe-depth",
        type=float,
        default=JobOptions().mediapipe_depth,
        help="the depth-fusion weight W",
    )
    args = parser.parse_args(argv)
    pipeline = Pipeline(PipelineConfig(checkpoint=args.checkpoint))
    options = JobOptions(preset=args.preset, mediapipe_depth=args.mediapipe_depth)
    rows = [
        evaluate_clip(path, pipeline, options, args.known_k)
        for path in sorted(args.rendered.glob("*.npz"))
        if args.clips is None or args.clips in path.stem
    ]
    print(
        f"{'clip':<22}{'people':>7}{'exact2D MPJPE/PA':>18}{'detect':>8}{'ids':>5}{'MPJPE/PA/accel':>20}"
        f"{'lifter depth':>20}{'root m':>8}{'MediaPipe3D':>20}"
    )
    for row in rows:
        e, q, d, m = (
            row["lifter_exact_2d"],
            row["pipeline"],
            row["pipeline_lifter_depth"],
            row["mediapipe_3d"],
        )
        print(
            f"{row['clip']:<22}{row['people']:>7}{e['mpjpe_mm']:>10.1f}/{e['p_mpjpe_mm']:<7.1f}"
            f"{q['detection_rate']:>8.1%}{q['id_switches']:>5}{_triple(q):>20}{_triple(d):>20}"
            f"{q['root_error_m']:>8.2f}{_triple(m):>20}"
        )
    if args.json:
        report = {"preset": args.preset, "known_k": args.known_k, "clips": rows}
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
