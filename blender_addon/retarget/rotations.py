"""Rotation arithmetic on arrays of unit quaternions (w, x, y, z: Blender's order), vectorised over frames.

Pure numpy: the retargeting solver runs inside Blender (bundled numpy) and in plain tests alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
EPS = 1e-9


def normalize(v: Any, axis: int = -1) -> Array:
    v = np.asarray(v, dtype=np.float64)
    norm = np.linalg.norm(v, axis=axis, keepdims=True)
    return np.asarray(v / np.maximum(norm, EPS))


def identity(n: int) -> Array:
    q = np.zeros((n, 4))
    q[:, 0] = 1.0
    return q


def multiply(a: Any, b: Any) -> Array:
    """Hamilton product a·b (apply b first, then a)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def conjugate(q: Any) -> Array:
    out: Array = np.array(q, dtype=np.float64)
    out[..., 1:] *= -1.0
    return out


def rotate(q: Any, v: Any) -> Array:
    """Rotate vectors v [..., 3] by unit quaternions q [..., 4]."""
    q, v = np.asarray(q, np.float64), np.asarray(v, np.float64)
    w, u = q[..., :1], q[..., 1:]
    t = 2.0 * np.cross(u, v)
    return np.asarray(v + w * t + np.cross(u, t))


def from_axis_angle(axis: Any, angle: Any) -> Array:
    axis = normalize(axis)
    half = 0.5 * np.asarray(angle, np.float64)[..., None]
    return np.concatenate([np.cos(half), np.sin(half) * axis], axis=-1)


def between(a: Any, b: Any) -> Array:
    """The smallest rotation taking direction a to direction b ([..., 3] each)."""
    a, b = normalize(a), normalize(b)
    dot = np.sum(a * b, axis=-1)
    cross = np.cross(a, b)
    q = np.concatenate([(1.0 + dot)[..., None], cross], axis=-1)
    # opposite directions: any axis perpendicular to a, a half turn
    opposite = dot < -1.0 + 1e-9
    if np.any(opposite):
        helper = np.where(np.abs(a[..., :1]) < 0.9, np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
        axis = normalize(np.cross(a, helper))
        q = np.where(opposite[..., None], np.concatenate([np.zeros_like(dot)[..., None], axis], -1), q)
    return normalize(q)


def twist_to_align(q: Any, axis: Any, source: Any, target: Any) -> Array:
    """A rotation about `axis` (world) that, applied after q, best turns rotate(q, source) towards target.

    Both directions are projected onto the plane perpendicular to the axis; where either projection is
    degenerate the twist is the identity.
    """
    axis = normalize(axis)
    s = rotate(q, source)
    s = s - np.sum(s * axis, -1, keepdims=True) * axis
    t = np.asarray(target, np.float64)
    t = t - np.sum(t * axis, -1, keepdims=True) * axis
    ok = (np.linalg.norm(s, axis=-1) > 1e-6) & (np.linalg.norm(t, axis=-1) > 1e-6)
    angle = np.arctan2(
        np.sum(np.cross(normalize(s), normalize(t)) * axis, -1), np.sum(normalize(s) * normalize(t), -1)
    )
    angle = np.where(ok, angle, 0.0)
    return from_axis_angle(axis, angle)


def from_matrix(m: Any) -> Array:
    """Rotation matrices [..., 3, 3] → unit quaternions (w ≥ 0)."""
    m = np.asarray(m, np.float64)
    shape = m.shape[:-2]
    m = m.reshape(-1, 3, 3)
    q = np.empty((len(m), 4))
    trace = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    for i, r in enumerate(m):
        if trace[i] > 0:
            s = 2.0 * np.sqrt(trace[i] + 1.0)
            q[i] = [0.25 * s, (r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s]
        elif r[0, 0] > r[1, 1] and r[0, 0] > r[2, 2]:
            s = 2.0 * np.sqrt(1.0 + r[0, 0] - r[1, 1] - r[2, 2])
            q[i] = [(r[2, 1] - r[1, 2]) / s, 0.25 * s, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s]
        elif r[1, 1] > r[2, 2]:
            s = 2.0 * np.sqrt(1.0 + r[1, 1] - r[0, 0] - r[2, 2])
            q[i] = [(r[0, 2] - r[2, 0]) / s, (r[0, 1] + r[1, 0]) / s, 0.25 * s, (r[1, 2] + r[2, 1]) / s]
        else:
            s = 2.0 * np.sqrt(1.0 + r[2, 2] - r[0, 0] - r[1, 1])
            q[i] = [(r[1, 0] - r[0, 1]) / s, (r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, 0.25 * s]
    q *= np.where(q[:, :1] < 0, -1.0, 1.0)
    return normalize(q).reshape(*shape, 4)


def to_matrix(q: Any) -> Array:
    q = normalize(q)
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        -2,
    )


def make_continuous(q: Any) -> Array:
    """Flip signs along the first axis (frames) so that neighbours are in the same hemisphere: q and −q are
    the same rotation, but interpolating keyframes between them spins the long way round."""
    out: Array = np.array(q, dtype=np.float64)
    for f in range(1, len(out)):
        if np.dot(out[f], out[f - 1]) < 0:
            out[f] = -out[f]
    return out


def slerp(a: Any, b: Any, t: Any) -> Array:
    """Per-frame spherical interpolation from a to b ([F, 4] each) by t ([F], 0 → a, 1 → b), the short way."""
    a, b = normalize(a), normalize(b)
    t = np.asarray(t, np.float64)[..., None]
    dot = np.sum(a * b, -1, keepdims=True)
    b = np.where(dot < 0, -b, b)
    dot = np.abs(dot)
    angle = np.arccos(np.clip(dot, -1.0, 1.0))
    sin = np.sin(angle)
    near = sin < 1e-6  # (almost) the same rotation: a straight line is exact enough and avoids 0 / 0
    wa = np.where(near, 1.0 - t, np.sin((1.0 - t) * angle) / np.where(near, 1.0, sin))
    wb = np.where(near, t, np.sin(t * angle) / np.where(near, 1.0, sin))
    return normalize(wa * a + wb * b)


def angle_between(a: Any, b: Any) -> Array:
    """Angles (radians) between direction vectors."""
    a, b = normalize(a), normalize(b)
    return np.asarray(np.arccos(np.clip(np.sum(a * b, -1), -1.0, 1.0)))
