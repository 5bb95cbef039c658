"""Sliding windows of N frames over sequences of any length, and blending them back.

Long sequences are cut into windows of N frames whose starts are `stride = N − overlap` apart (the last
window ends at the last frame). Windows are blended back with weights that ramp linearly over the
overlap at both ends of every window, so the result has no step where one window hands over to the next.
A sequence shorter than N is edge-padded on both sides (its first and last frames repeated) to one window.
"""

from __future__ import annotations

from dataclasses import dataclass

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
            raise ValueError(f"need at least one frame and a window of at least one frame, got {frames}, {size}")
        if not 0 <= overlap < size:
            raise ValueError(f"overlap must be within [0, {size}), got {overlap}")
        if frames <= size:
            pad = size - frames
            return cls(frames, size, (0,), pad // 2, pad - pad // 2, overlap)
        stride = size - overlap
        starts = list(range(0, frames - size + 1, stride))
        if starts[-1] != frames - size:
            starts.append(frames - size)
        return cls(frames, size, tuple(starts), 0, 0, overlap)

    @property
    def count(self) -> int:
        return len(self.starts)

    def cut(self, sequence: NDArray[np.generic]) -> NDArray[np.generic]:
        """[F, ...] → [W, N, ...]."""
        if len(sequence) != self.frames:
            raise ValueError(f"sequence has {len(sequence)} frames, the plan {self.frames}")
        padding = [(self.pad_before, self.pad_after)] + [(0, 0)] * (sequence.ndim - 1)
        padded = np.pad(sequence, padding, mode="edge")
        return np.stack([padded[start : start + self.size] for start in self.starts])

    def weights(self) -> NDArray[np.float64]:
        """Blending weight of each position inside a window [N]: a linear ramp over the overlap."""
        position = np.arange(self.size)
        ramp = np.minimum(position + 1, self.size - position) / (self.overlap + 1)
        return np.asarray(np.clip(ramp, 0.0, 1.0))

    def blend(self, windows: NDArray[np.floating], axis: int = 0) -> NDArray[np.float64]:
        """Windows along `axis`, frames right after it ([..., W, N, ...]) → the sequence ([..., F, ...])."""
        w = np.moveaxis(np.asarray(windows, dtype=np.float64), [axis, axis + 1], [0, 1])  # [W, N, ...]
        if w.shape[:2] != (self.count, self.size):
            raise ValueError(f"expected {self.count} windows of {self.size} frames, got {w.shape[:2]}")
        total = self.pad_before + self.frames + self.pad_after
        out = np.zeros((total, *w.shape[2:]))
        weight_sum = np.zeros(total)
        weight = self.weights()
        tail = (1,) * (w.ndim - 2)
        for window, start in zip(w, self.starts, strict=True):
            out[start : start + self.size] += window * weight.reshape(-1, *tail)
            weight_sum[start : start + self.size] += weight
        out /= weight_sum.reshape(-1, *tail)
        out = out[self.pad_before : self.pad_before + self.frames]
        return np.moveaxis(out, 0, axis)
