"""`make demo`: run the main job on the bundled sample clip, as far as it is built, and say where it stopped.

Built so far: decoding, MediaPipe detection of up to 4 people per frame, and the MediaPipe-33 → Human3.6M-17
conversion. Its outputs are real: the 2D joints of every detection, and a preview image with them drawn.
The rest of the job (tracking, 3D lifting with FinePOSE, placement, the Blender armatures) is listed as
not built yet rather than faked.

Usage: python scripts/demo.py [--video PATH] [--out DIR]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from finepose_core.assets import AssetError
from finepose_core.detect.landmarker import LandmarkerConfig, PoseLandmarker
from finepose_core.detect.video import VideoError, iter_frames, probe
from finepose_core.draw import draw_skeleton
from finepose_core.skeleton import NUM_H36M_JOINTS, mediapipe_to_h36m

REPO = Path(__file__).resolve().parents[1]

NOT_BUILT = [
    ("tracking people across frames", "issue 5"),
    ("FinePOSE 3D lifting (model, diffusion sampling)", "issues 3 and 4"),
    ("placement in 3D and the finepose.result/1 JSON", "issue 5"),
    ("the local inference server", "issue 6"),
    ("Blender armatures, keyframes and the .blend file", "issues 7 and 8"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--video", type=Path, default=REPO / "samples/office_walk.mp4")
    parser.add_argument("--out", type=Path, default=REPO / "out/demo")
    parser.add_argument("--max-people", type=int, default=4)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")

    try:
        info = probe(args.video)
        detector = PoseLandmarker(LandmarkerConfig(max_people=args.max_people))
    except (VideoError, AssetError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    frames = info.frame_count
    keypoints = np.full((frames, args.max_people, NUM_H36M_JOINTS, 2), np.nan, np.float32)
    confidence = np.zeros((frames, args.max_people, NUM_H36M_JOINTS), np.float32)
    counts = np.zeros(frames, np.int32)
    preview_index = frames // 2
    preview = None
    started = time.perf_counter()
    with detector:
        for index, frame in tqdm(iter_frames(args.video), total=frames, desc="detect", unit="frame"):
            if index >= frames:
                break
            found = detector.detect(frame, timestamp_ms=round(1000 * index / info.fps))
            joints, conf = mediapipe_to_h36m(found.pixels, found.visibility)
            counts[index] = found.count
            keypoints[index, : found.count], confidence[index, : found.count] = joints, conf
            if index == preview_index:
                preview = frame
                for p in range(found.count):
                    preview = draw_skeleton(preview, joints[p], conf[p], label=f"detection {p}")
    seconds = time.perf_counter() - started

    args.out.mkdir(parents=True, exist_ok=True)
    detections_path = args.out / "detections2d.npz"
    np.savez_compressed(
        detections_path,
        keypoints2d=keypoints,
        confidence2d=confidence,
        people_per_frame=counts,
        image_size=np.array([info.width, info.height], np.int32),
        fps=np.float32(info.fps),
        skeleton="h36m17",
        note="per-frame MediaPipe detections, not yet linked into tracks",
    )
    preview_path = args.out / "preview_detections.png"
    if preview is not None:
        cv2.imwrite(str(preview_path), cv2.cvtColor(preview, cv2.COLOR_RGB2BGR))

    print()
    print(f"FinePOSE demo on {args.video} ({info.width}x{info.height}, {info.fps:.1f} fps, {frames} frames)")
    print(
        f"  detected: a person in {int((counts > 0).sum())} of {frames} frames "
        f"(at most {int(counts.max())} at once), {frames / seconds:.1f} frames/s"
    )
    print(f"  2D joints (Human3.6M-17, pixels): {detections_path}")
    if preview is not None:
        print(f"  preview (frame {preview_index}):         {preview_path}")
    print("Not built yet, so not run (no output is faked):")
    for what, where in NOT_BUILT:
        print(f"  - {what} ({where})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
