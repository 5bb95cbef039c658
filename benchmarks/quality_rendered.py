"""Quality of the whole job on the rendered clips (exact 3D ground truth), stage by stage, against MediaPipe.

For every clip in ../shared/data/rendered (CMU motion on the CC0 MakeHuman body; "The data used in this
project was obtained from mocap.cs.cmu.edu. The database was created with funding from NSF EIA-0196217."):

- lift from the exact 2D (the ground-truth projection, known K): the lifter alone;
- the full pipeline from the video (MediaPipe detection, tracking, lifting, placement; K estimated from the
  default field of view unless --known-k): detection rate, id switches, root-relative MPJPE and P-MPJPE,
  root-position error;
- MediaPipe's own 3D (pose world landmarks mapped to the 17 joints, root-aligned): what MediaPipe-based
  Blender add-ons give their users today.

A ground-truth person counts in a frame when at least 15 of the 17 joints are inside the image; in every
frame the people are matched one-to-one to the tracks (and to MediaPipe's detections) by median 2D joint
distance, a pair counting only under 0.35 × the person's 2D height — so while one person hides behind
another, the visible track is scored once, against the person it fits best.

Usage: python benchmarks/quality_rendered.py [--rendered DIR] [--checkpoint CKPT] [--preset balanced]
       [--known-k] [--json OUT]
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
from finepose_core.detect.landmarker import LandmarkerConfig, PoseLandmarker
from finepose_core.detect.video import iter_frames
from finepose_core.model.prompts import Prompts
from finepose_core.pipeline import QUALITY_PRESETS, JobOptions, Pipeline, PipelineConfig
from finepose_core.skeleton import mediapipe_to_h36m

REPO = Path(__file__).resolve().parents[1]


def mediapipe_world(video: Path, people: int, fps: float) -> list[tuple[NDArray[Any], NDArray[Any]]]:
    """Per frame: (image joints [P, 17, 2], metric world joints [P, 17, 3]) of MediaPipe's detections."""
    out = []
    with PoseLandmarker(LandmarkerConfig(max_people=people)) as detector:
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


def _scores(pred: list[NDArray[Any]], truth: list[NDArray[Any]]) -> dict[str, float]:
    if not pred:
        return {"mpjpe_mm": float("nan"), "p_mpjpe_mm": float("nan")}
    p, g = np.stack(pred), np.stack(truth)
    return {
        "mpjpe_mm": round(1000 * metrics.mpjpe(p, g), 1),
        "p_mpjpe_mm": round(1000 * metrics.p_mpjpe(p, g), 1),
    }


def evaluate_clip(path: Path, pipeline: Pipeline, options: JobOptions, known_k: bool) -> dict[str, Any]:
    clips = load_clips(path)
    with np.load(path) as data:
        in_image = data["joints_in_image"]  # [P, F, 17]
        K = np.asarray(data["K"], np.float64)
    fps = clips[0].fps
    video = path.with_suffix(".mp4")

    # 1. the lifter alone, from the exact 2D
    exact_pred: list[NDArray[Any]] = []
    exact_truth: list[NDArray[Any]] = []
    for clip in clips:
        assert clip.joints3d is not None
        lifted = pipeline.lifter.lift(
            clip.keypoints2d, clip.K, clip.image_size, None, Prompts(), fps, options.lift_options()
        )
        truth = clip.joints3d - clip.joints3d[:, :1]
        exact_pred.extend(lifted.joints3d)
        exact_truth.extend(truth)

    # 2. the pipeline from the video
    focal = float(K[0, 0]) if known_k else None
    job = JobOptions(**{**options.__dict__, "focal_px": focal, "max_people": max(2, len(clips))})
    result = pipeline.run(video, job)
    tracked = {person.id: person for person in result.people}
    # 3. MediaPipe's own 3D
    mp_frames = mediapipe_world(video, len(clips), fps)

    counted = matched = switches = 0
    pipe_pred, pipe_truth, root_errors, mp_pred, mp_truth = [], [], [], [], []
    previous_id: dict[int, int] = {}
    for f in range(clips[0].frames):
        truths = {p: clip.keypoints2d[f] for p, clip in enumerate(clips) if in_image[p, f].sum() >= 15}
        counted += len(truths)
        ids = [pid for pid, person in tracked.items() if f in person.frames]
        candidates = (
            np.stack([tracked[pid].keypoints2d[tracked[pid].frames.index(f)] for pid in ids])
            if ids
            else np.zeros((0, 17, 2))
        )
        for p, choice in _assign(candidates, truths).items():
            truth3d = clips[p].joints3d[f]  # type: ignore[index]
            matched += 1
            person = tracked[ids[choice]]
            row = person.frames.index(f)
            if p in previous_id and ids[choice] != previous_id[p]:
                switches += 1
            previous_id[p] = ids[choice]
            camera = person.joints3d_camera[row]
            pipe_pred.append(camera - camera[:1])
            pipe_truth.append(truth3d - truth3d[:1])
            root_errors.append(float(np.linalg.norm(camera[0] - truth3d[0])))
        image, world = mp_frames[f]
        for p, choice in _assign(image, truths).items():
            truth3d = clips[p].joints3d[f]  # type: ignore[index]
            mp_pred.append(world[choice] - world[choice][:1])
            mp_truth.append(truth3d - truth3d[:1])
    return {
        "clip": path.stem,
        "people": len(clips),
        "lifter_exact_2d": _scores(exact_pred, exact_truth),
        "pipeline": {
            "detection_rate": round(matched / max(counted, 1), 3),
            "id_switches": switches,
            **_scores(pipe_pred, pipe_truth),
            "root_error_m": round(float(np.median(root_errors)), 3) if root_errors else float("nan"),
        },
        "mediapipe_3d": _scores(mp_pred, mp_truth),
        "k_source": result.camera.source,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rendered", type=Path, default=REPO.parent / "shared/data/rendered")
    parser.add_argument("--checkpoint")
    parser.add_argument("--preset", default="balanced", choices=list(QUALITY_PRESETS))
    parser.add_argument("--known-k", action="store_true", help="give the pipeline the true focal length")
    parser.add_argument("--json", type=Path, help="also write the table as JSON")
    parser.add_argument("--clips", help="only the clips whose names contain this text")
    args = parser.parse_args(argv)
    pipeline = Pipeline(PipelineConfig(checkpoint=args.checkpoint))
    options = JobOptions(preset=args.preset)
    rows = [
        evaluate_clip(path, pipeline, options, args.known_k)
        for path in sorted(args.rendered.glob("*.npz"))
        if args.clips is None or args.clips in path.stem
    ]
    print(
        f"{'clip':<22}{'people':>7}{'exact2D MPJPE/PA':>18}{'detect':>8}{'ids':>5}"
        f"{'MPJPE/PA':>14}{'root m':>8}{'MediaPipe3D MPJPE/PA':>22}"
    )
    for row in rows:
        e, q, m = row["lifter_exact_2d"], row["pipeline"], row["mediapipe_3d"]
        print(
            f"{row['clip']:<22}{row['people']:>7}{e['mpjpe_mm']:>10.1f}/{e['p_mpjpe_mm']:<7.1f}"
            f"{q['detection_rate']:>8.1%}{q['id_switches']:>5}{q['mpjpe_mm']:>8.1f}/{q['p_mpjpe_mm']:<5.1f}"
            f"{q['root_error_m']:>8.2f}{m['mpjpe_mm']:>14.1f}/{m['p_mpjpe_mm']:<7.1f}"
        )
    if args.json:
        report = {"preset": args.preset, "known_k": args.known_k, "clips": rows}
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
