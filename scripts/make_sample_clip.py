"""Maintenance: cut the bundled sample clip samples/office_walk.mp4 from ../shared (run once, committed).

Source: ../shared/data/video/office_walk_single.mp4, "Intel IoT DevKit sample-videos, CC BY 4.0".
Frames 62–197 (13.6 s at 10 fps): a woman walks in, stands at a table and walks out of view. The frames
are re-encoded unchanged in size with OpenCV's MPEG-4 Part 2 encoder (the one every OpenCV build has).

Usage: python scripts/make_sample_clip.py [--source PATH] [--output PATH]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import cv2

log = logging.getLogger("make_sample_clip")

REPO = Path(__file__).resolve().parents[1]
FIRST_FRAME, LAST_FRAME = 62, 197


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = REPO.parent / "shared/data/video/office_walk_single.mp4"
    parser.add_argument("--source", type=Path, default=source)
    parser.add_argument("--output", type=Path, default=REPO / "samples/office_walk.mp4")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    capture = cv2.VideoCapture(str(args.source))
    if not capture.isOpened():
        log.error("error: cannot open %s", args.source)
        return 1
    fps = capture.get(cv2.CAP_PROP_FPS)
    size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    capture.set(cv2.CAP_PROP_POS_FRAMES, FIRST_FRAME)
    writer = cv2.VideoWriter(str(args.output), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
    written = 0
    for _ in range(FIRST_FRAME, LAST_FRAME + 1):
        ok, frame = capture.read()
        if not ok:
            break
        writer.write(frame)
        written += 1
    writer.release()
    capture.release()
    log.info("wrote %s: %d frames, %dx%d at %.1f fps", args.output, written, *size, fps)
    return 0 if written == LAST_FRAME - FIRST_FRAME + 1 else 1


if __name__ == "__main__":
    sys.exit(main())
