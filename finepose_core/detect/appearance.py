"""What a detected person looks like: colour histograms of the clothes, for telling people apart.

Keypoints alone cannot tell two people apart where they cross at a similar size (the prediction of either
fits both), nor recognise a person who comes back in a new pose. Their clothes can: each detection gets
a colour histogram (hue, saturation, value) of its torso — the quadrilateral of the shoulders and hips,
shrunk towards its centre so that background at the edges stays out — and one of its thighs (hips and
knees), concatenated. Two histograms are compared with the Hellinger distance (0: the same colours, 1:
nothing in common). A region too small or not confidently seen gives no histogram (NaN), and a
comparison with it gives no evidence (NaN) rather than a guess.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

# Human3.6M-17 indices: right hip 1, right knee 2, left hip 4, left knee 5, left shoulder 11, right 14
_TORSO = (11, 14, 1, 4)
_THIGHS = (1, 4, 5, 2)
BINS = (8, 3, 3)  # hue, saturation, value
REGION_SIZE = int(np.prod(BINS))
SIZE = 2 * REGION_SIZE
_REGIONS = (slice(0, REGION_SIZE), slice(REGION_SIZE, SIZE))  # torso, thighs within a histogram
MIN_PIXELS = 60  # fewer pixels in a region: no histogram
SHRINK = 0.2  # each region's corners moved this share of the way to its centre
CONFIDENT = 0.5  # a region's corner joints must all be seen at least this confidently


def _region_histogram(
    hsv: NDArray[np.uint8], corners: NDArray[np.float64], mask: NDArray[np.uint8]
) -> NDArray[np.float32] | None:
    centre = corners.mean(axis=0)
    polygon = np.round(centre + (1 - SHRINK) * (corners - centre)).astype(np.int32)
    mask[:] = 0
    cv2.fillPoly(mask, [polygon], (255,))
    if int(np.count_nonzero(mask)) < MIN_PIXELS:
        return None
    histogram = cv2.calcHist([hsv], [0, 1, 2], mask, list(BINS), [0, 180, 0, 256, 0, 256]).ravel()
    total = float(histogram.sum())
    return (histogram / total).astype(np.float32) if total > 0 else None


def appearance(
    frame_rgb: NDArray[np.uint8], joints: NDArray[np.floating[Any]], confidence: NDArray[np.floating[Any]]
) -> NDArray[np.float32]:
    """Histograms [P, SIZE] of the detections `joints` [P, 17, 2] (pixels) in one frame; a region that is
    not seen leaves its half NaN."""
    out = np.full((len(joints), SIZE), np.nan, np.float32)
    if not len(joints):
        return out
    hsv = np.asarray(cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2HSV), np.uint8)
    mask = np.zeros(frame_rgb.shape[:2], np.uint8)
    for person in range(len(joints)):
        for region, corners in zip(_REGIONS, (_TORSO, _THIGHS), strict=True):
            points = np.asarray(joints[person][list(corners)], np.float64)
            if (
                not np.isfinite(points).all()
                or (np.asarray(confidence[person])[list(corners)] < CONFIDENT).any()
            ):
                continue
            histogram = _region_histogram(hsv, points, mask)
            if histogram is not None:
                out[person, region] = histogram
    return out


def distance(a: NDArray[np.floating[Any]], b: NDArray[np.floating[Any]]) -> float:
    """Hellinger distance between two appearances, averaged over the regions both have; NaN if none."""
    parts = []
    for region in _REGIONS:
        x, y = a[region], b[region]
        if np.isnan(x).any() or np.isnan(y).any():
            continue
        overlap = float(np.sqrt(np.clip(x, 0, None) * np.clip(y, 0, None)).sum())
        parts.append(np.sqrt(max(0.0, 1.0 - overlap)))
    return float(np.mean(parts)) if parts else float("nan")


class AppearanceModel:
    """A person's appearance: a running mean per region over the clean sightings (nobody in front), or,
    for someone never yet seen clean (always behind another), over the others until a clean one comes,
    since colours partly someone else's still tell the two apart better than none."""

    def __init__(self, rate: float = 0.1) -> None:
        self.rate = rate
        self.value = np.full(SIZE, np.nan, np.float32)
        self.clean = np.zeros(2, bool)  # per region: whether the value comes from clean sightings

    @property
    def known(self) -> bool:
        return bool(np.isfinite(self.value).any())

    def update(self, seen: NDArray[np.floating[Any]], clean: bool = True) -> None:
        for part, piece in enumerate(_REGIONS):
            new = np.asarray(seen[piece], np.float32)
            if np.isnan(new).any() or (self.clean[part] and not clean):
                continue
            old = self.value[piece]
            first_clean = clean and not self.clean[part]
            fresh = np.isnan(old).any() or first_clean
            self.value[piece] = new if fresh else (1 - self.rate) * old + self.rate * new
            self.clean[part] |= clean

    def distance(self, seen: NDArray[np.floating[Any]]) -> float:
        return distance(self.value, seen)
