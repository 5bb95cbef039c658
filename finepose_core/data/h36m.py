"""Human3.6M in VideoPose3D's layout (the form FinePOSE, D3DP and MixSTE use) → clips.

A Human3.6M folder holds:
- `data_3d_h36m.npz`: `positions_3d[subject][action]` = [F, 32, 3] world positions in metres;
- `data_2d_h36m_cpn_ft_h36m_dbb.npz` (CPN detections) or `data_2d_h36m_gt.npz` (projected ground truth):
  `positions_2d[subject][action]` = four [F, 17, 2] pixel arrays, one per camera;
- `h36m_cameras.json`: the camera parameters that VideoPose3D lists in its code, as
  {"intrinsic": [4 × {"id", "center": [cx, cy], "focal_length": [fx, fy], "res_w", "res_h"}],
   "extrinsic": {subject: [4 × {"orientation": [w, x, y, z] camera → world, "translation": [x, y, z] mm}]}}.

Both .npz files are pickled dictionaries (that is the published format): load only files you trust.
The 32 motion-capture joints are reduced to the 17 of docs/architecture.md, converted world → camera
(X_cam = Rᵀ (X − t)), and each (subject, action, camera) becomes a Clip with the camera's K. The 2D stays in
pixels; the model normalises it (by the image width for checkpoints that use the Human3.6M protocol).
Standard split: train S1 S5 S6 S7 S8, test S9 S11; actions group by their first word.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from finepose_core.data.clip import Clip

TRAIN_SUBJECTS: Final = ("S1", "S5", "S6", "S7", "S8")
TEST_SUBJECTS: Final = ("S9", "S11")
# the 17 of the 32 Human3.6M motion-capture joints that the 17-joint protocol keeps, in the project's order
# (docs/architecture.md)
KEPT_JOINTS: Final = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)
FILE_3D: Final = "data_3d_h36m.npz"
FILES_2D: Final = {"cpn": "data_2d_h36m_cpn_ft_h36m_dbb.npz", "gt": "data_2d_h36m_gt.npz"}
FILE_CAMERAS: Final = "h36m_cameras.json"


class H36MError(ValueError):
    """The Human3.6M folder is incomplete or malformed; the message names the file and the problem."""


def is_h36m_folder(folder: Path) -> bool:
    return (Path(folder) / FILE_3D).is_file()


def _load_pickled_dict(path: Path, key: str) -> dict[str, Any]:
    if not path.is_file():
        raise H36MError(f"{path}: missing (a Human3.6M folder needs {FILE_3D}, a 2D file and {FILE_CAMERAS})")
    try:
        with np.load(path, allow_pickle=True) as data:
            return dict(data[key].item())
    except (OSError, ValueError, KeyError, EOFError) as error:
        raise H36MError(f"{path}: not VideoPose3D's layout ({error})") from None


def world_to_camera(
    points: NDArray[np.floating[Any]], orientation: list[float], translation_mm: list[float]
) -> NDArray[np.float64]:
    """X_cam = Rᵀ (X − t): `orientation` is the camera → world rotation as a (w, x, y, z) quaternion."""
    w, x, y, z = orientation
    rotation = Rotation.from_quat([x, y, z, w]).as_matrix()
    return np.asarray((np.asarray(points, dtype=np.float64) - np.asarray(translation_mm) / 1000.0) @ rotation)


def load_h36m_clips(
    folder: Path, subjects: tuple[str, ...] = TEST_SUBJECTS, keypoints: str = "cpn"
) -> list[Clip]:
    folder = Path(folder)
    if keypoints not in FILES_2D:
        raise H36MError(f"keypoints must be one of {', '.join(FILES_2D)}")
    positions_3d = _load_pickled_dict(folder / FILE_3D, "positions_3d")
    positions_2d = _load_pickled_dict(folder / FILES_2D[keypoints], "positions_2d")
    try:
        cameras = json.loads((folder / FILE_CAMERAS).read_text())
        intrinsic, extrinsic = cameras["intrinsic"], cameras["extrinsic"]
    except (OSError, ValueError, KeyError) as error:
        raise H36MError(f"{folder / FILE_CAMERAS}: missing or malformed ({error})") from None
    clips = []
    for subject in subjects:
        if subject not in positions_3d or subject not in positions_2d:
            raise H36MError(f"{folder}: subject {subject} is missing from the 3D or 2D file")
        for action in sorted(positions_3d[subject]):
            world = np.asarray(positions_3d[subject][action], dtype=np.float64)
            if world.ndim != 3 or world.shape[1:] != (32, 3):
                raise H36MError(
                    f"{folder / FILE_3D}: {subject}/{action} has shape {world.shape}, expected [F, 32, 3]"
                )
            world = world[:, KEPT_JOINTS]
            views = positions_2d[subject].get(action)
            if views is None:
                raise H36MError(f"{folder / FILES_2D[keypoints]}: {subject}/{action} is missing")
            for camera, (calibration, pose) in enumerate(zip(intrinsic, extrinsic[subject], strict=True)):
                pixels = np.asarray(views[camera], dtype=np.float32)
                frames = min(len(pixels), len(world))  # CPN files can be a few frames shorter
                joints = world_to_camera(world[:frames], pose["orientation"], pose["translation"])
                fx, fy = calibration["focal_length"]
                cx, cy = calibration["center"]
                clips.append(
                    Clip(
                        keypoints2d=pixels[:frames],
                        K=np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]], np.float32),
                        image_size=(int(calibration["res_w"]), int(calibration["res_h"])),
                        fps=50.0,
                        joints3d=joints.astype(np.float32),
                        action=action,
                        subject=subject,
                        source=f"{folder}#{subject}/{action}/camera{camera}",
                    )
                )
    return clips
