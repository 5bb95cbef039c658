"""Where the project's run-time assets live and how to verify them.

The MediaPipe pose bundle is not committed (it is a build product of third-party weights): `make setup`
builds it with scripts/build_pose_model.py into this package's `assets/` folder, and the hash below pins
its exact bytes.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent / "assets"

POSE_MODEL_NAME = "pose_landmarker_full.task"
# sha256 of the bundle built from mediapipe 0.10.21's pose_detection.tflite and pose_landmark_full.tflite
# with image-normalisation metadata (see scripts/build_pose_model.py).
POSE_MODEL_SHA256 = "b407cfcbeabf3060dce2b14d4e2d07f72e0af3f70cdeaa3b5248a411c5933b2d"

# Users may keep the bundle elsewhere (a shared models folder, a read-only install).
POSE_MODEL_ENV = "FINEPOSE_POSE_MODEL"

# The default FinePOSE checkpoint, committed with the project (trained on CMU mocap; see docs/training.md).
CHECKPOINTS_DIR = Path(__file__).resolve().parent / "checkpoints"
DEFAULT_CHECKPOINT = CHECKPOINTS_DIR / "finepose_small_cmu.pt"
CHECKPOINT_ENV = "FINEPOSE_CHECKPOINT"


def default_checkpoint_path() -> Path:
    override = os.environ.get(CHECKPOINT_ENV)
    return Path(override) if override else DEFAULT_CHECKPOINT


class AssetError(RuntimeError):
    """A run-time asset is missing or is not the file the project expects."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_pose_model_path() -> Path:
    override = os.environ.get(POSE_MODEL_ENV)
    return Path(override) if override else ASSETS_DIR / POSE_MODEL_NAME


def pose_model_path(verify: bool = False) -> Path:
    """Return the path of the MediaPipe pose bundle, raising a clear error when it is missing or wrong."""
    path = default_pose_model_path()
    if not path.is_file():
        raise AssetError(
            f"MediaPipe pose model not found at {path}. Run 'make setup' (it builds the model), "
            f"or point {POSE_MODEL_ENV} at an existing {POSE_MODEL_NAME}."
        )
    if verify:
        actual = sha256_of(path)
        if actual != POSE_MODEL_SHA256:
            raise AssetError(
                f"{path} has sha256 {actual}, expected {POSE_MODEL_SHA256}. Delete it and run 'make setup'."
            )
    return path
