"""Joint sets: Human3.6M-17 (the lifter's skeleton), MediaPipe-33 (the detector's), and the conversion.

Human3.6M-17 order and names follow docs/architecture.md; everything else in the project (model, result
JSON, retargeting) indexes joints through the constants here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.floating[Any]]

# ---------------------------------------------------------------------------------------------------------
# Human3.6M, 17 joints
# ---------------------------------------------------------------------------------------------------------

H36M_NAME: Final = "h36m17"
H36M_JOINTS: Final[tuple[str, ...]] = (
    "Hip",  # 0, pelvis, the root
    "RHip",  # 1
    "RKnee",  # 2
    "RAnkle",  # 3
    "LHip",  # 4
    "LKnee",  # 5
    "LAnkle",  # 6
    "Spine",  # 7
    "Thorax",  # 8
    "Neck/Nose",  # 9
    "Head",  # 10, top of the head
    "LShoulder",  # 11
    "LElbow",  # 12
    "LWrist",  # 13
    "RShoulder",  # 14
    "RElbow",  # 15
    "RWrist",  # 16
)
NUM_H36M_JOINTS: Final = len(H36M_JOINTS)
H36M_INDEX: Final[dict[str, int]] = {name: i for i, name in enumerate(H36M_JOINTS)}
ROOT: Final = 0

# parent of each joint; -1 for the root
H36M_PARENTS: Final[tuple[int, ...]] = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)

# (left, right) pairs swapped by a horizontal flip
H36M_FLIP_PAIRS: Final[tuple[tuple[int, int], ...]] = ((4, 1), (5, 2), (6, 3), (11, 14), (12, 15), (13, 16))

# Body parts addressed by the fine-grained prompts (FinePOSE's head / body / arms / legs).
PartName = Literal["head", "body", "arms", "legs"]
BODY_PARTS: Final[dict[str, tuple[int, ...]]] = {
    "head": (9, 10),
    "body": (0, 7, 8),
    "arms": (11, 12, 13, 14, 15, 16),
    "legs": (1, 2, 3, 4, 5, 6),
}
assert set(get_args(PartName)) == set(BODY_PARTS)  # the options' part names are these parts


def h36m_bones() -> list[tuple[int, int]]:
    """(parent, child) pairs of the Human3.6M-17 tree, in joint order."""
    return [(parent, child) for child, parent in enumerate(H36M_PARENTS) if parent >= 0]


def flip_permutation() -> list[int]:
    """Index permutation that swaps left and right joints (apply together with negating x)."""
    permutation = list(range(NUM_H36M_JOINTS))
    for left, right in H36M_FLIP_PAIRS:
        permutation[left], permutation[right] = right, left
    return permutation


# ---------------------------------------------------------------------------------------------------------
# MediaPipe Pose, 33 landmarks
# ---------------------------------------------------------------------------------------------------------

MEDIAPIPE_LANDMARKS: Final[tuple[str, ...]] = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)
NUM_MEDIAPIPE_LANDMARKS: Final = len(MEDIAPIPE_LANDMARKS)
MP: Final[dict[str, int]] = {name: i for i, name in enumerate(MEDIAPIPE_LANDMARKS)}

# Human3.6M joints that are single MediaPipe landmarks.
_DIRECT: Final[dict[int, int]] = {
    1: MP["right_hip"],
    2: MP["right_knee"],
    3: MP["right_ankle"],
    4: MP["left_hip"],
    5: MP["left_knee"],
    6: MP["left_ankle"],
    11: MP["left_shoulder"],
    12: MP["left_elbow"],
    13: MP["left_wrist"],
    14: MP["right_shoulder"],
    15: MP["right_elbow"],
    16: MP["right_wrist"],
}


@dataclass(frozen=True)
class ConversionConfig:
    """Where the derived Human3.6M joints sit relative to their MediaPipe sources.

    spine_fraction: Spine lies this far from the pelvis towards the thorax (Human3.6M's spine joint is
        close to the middle of the trunk).
    head_extension: Head (the top of the skull) is the head's pivot (Neck/Nose, between the ears) moved
        away from the thorax by this fraction of the thorax → pivot distance: the pivot sits at nose height,
        about two thirds of the way from the base of the neck to the crown.
    """

    spine_fraction: float = 0.5
    head_extension: float = 0.5


def _midpoint(points: FloatArray, confidence: FloatArray, a: int, b: int) -> tuple[FloatArray, FloatArray]:
    """Mean of two landmarks; its confidence is the weaker source's (both are needed)."""
    return 0.5 * (points[..., a, :] + points[..., b, :]), np.minimum(confidence[..., a], confidence[..., b])


