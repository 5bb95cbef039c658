"""Part words read from the image, measured on video: the whole pipeline on rendered clips with exact 3D
ground truth, with each person's blank parts described from MediaPipe's own 3D (`part_texts` auto) and with
bare part names (none).

    python benchmarks/auto_parts.py [--rendered runs/val_rendered] [--checkpoint CKPT] [--preset balanced]
                                    [--json OUT]

The clips are the project's validation video (`python scripts/render_validation_clips.py`; CMU motion on the
CC0 MakeHuman body: "The data used in this project was obtained from mocap.cs.cmu.edu. The database was
created with funding from NSF EIA-0196217."). People are matched and scored as in
`benchmarks/quality_rendered.py` (root-relative MPJPE, P-MPJPE, acceleration error). A checkpoint trained
on bare part names only reads no descriptions, so for it both rows are the same job.
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

SOURCES = ("none", "auto")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rendered", type=Path, default=REPO / "runs/val_rendered")
    parser.add_argument("--checkpoint")
    parser.add_argument("--preset", default="balanced", choices=list(QUALITY_PRESETS))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    paths = sorted(args.rendered.glob("*.npz"))
    if not paths:
        print(
            f"error: no clips in {args.rendered}: run `python scripts/render_validation_clips.py`",
            file=sys.stderr,
        )
        return 1
    pipeline = Pipeline(PipelineConfig(checkpoint=args.checkpoint))
    print(f"{pipeline.lifter.name}: reads descriptions: {pipeline.lifter.reads_descriptions}")
    rows: dict[str, dict[str, Any]] = {}
    for source in SOURCES:
        options = JobOptions(preset=args.preset, part_texts=source)
        per_clip = {}
        for path in paths:
            clips = load_clips(path)
            with np.load(path) as data:
                in_image = data["joints_in_image"]
            job = options.model_copy(update={"max_people": max(2, len(clips))})
            result = pipeline.run(path.with_suffix(".mp4"), job)
            per_clip[path.stem] = score_pipeline(result, clips, in_image)
            print(f"{source:<5} {path.stem:<24} MPJPE {per_clip[path.stem]['mpjpe_mm']:6.1f}  "
                  f"P-MPJPE {per_clip[path.stem]['p_mpjpe_mm']:6.1f}", flush=True)  # fmt: skip
        mean = {
            key: round(float(np.mean([c[key] for c in per_clip.values()])), 1)
            for key in ("mpjpe_mm", "p_mpjpe_mm", "accel_mm")
        }
        rows[source] = {"clips": per_clip, "mean": mean}
        print(f"{source:<5} mean MPJPE / P-MPJPE / accel: {mean['mpjpe_mm']} / {mean['p_mpjpe_mm']} / "
              f"{mean['accel_mm']}")  # fmt: skip
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        report = {"checkpoint": pipeline.lifter.name, "preset": args.preset, "sources": rows}
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
