"""Measure where MediaPipe's landmarks sit relative to skeletal joint centres, on rendered validation video.

MediaPipe's hips, shoulders and head are defined by the body's surface, not by joint centres. On rendered
clips with exact 2D ground truth of the skeleton that deformed the mesh — by default the validation renders
of `scripts/render_validation_clips.py` (held-out CMU trials), not the test clips of
../shared/data/rendered, which the offsets would otherwise be tuned to — this runs the real
PoseLandmarker, converts its landmarks to Human3.6M-17 and expresses the error of every joint in a body
frame: `up` from the pelvis to the thorax, `side` towards the actor's left, both in units of the 2D torso
length (pelvis–thorax). Frames seen from the side (where left and right overlap) are
skipped. The medians go to finepose_core/data/mediapipe_offsets.json, which training uses to move
projected mocap joints the way MediaPipe would see them.

Usage: python scripts/render_validation_clips.py   # once, about 25 minutes on 2 cores
       python scripts/measure_mediapipe_offsets.py [--rendered runs/val_rendered] [--output JSON]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from finepose_core.data.augment import OFFSETS_PATH, body_frame
from finepose_core.detect.landmarker import PoseLandmarker
from finepose_core.detect.video import iter_frames
from finepose_core.options import JobOptions
from finepose_core.skeleton import H36M_JOINTS, mediapipe_to_h36m

log = logging.getLogger("measure_mediapipe_offsets")
REPO = Path(__file__).resolve().parents[1]


def measure_clip(video: Path, truth: dict[str, np.ndarray[Any, Any]]) -> list[np.ndarray[Any, Any]]:
    """Per matched person-frame, the offsets [17, 2] (side, up) in torso lengths."""
    gt2d = truth["joints2d_gt"]  # [P, F, 17, 2]
    fps = float(truth["fps"])
    people = gt2d.shape[0]
    samples = []
    with PoseLandmarker(JobOptions(max_people=people).landmarker_config()) as detector:
        for index, frame in iter_frames(video):
            found = detector.detect(frame, round(1000 * index / fps))
            if found.count == 0:
                continue
            joints, _ = mediapipe_to_h36m(found.pixels, found.visibility)
            for p in range(people):
                gt = gt2d[p, index].astype(np.float64)
                if not np.isfinite(gt).all():
                    continue
                # the detection nearest this person (median joint distance under a third of the torso)
                distances = np.nanmedian(np.linalg.norm(joints - gt[None], axis=-1), axis=-1)
                best = int(np.argmin(distances))
                side, up, torso, facing = body_frame(gt)
                if distances[best] > 0.35 * torso or facing < 0.3:
                    continue
                error = joints[best] - gt
                samples.append(np.stack([error @ side, error @ up], axis=-1) / torso)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rendered", type=Path, default=REPO / "runs/val_rendered")
    parser.add_argument("--output", type=Path, default=OFFSETS_PATH)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not sorted(args.rendered.glob("*.npz")):
        log.error(
            "error: no rendered clips in %s; make them with scripts/render_validation_clips.py", args.rendered
        )
        return 1
    samples: list[np.ndarray[Any, Any]] = []
    for truth_path in tqdm(sorted(args.rendered.glob("*.npz")), desc="clips"):
        with np.load(truth_path) as data:
            truth = {key: data[key] for key in ("joints2d_gt", "fps")}
        samples += measure_clip(truth_path.with_suffix(".mp4"), truth)
    if not samples:
        log.error("error: no matched detections in %s", args.rendered)
        return 1
    stacked = np.stack(samples)  # [S, 17, 2]
    median = np.median(stacked, axis=0)
    spread = np.median(np.abs(stacked - median), axis=0) * 1.4826  # robust standard deviation
    result = {
        "about": "MediaPipe-33 → Human3.6M-17 landmark minus skeletal joint centre, in 2D, as (side, up) "
        "in units of the 2D pelvis–thorax length; side points to the actor's left. Median and robust "
        f"spread over matched person-frames of the clips in {args.rendered.name}/ "
        "(scripts/measure_mediapipe_offsets.py).",
        "frames": len(samples),
        "joints": list(H36M_JOINTS),
        "median": np.round(median, 4).tolist(),
        "spread": np.round(spread, 4).tolist(),
    }
    args.output.write_text(json.dumps(result, indent=1) + "\n")
    for name, (side, up), (s_side, s_up) in zip(H36M_JOINTS, median, spread, strict=True):
        log.info("%-10s side %+.3f ± %.3f   up %+.3f ± %.3f", name, side, s_side, up, s_up)
    log.info("%d person-frames → %s", len(samples), args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
