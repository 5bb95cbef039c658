"""People whose legs the frame cuts off: the validation clips with the picture's lower rows cut away.

Framed from the waist or the knees up (a webcam, an interview, a close shot), nobody's legs are in view.
Each rendered validation clip (CMU motion on the CC0 MakeHuman body, "The data used in this project was
obtained from mocap.cs.cmu.edu. The database was created with funding from NSF EIA-0196217.") is cut just
above its people's median knee height and run through the whole job with nothing known; per clip it
prints the number of people and of tracks, and per track its frames and the median over frames of its
lower ankle's height above the result's floor (m). Cutting moves the principal point off the picture's
centre, so the camera's height that comes out is printed but is not the estimate's to answer for.

Usage: python benchmarks/legs_cut_off.py [--clips runs/val_scenes runs/val_rendered] [--preset fast]
       [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.people_and_ground import clip_paths  # noqa: E402
from finepose_core.options import JobOptions  # noqa: E402
from finepose_core.pipeline import Pipeline  # noqa: E402


def cut_clip(video: Path, rows: int, out: Path) -> Path:
    """The video with only its top `rows` rows, as an mp4 at `out`."""
    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"mp4v"), fps, (width, rows))
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        writer.write(frame[:rows])
    capture.release()
    writer.release()
    return out


def run_clip(pipeline: Pipeline, truth: Path, preset: str, folder: Path) -> dict[str, Any]:
    with np.load(truth) as data:
        knees = float(np.nanmedian(data["joints2d_gt"][..., [2, 5], 1]))
        people = int(data["num_people"])
    rows = int(min(knees - 5, 480)) // 2 * 2  # even, for the encoder
    clip = cut_clip(truth.with_suffix(".mp4"), rows, folder / f"{truth.stem}_cut.mp4")
    result = pipeline.run(clip, JobOptions(preset=preset, max_people=max(2, people + 1)))
    tracks = []
    for person in result.people:
        world = np.asarray(person.joints3d_world)
        lower = float(np.median(world[:, [3, 6], 2].min(axis=1)))
        tracks.append(
            {"id": person.id, "frames": [person.frames[0], person.frames[-1]], "lower_ankle_m": lower}
        )
    return {
        "clip": truth.stem,
        "rows": rows,
        "people": people,
        "tracks": tracks,
        "up_source": result.camera.up_source,
        "camera_height_m": round(result.camera.height_m, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--clips", nargs="+", type=Path, default=[REPO / "runs/val_scenes", REPO / "runs/val_rendered"]
    )
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    paths = clip_paths(args.clips)
    if not paths:
        return 1
    pipeline = Pipeline()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for path in paths:
            row = run_clip(pipeline, path, args.preset, Path(folder))
            rows.append(row)
            tracks = ", ".join(
                f"{t['frames'][0]}–{t['frames'][1]} ankle {t['lower_ankle_m']:+.2f} m" for t in row["tracks"]
            )
            print(
                f"{row['clip']}: {row['people']} people, {len(row['tracks'])} tracks ({tracks}); "
                f"up {row['up_source']}, camera {row['camera_height_m']} m (cut at row {row['rows']})",
                flush=True,
            )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
