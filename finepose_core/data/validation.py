"""The validation windows' definition, pinned apart from training's augmentation.

Checkpoints are chosen, and runs compared, on a fixed set of windows from the held-out subjects and trials
(`train.validation_windows`). Those windows are drawn with body proportions, virtual cameras and an
imitation of the detector, the same kinds of randomness as training's augmentation. If they read
training's settings, every change to the augmentation (a wider shin range, new MediaPipe offsets) would
silently change the validation set, and figures measured before and after the change would no longer
compare. So the validation set has its own copy of each setting, written out: the cameras, the detector
noise and the MediaPipe offsets here, the body proportions on the joint map beside training's
(`JointMap.validation_scale_groups`). Training may change its own freely; changing these is a new
validation set, and every validation figure must be re-measured.

The values are those the published validation figures were measured on (docs/training.md), so that new
figures compare with them.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

from finepose_core.data.augment import NoiseConfig
from finepose_core.data.cameras import CameraRanges
from finepose_core.data.joint_maps import JointMap, ScaleGroup

SEED: Final = 12345  # window i of the exact set is sample (SEED, i); of the noisy set (SEED, 10 000 + i)
NOISY_OFFSET: Final = 10_000

CAMERAS: Final = CameraRanges(
    fov_deg=(40.0, 90.0), pitch_down_deg=(-10.0, 35.0), height_fraction=(0.1, 0.9), roll_deg=3.0
)
NOISE: Final = NoiseConfig(
    offset_factor=(0.0, 1.3), jitter=(0.0, 0.04), drop_probability=0.02, drop_length=(1, 8)
)

# MediaPipe landmark minus joint centre, (side, up) in torso lengths, Human3.6M order
DETECTOR_OFFSETS: Final = (
    (0.0231, -0.0742), (0.0553, -0.0168), (-0.0019, 0.0347), (-0.007, 0.0212), (0.0021, -0.0395),
    (0.0014, 0.0293), (0.011, 0.035), (-0.0071, 0.0189), (0.0123, -0.1223), (0.0177, 0.045),
    (0.0348, -0.0688), (-0.0082, -0.0082), (0.0131, -0.0313), (0.0034, -0.021), (0.0254, 0.0236),
    (0.0164, -0.0026), (0.0265, -0.0158),
)  # fmt: skip


def detector_offsets() -> NDArray[np.float64]:
    return np.array(DETECTOR_OFFSETS, dtype=np.float64)


def scale_groups(jm: JointMap) -> dict[str, ScaleGroup]:
    """The validation body proportions of a joint map: its pinned `validation_scale_groups` (the presets
    have them; a JSON joint map may give them), else its training groups."""
    groups = jm.scale_groups if jm.validation_scale_groups is None else jm.validation_scale_groups
    return dict(groups)
