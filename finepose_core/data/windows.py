"""Sliding windows of N frames over sequences of any length, and blending them back.

Long sequences are cut into the fewest windows of N frames that overlap by at least `overlap` frames,
spread evenly so that the first starts at the first frame and the last ends at the last. Where two
windows overlap, their weights cross-fade linearly (one falls as the other rises, summing to one), so the
result has no step where one window hands over to the next. A sequence shorter than N is edge-padded on
both sides (its first and last frames repeated) to one window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class WindowPlan:
    frames: int  # length of the sequence
    size: int  # N
    starts: tuple[int, ...]  # window starts in the (padded) sequence
    pad_before: int  # edge padding added in front (short sequences only)
    pad_after: int
    overlap: int

    @classmethod
    def create(cls, frames: int, size: int, overlap: int) -> WindowPlan:
        if frames < 1 or size < 1:
            raise ValueError(
                f"need at least one frame and a window of at least one frame, got {frames}, {size}"
            )
        if not 0 <= overlap < size:
            raise ValueError(f"overlap must be within [0, {size}), got {overlap}")
        if frames <= size:
            pad = size - frames
            return cls(frames, size, (0,), pad // 2, pad - pad // 2, overlap)
        count = math.ceil((frames - size) / (size - overlap)) + 1
        starts = np.round(np.linspace(0, frames - size, count)).astype(int)
        return cls(frames, size, tuple(int(start) for start in starts), 0, 0, overlap)

    @property
    def count(self) -> int:
        return len(self.starts)

    def cut(self, sequence: NDArray[Any]) -> NDArray[Any]:
        """[F, ...] → [W, N, ...]."""
        if len(sequence) != self.frames:
            raise ValueError(f"sequence has {len(sequence)} frames, the plan {self.frames}")
        padding = [(self.pad_before, self.pad_after)] + [(0, 0)] * (sequence.ndim - 1)
        padded = np.pad(sequence, padding, mode="edge")
        return np.stack([padded[start : start + self.size] for start in self.starts])

    def weights(self) -> NDArray[np.float64]:
        """Blending weight of each position of each window [W, N]: cross-fades over the real overlaps."""
        weights = np.ones((self.count, self.size))
        for w in range(self.count - 1):
            shared = self.starts[w] + self.size - self.starts[w + 1]
            rise = np.arange(1, shared + 1) / (shared + 1)
            weights[w + 1, :shared] = np.minimum(weights[w + 1, :shared], rise)
            weights[w, self.size - shared :] = np.minimum(weights[w, self.size - shared :], 1 - rise)
        return weights

    def blend(self, windows: NDArray[Any], axis: int = 0) -> NDArray[np.float64]:
        """Windows along `axis`, frames right after it ([..., W, N, ...]) → the sequence ([..., F, ...])."""
        w = np.moveaxis(np.asarray(windows, dtype=np.float64), [axis, axis + 1], [0, 1])  # [W, N, ...]
        if w.shape[:2] != (self.count, self.size):
            raise ValueError(f"expected {self.count} windows of {self.size} frames, got {w.shape[:2]}")
        total = self.pad_before + self.frames + self.pad_after
        out = np.zeros((total, *w.shape[2:]))
        weight_sum = np.zeros(total)
        tail = (1,) * (w.ndim - 2)
        for window, start, weight in zip(w, self.starts, self.weights(), strict=True):
            out[start : start + self.size] += window * weight.reshape(-1, *tail)
            weight_sum[start : start + self.size] += weight
        out /= weight_sum.reshape(-1, *tail)
        out = out[self.pad_before : self.pad_before + self.frames]
        return np.moveaxis(out, 0, axis)
