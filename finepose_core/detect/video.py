"""Decoding video files with OpenCV, with errors a user can act on."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

# Frames larger than this are refused rather than exhausting memory on a corrupt header.
MAX_SIDE_PX = 8192


class VideoError(ValueError):
    """The file cannot be used as a video; the message says why and what to do."""


class FrameTooLargeError(VideoError):
    """The container states a frame size over the limit; nothing was decoded."""


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    width: int
    height: int
    fps: float
    frame_count: int  # as reported by the container; may be an estimate for some formats


def probe(path: str | Path, max_pixels: int | None = None) -> VideoInfo:
    """Open a video and read its size, frame rate and frame count, checking that a frame decodes.

    The size comes from the container's header and is checked (at most MAX_SIDE_PX a side and `max_pixels`
    a frame) before any frame is decoded: a small file can describe frames whose decoding takes gigabytes.
    """
    video = Path(path)
    if not video.is_file():
        raise VideoError(f"{video}: no such file")
    capture = cv2.VideoCapture(str(video))
    try:
        if not capture.isOpened():
            raise VideoError(f"{video}: OpenCV cannot open this file as a video (corrupt or unsupported)")
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = float(capture.get(cv2.CAP_PROP_FPS))
        frame_count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        if width > MAX_SIDE_PX or height > MAX_SIDE_PX:
            raise FrameTooLargeError(
                f"{video}: frame size {width}x{height} is over {MAX_SIDE_PX} pixels a side"
            )
        if max_pixels is not None and width * height > max_pixels:
            raise FrameTooLargeError(
                f"{video}: frame size {width}x{height} is over this server's limit of {max_pixels} "
                "pixels a frame; scale the video down"
            )
        ok, _ = capture.read()
        second, _ = capture.read()
    finally:
        capture.release()
    if ok and not second:
        raise VideoError(
            f"{video}: a single frame (a still image?), not a video; give a video file (mp4, mov, avi, …)"
        )
    if not ok:
        raise VideoError(f"{video}: no frame could be decoded (empty or corrupt video)")
    if width <= 0 or height <= 0:
        raise VideoError(f"{video}: the file states no frame size (corrupt or unsupported)")
    if not np.isfinite(fps) or fps <= 0 or fps > 1000:
        raise VideoError(f"{video}: the file reports {fps} frames per second; is it a still image?")
    if frame_count < 2:
        raise VideoError(f"{video}: the container reports no frame count; re-encode it (for example to mp4)")
    return VideoInfo(path=video, width=width, height=height, fps=fps, frame_count=frame_count)


def iter_frames(
    path: str | Path, start: int = 0, end: int | None = None, step: int = 1
) -> Iterator[tuple[int, NDArray[np.uint8]]]:
    """Yield (frame index, RGB frame [H, W, 3] uint8) for frames start, start+step, … before `end`."""
    if start < 0 or step < 1 or (end is not None and end <= start):
        raise ValueError(f"invalid frame range start={start} end={end} step={step}")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise VideoError(f"{path}: OpenCV cannot open this file as a video")
    try:
        if start:
            capture.set(cv2.CAP_PROP_POS_FRAMES, start)
        index = start
        while end is None or index < end:
            ok, frame = capture.read()
            if not ok:
                return
            if (index - start) % step == 0:
                yield index, np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), dtype=np.uint8)
            index += 1
    finally:
        capture.release()
