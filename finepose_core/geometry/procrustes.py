"""Rigid alignment of point sets: rotation (+ optional scale) and translation, batched over frames."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Similarity:
    """Per-frame similarity transforms mapping `source` onto `target`: target ≈ scale · source @ R + t.

    rotation: [..., 3, 3] (proper rotations, det = +1; applied to row vectors), scale: [...],
    translation: [..., 3].
    """

    rotation: FloatArray
    scale: FloatArray
    translation: FloatArray

    def apply(self, points: NDArray[np.floating[Any]]) -> FloatArray:
        """Transform points [..., J, 3] with the transform of their frame."""
        moved = np.asarray(points, dtype=np.float64) @ self.rotation
        return np.asarray(self.scale[..., None, None] * moved + self.translation[..., None, :])


def procrustes(
    source: NDArray[np.floating[Any]], target: NDArray[np.floating[Any]], with_scale: bool = True
) -> Similarity:
    """Least-squares similarity (Umeyama) from `source` [..., J, 3] to `target` [..., J, 3], per frame.

    Reflections are excluded: the rotation is proper, as a body seen in a mirror is a different pose.
    A degenerate source (all joints at one point) gets scale 0 and maps everything to the target's mean.
    """
    src = np.asarray(source, dtype=np.float64)
    dst = np.asarray(target, dtype=np.float64)
    if src.shape != dst.shape or src.shape[-1] != 3:
        raise ValueError(
            f"expected two arrays of the same shape [..., J, 3], got {src.shape} and {dst.shape}"
        )
    mu_src = src.mean(axis=-2, keepdims=True)
    mu_dst = dst.mean(axis=-2, keepdims=True)
    a = src - mu_src
    b = dst - mu_dst
    covariance = np.swapaxes(a, -1, -2) @ b  # [..., 3, 3]
    u, singular, vt = np.linalg.svd(covariance)
    # Flip the axis of the smallest singular value where U·Vᵀ would be a reflection.
    sign = np.sign(np.linalg.det(u @ vt))
    sign = np.where(sign == 0, 1.0, sign)
    correction = np.ones(singular.shape)
    correction[..., -1] = sign
    rotation = (u * correction[..., None, :]) @ vt
    if with_scale:
        variance = np.sum(a * a, axis=(-2, -1))
        trace = np.sum(singular * correction, axis=-1)
        scale = np.divide(trace, variance, out=np.zeros_like(trace), where=variance > 0)
    else:
        scale = np.ones(src.shape[:-2])
    translation = mu_dst[..., 0, :] - scale[..., None] * (mu_src @ rotation)[..., 0, :]
    return Similarity(rotation=rotation, scale=scale, translation=translation)
