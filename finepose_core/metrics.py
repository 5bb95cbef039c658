"""3D pose metrics of the Human3.6M and MPI-INF-3DHP protocols.

All inputs are arrays of shape [F, J, 3] (frames, joints, xyz) in metres; all outputs are in metres
(multiply by 1000 for the millimetres that papers report), or fractions for PCK and AUC.

- MPJPE: mean per-joint position error, no alignment (protocol #1; inputs are usually root-relative).
- P-MPJPE: MPJPE after a per-frame similarity alignment, rotation + scale + translation (protocol #2).
- N-MPJPE: MPJPE after a per-frame scale alignment only (Rhodin et al.).
- MPJVE: mean per-joint velocity error, first differences over time, metres per frame.
- Acceleration error: second differences over time, metres per frame².
- PCK@150 mm and AUC over thresholds 0–150 mm (MPI-INF-3DHP), over the joints given.
- Per-action aggregation: frame-weighted inside an action, unweighted mean across actions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from finepose_core.geometry.procrustes import procrustes

ArrayLike = NDArray[np.floating[Any]]

PCK_THRESHOLD_M = 0.150
# MPI-INF-3DHP's AUC: PCK averaged over 31 thresholds, 0, 5, …, 150 mm.
AUC_THRESHOLDS_M = np.linspace(0.0, 0.150, 31)


def _pair(pred: ArrayLike, gt: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    p = np.asarray(pred, dtype=np.float64)
    g = np.asarray(gt, dtype=np.float64)
    if p.shape != g.shape or p.ndim < 2 or p.shape[-1] != 3:
        raise ValueError(f"prediction {p.shape} and ground truth {g.shape} must both be [..., J, 3]")
    return p, g


def joint_errors(pred: ArrayLike, gt: ArrayLike) -> NDArray[np.float64]:
    """Euclidean error per joint, [..., J]."""
    p, g = _pair(pred, gt)
    return np.asarray(np.linalg.norm(p - g, axis=-1), dtype=np.float64)


def mpjpe_per_frame(pred: ArrayLike, gt: ArrayLike) -> NDArray[np.float64]:
    """MPJPE of every frame, [...]."""
    return np.asarray(joint_errors(pred, gt).mean(axis=-1), dtype=np.float64)


def mpjpe(pred: ArrayLike, gt: ArrayLike) -> float:
    return float(mpjpe_per_frame(pred, gt).mean())


def procrustes_aligned(pred: ArrayLike, gt: ArrayLike) -> NDArray[np.float64]:
    """The prediction moved by its best per-frame similarity transform onto the ground truth."""
    p, g = _pair(pred, gt)
    return procrustes(p, g, with_scale=True).apply(p)


def p_mpjpe_per_frame(pred: ArrayLike, gt: ArrayLike) -> NDArray[np.float64]:
    return mpjpe_per_frame(procrustes_aligned(pred, gt), gt)


def p_mpjpe(pred: ArrayLike, gt: ArrayLike) -> float:
    return float(p_mpjpe_per_frame(pred, gt).mean())


def scale_aligned(pred: ArrayLike, gt: ArrayLike) -> NDArray[np.float64]:
    """The prediction scaled per frame by the least-squares factor s = ⟨p, g⟩ / ⟨p, p⟩ (no translation)."""
    p, g = _pair(pred, gt)
    num = np.sum(p * g, axis=(-2, -1))
    den = np.sum(p * p, axis=(-2, -1))
    scale = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return np.asarray(scale[..., None, None] * p)


def n_mpjpe_per_frame(pred: ArrayLike, gt: ArrayLike) -> NDArray[np.float64]:
    return mpjpe_per_frame(scale_aligned(pred, gt), gt)


def n_mpjpe(pred: ArrayLike, gt: ArrayLike) -> float:
    return float(n_mpjpe_per_frame(pred, gt).mean())


def _temporal(pred: ArrayLike, gt: ArrayLike, order: int) -> float:
    p, g = _pair(pred, gt)
    if p.ndim != 3:
        raise ValueError(f"temporal metrics need [F, J, 3] sequences, got {p.shape}")
    if p.shape[0] <= order:
        raise ValueError(f"need more than {order} frames for a difference of order {order}, got {p.shape[0]}")
    diff = np.diff(p, n=order, axis=0) - np.diff(g, n=order, axis=0)
    return float(np.linalg.norm(diff, axis=-1).mean())


def mpjve(pred: ArrayLike, gt: ArrayLike) -> float:
    """Mean per-joint velocity error, metres per frame (multiply by fps for metres per second)."""
    return _temporal(pred, gt, order=1)


def acceleration_error(pred: ArrayLike, gt: ArrayLike) -> float:
    """Mean per-joint acceleration error, metres per frame² (multiply by fps² for m/s²)."""
    return _temporal(pred, gt, order=2)


def pck(pred: ArrayLike, gt: ArrayLike, threshold: float = PCK_THRESHOLD_M) -> float:
    """Fraction of joints whose error is within `threshold` metres (inclusive)."""
    return float((joint_errors(pred, gt) <= threshold).mean())


def auc(pred: ArrayLike, gt: ArrayLike, thresholds: NDArray[np.floating[Any]] = AUC_THRESHOLDS_M) -> float:
    """Area under the PCK curve, normalised to [0, 1]: the mean PCK over `thresholds`."""
    errors = joint_errors(pred, gt)
    return float(np.mean([(errors <= t).mean() for t in np.asarray(thresholds)]))


def aggregate_by_action(per_frame: Iterable[tuple[str, ArrayLike]]) -> dict[str, float]:
    """Average per-frame errors the Human3.6M way.

    per_frame: (action, errors of each frame) for every clip; clips of one action are pooled, so each
    frame counts once (frame-weighted inside an action).
    Returns {action: mean error} plus "average": the unweighted mean of the actions' means, so that a long
    action does not dominate.
    """
    pooled: dict[str, list[NDArray[np.float64]]] = defaultdict(list)
    for action, errors in per_frame:
        pooled[action].append(np.asarray(errors, dtype=np.float64).reshape(-1))
    if not pooled:
        raise ValueError("no clips to aggregate")
    by_action = {action: float(np.concatenate(chunks).mean()) for action, chunks in sorted(pooled.items())}
    if "average" in by_action:
        raise ValueError("'average' is reserved for the mean over actions")
    return {**by_action, "average": mean_over_actions(by_action)}


def mean_over_actions(by_action: Mapping[str, float]) -> float:
    values = [value for action, value in by_action.items() if action != "average"]
    return float(np.mean(values))
