"""Zero-phase smoothing of joint trajectories over time (pure numpy: no scipy inside Blender)."""

from __future__ import annotations

import numpy as np

from .rotations import Array


def gaussian_smooth(values: Array, sigma_frames: float) -> Array:
    """Smooth [F, ...] along frames with a Gaussian of sigma_frames, point-mirrored at the ends.

    A symmetric kernel has no phase delay: motion is softened, not shifted later in time (the ends are
    point-mirrored, so a trend carries through the first and last frames instead of bending back).
    """
    values = np.asarray(values, np.float64)
    if sigma_frames <= 0 or len(values) < 3:
        return values.copy()
    radius = max(1, min(int(np.ceil(3 * sigma_frames)), len(values) - 1))
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma_frames) ** 2)
    kernel /= kernel.sum()
    # odd (point) reflection at the ends keeps a trend going through them instead of folding it back
    head = 2 * values[0] - values[radius:0:-1]
    tail = 2 * values[-1] - values[-2 : -radius - 2 : -1]
    padded = np.concatenate([head, values, tail], axis=0)
    out = np.zeros_like(values)
    for weight, offset in zip(kernel, offsets, strict=True):
        out += weight * padded[radius + offset : radius + offset + len(values)]
    return out


def strength_to_sigma(strength: float, fps: float) -> float:
    """The panel's smoothing strength 0–1 → a Gaussian sigma in frames (1 = 0.1 s)."""
    return max(0.0, float(strength)) * 0.1 * fps
