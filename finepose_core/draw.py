"""Drawing Human3.6M-17 skeletons over frames, for previews and debugging."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from finepose_core.skeleton import BODY_PARTS, h36m_bones

# Colours are RGB, like every frame inside finepose_core (OpenCV's BGR stays at the I/O boundary).
PART_COLOURS: dict[str, tuple[int, int, int]] = {
    "head": (255, 220, 0),
    "body": (255, 255, 255),
    "arms": (0, 200, 255),
    "legs": (255, 80, 160),
}
_PART_OF_JOINT = {joint: part for part, joints in BODY_PARTS.items() for joint in joints}


def draw_skeleton(
    frame_rgb: NDArray[np.uint8],
    joints: NDArray[np.floating[Any]],
    confidence: NDArray[np.floating[Any]] | None = None,
    min_confidence: float = 0.3,
    label: str | None = None,
) -> NDArray[np.uint8]:
    """Return a copy of the frame with the 17 joints [17, 2] (pixels) and their bones drawn on it."""
    canvas = np.ascontiguousarray(frame_rgb.copy())
    conf = np.ones(len(joints)) if confidence is None else np.asarray(confidence)
    usable = np.isfinite(joints).all(axis=-1) & (conf >= min_confidence)
    thickness = max(1, round(min(canvas.shape[:2]) / 200))
    for parent, child in h36m_bones():
        if usable[parent] and usable[child]:
            a = tuple(int(v) for v in np.round(joints[parent]))
            b = tuple(int(v) for v in np.round(joints[child]))
            cv2.line(canvas, a, b, PART_COLOURS[_PART_OF_JOINT[child]], thickness, cv2.LINE_AA)
    for joint in np.flatnonzero(usable):
        centre = tuple(int(v) for v in np.round(joints[joint]))
        cv2.circle(canvas, centre, thickness + 1, PART_COLOURS[_PART_OF_JOINT[int(joint)]], -1, cv2.LINE_AA)
    if label and usable.any():
        x, y = np.nanmin(joints[usable], axis=0)
        cv2.putText(
            canvas,
            label,
            (int(x), max(12, int(y) - 6)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.5,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
    return canvas
