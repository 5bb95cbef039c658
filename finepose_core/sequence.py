"""Small operations on per-frame sequences of joints."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from numpy.typing import NDArray


def consecutive_runs(frames: NDArray[np.integer[Any]]) -> list[slice]:
    """Where sorted frame indices run without a gap: slices of positions in `frames`, in order."""
    breaks = (np.flatnonzero(np.diff(frames) > 1) + 1).tolist()
    edges = [0, *breaks, len(frames)]
    return [slice(a, b) for a, b in itertools.pairwise(edges) if b > a]


def interpolate_missing(sequence: NDArray[np.floating[Any]]) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Fill NaN entries of [F, J, D] by linear interpolation over time, per joint (edges: nearest value).

    Returns the filled sequence and a [F, J] mask of what was filled. A joint unknown in every frame stays
    NaN; callers decide whether that is an error.
    """
    values = np.array(sequence, dtype=np.float64)
    missing = ~np.isfinite(values).all(axis=-1)
    frames = np.arange(len(values))
    for joint in range(values.shape[1]):
        known = ~missing[:, joint]
        if known.all() or not known.any():
            continue
        for axis in range(values.shape[2]):
            values[:, joint, axis] = np.interp(frames, frames[known], values[known, joint, axis])
    return values, missing
