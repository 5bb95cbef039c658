"""Choose the depth-fusion weight on validation video, never on the test clips.

For every weight W (MediaPipe's own 3D's share of each joint's depth, `JobOptions.mediapipe_depth`), the
whole pipeline runs on every clip of a rendered folder — by default the validation renders of
`scripts/render_validation_clips.py` (held-out CMU trials on the CC0 MakeHuman body; "The data used in this
project was obtained from mocap.cs.cmu.edu. The database was created with funding from NSF
EIA-0196217.") — and is scored as in `quality_rendered.py`: root-relative MPJPE, P-MPJPE and the
acceleration error against the exact ground truth. The weight with the lowest P-MPJPE averaged over the
clips is printed last; it is the default's source.

Usage: python benchmarks/depth_weight.py [--rendered runs/val_rendered] [--weights 0 0.25 0.5 0.75 1]
       [--checkpoint CKPT] [--preset balanced] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: the benchmarks package is beside finepose_core

from benchmarks.quality_rendered import score_pipeline  # noqa: E402
from finepose_core.data.clip import load_clips  # noqa: E402
from finepose_core.options import QUALITY_PRESETS, JobOptions  # noqa: E402
from finepose_core.pipeline import Pipeline, PipelineConfig  # noqa: E402


def _line(scores: dict[str, Any]) -> str:
    mpjpe, pa, accel = scores["mpjpe_mm"], scores["p_mpjpe_mm"], scores["accel_mm"]
    return f"MPJPE {mpjpe:6.1f}  P-MPJPE {pa:6.1f}  accel {accel:5.1f}"


def sweep(folder: Path, pipeline: Pipeline, preset: str, weights: list[float]) -> dict[str, Any]:
    paths = sorted(folder.glob("*.npz"))
    if not paths:
        raise SystemExit(f"error: no rendered clips (*.npz with their .mp4) in {folder}")
    rows: dict[str, dict[str, Any]] = {}
    for path in paths:
        clips = load_clips(path)
        with np.load(path) as data:
            in_image = data["joints_in_image"]
        for weight in weights:
            options = JobOptions(preset=preset, max_people=max(2, len(clips)), mediapipe_depth=weight)
            result = pipeline.run(path.with_suffix(".mp4"), options)
            scores = score_pipeline(result, clips, in_image)
            rows.setdefault(path.stem, {})[str(weight)] = scores
            print(
                f"{path.stem:<24} W={weight:<5} {_line(scores)}  detected {scores['detection_rate']:.0%}",
                flush=True,
            )
    means = {
        str(w): {
            key: round(float(np.mean([rows[clip][str(w)][key] for clip in rows])), 1)
            for key in ("mpjpe_mm", "p_mpjpe_mm", "accel_mm")
        }
        for w in weights
    }
    best = min(weights, key=lambda w: means[str(w)]["p_mpjpe_mm"])
    return {"folder": str(folder), "preset": preset, "clips": rows, "mean": means, "best_weight": best}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rendered", type=Path, default=REPO / "runs/val_rendered")
    parser.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.25, 0.5, 0.75, 1.0])
    parser.add_argument("--checkpoint")
    parser.add_argument("--preset", default="balanced", choices=list(QUALITY_PRESETS))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    report = sweep(
        args.rendered, Pipeline(PipelineConfig(checkpoint=args.checkpoint)), args.preset, args.weights
    )
    print("\nmean over clips:")
    for weight, scores in report["mean"].items():
        print(f"  W={weight:<5} {_line(scores)}")
    print(f"best weight (lowest mean P-MPJPE): {report['best_weight']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
