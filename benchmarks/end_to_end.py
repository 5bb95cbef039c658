"""End-to-end wall time of the main job on a 10-second, 30 fps clip, per stage, for each quality preset.

The clip: two rendered clips of ../shared/data/rendered joined (640×480, one person each: CMU motion on a
CC0 body; "The data used in this project was obtained from mocap.cs.cmu.edu. The database was created with
funding from NSF EIA-0196217."); without ../shared, the bundled sample clip (Intel IoT DevKit
sample-videos, CC BY 4.0) with every frame shown three times. The model is loaded once before timing, as
the server does; decoding is part of the detect stage.

Usage: python benchmarks/end_to_end.py [--presets fast,balanced,best] [--json OUT] [--no-second-look]
[--no-look-back]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import cv2

from finepose_core.detect.second_look import SecondLookConfig
from finepose_core.options import JobOptions
from finepose_core.pipeline import Pipeline, PipelineConfig

REPO = Path(__file__).resolve().parents[1]
RENDERED = REPO.parent / "shared/data/rendered"
FRAMES, FPS = 300, 30.0


def make_clip(out: Path) -> tuple[Path, str]:
    out.parent.mkdir(parents=True, exist_ok=True)
    sources = [RENDERED / "s01_walk_05_01.mp4", RENDERED / "s03_dribble_06_02.mp4"]
    if all(p.is_file() for p in sources):
        description = "s01_walk_05_01 + s03_dribble_06_02 (rendered, 640×480)"
        repeat = 1
    else:
        sources, repeat = [REPO / "samples/office_walk.mp4"], 3
        description = "samples/office_walk.mp4 with each frame three times (768×432)"
    writer = None
    written = 0
    while written < FRAMES:  # loop the sources if they are short
        for source in sources:
            capture = cv2.VideoCapture(str(source))
            while written < FRAMES:
                ok, frame = capture.read()
                if not ok:
                    break
                if writer is None:
                    height, width = frame.shape[:2]
                    writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"mp4v"), FPS, (width, height))
                for _ in range(repeat):
                    if written < FRAMES:
                        writer.write(frame)
                        written += 1
            capture.release()
    assert writer is not None
    writer.release()
    return out, description


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", default="fast,balanced,best")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--no-second-look", action="store_true", help="without the detection's second look (on by default)"
    )
    parser.add_argument(
        "--no-look-back",
        action="store_true",
        help="the second look without looking back for people who appear beside someone",
    )
    args = parser.parse_args(argv)
    clip, description = make_clip(REPO / "runs/bench/clip_10s_30fps.mp4")
    started = time.perf_counter()
    pipeline = Pipeline(
        PipelineConfig(second_look=SecondLookConfig(back_seconds=0.0)) if args.no_look_back else None
    )
    pipeline.warm_up()  # as the server does before its first job: the text encoder, where words are read
    load_s = time.perf_counter() - started
    print(
        f"clip: {description}, {FRAMES} frames at {FPS:.0f} fps; "
        f"model and text encoder loaded in {load_s:.1f} s"
    )
    rows: list[dict[str, Any]] = []
    print("preset | detect | track | lift | place | total (s) | × real time | people")
    for name in args.presets.split(","):
        started = time.perf_counter()
        result = pipeline.run(clip, JobOptions(preset=name, second_look=not args.no_second_look))
        total = time.perf_counter() - started
        timings = {stage: round(seconds, 2) for stage, seconds in result.timings.items()}
        rows.append(
            {
                "preset": name,
                **timings,
                "total_s": round(total, 2),
                "realtime_factor": round(total / (FRAMES / FPS), 2),
                "people": len(result.people),
            }
        )
        row = rows[-1]
        cells = [
            row[key] for key in ("detect", "track", "lift", "place", "total_s", "realtime_factor", "people")
        ]
        print(" | ".join(str(cell) for cell in [name, *cells]), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"clip": description, "model_load_s": round(load_s, 2), "rows": rows}, indent=1) + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