def mediapipe_to_h36m(
    landmarks: FloatArray,
    visibility: FloatArray | None = None,
    config: ConversionConfig | None = None,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Convert MediaPipe-33 landmarks to Human3.6M-17 joints with a confidence per joint.

    landmarks: [..., 33, D] (D = 2 for pixels, 3 for metric landmarks); NaN where unknown.
    visibility: [..., 33] in [0, 1]; 1 where absent.
    Returns (joints [..., 17, D] float32, confidence [..., 17] float32). A joint whose necessary sources
    are unknown is NaN with confidence 0. Derived joints take the confidence of their weakest necessary
    source, except that a left–right pair standing for the head's pivot counts as its better side; the
    pivot (Neck/Nose) needs the ears, the eyes or the nose, and the top of the head the thorax as well.
    """
    config = config or ConversionConfig()
    points = np.asarray(landmarks, dtype=np.float64)
    if points.ndim < 2 or points.shape[-2] != NUM_MEDIAPIPE_LANDMARKS:
        raise ValueError(f"expected landmarks of shape [..., 33, D], got {points.shape}")
    if visibility is None:
        conf = np.ones(points.shape[:-1])
    else:
        conf = np.clip(np.asarray(visibility, dtype=np.float64), 0.0, 1.0)
        if conf.shape != points.shape[:-1]:
            raise ValueError(f"visibility shape {conf.shape} does not match landmarks {points.shape}")
    conf = np.where(np.isnan(points).any(axis=-1) | np.isnan(conf), 0.0, conf)

    joints = np.full((*points.shape[:-2], NUM_H36M_JOINTS, points.shape[-1]), np.nan)
    joint_conf = np.zeros((*points.shape[:-2], NUM_H36M_JOINTS))
    for joint, landmark in _DIRECT.items():
        joints[..., joint, :] = points[..., landmark, :]
        joint_conf[..., joint] = conf[..., landmark]

    pelvis, pelvis_conf = _midpoint(points, conf, MP["left_hip"], MP["right_hip"])
    thorax, thorax_conf = _midpoint(points, conf, MP["left_shoulder"], MP["right_shoulder"])
    joints[..., 0, :], joint_conf[..., 0] = pelvis, pelvis_conf
    joints[..., 8, :], joint_conf[..., 8] = thorax, thorax_conf
    joints[..., 7, :] = pelvis + config.spine_fraction * (thorax - pelvis)
    joint_conf[..., 7] = np.minimum(pelvis_conf, thorax_conf)

    # Neck/Nose is the head's pivot (the skeleton's head joint, inside the skull at nose height), which in
    # any view lies about midway between the ears; the nose and eyes sit some 8–10 cm in front of it and
    # swing sideways as the head turns. So the pivot is the ears' midpoint, then the eyes', then the nose.
    # Each landmark is predicted even when hidden, so an ear turned away from the camera is still usable:
    # the pair's confidence is the better ear's (a head in profile is well placed).
    pivot = np.full_like(points[..., 0, :], np.nan)
    pivot_conf = np.zeros(points.shape[:-2])
    for left, right in (("left_ear", "right_ear"), ("left_eye", "right_eye"), ("nose", "nose")):
        a, b = MP[left], MP[right]
        candidate = 0.5 * (points[..., a, :] + points[..., b, :])
        usable = np.isfinite(candidate).all(axis=-1) & np.isnan(pivot).any(axis=-1)
        pivot = np.where(usable[..., None], candidate, pivot)
        pivot_conf = np.where(usable, np.maximum(conf[..., a], conf[..., b]), pivot_conf)
    joints[..., 9, :], joint_conf[..., 9] = pivot, pivot_conf
    # Head (the top of the skull) continues the thorax → pivot line.
    joints[..., 10, :] = pivot + config.head_extension * (pivot - thorax)
    joint_conf[..., 10] = np.minimum(pivot_conf, thorax_conf)

    unknown = np.isnan(joints).any(axis=-1)
    joint_conf = np.where(unknown, 0.0, joint_conf)
    return joints.astype(np.float32), joint_conf.astype(np.float32)
