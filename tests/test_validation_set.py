"""The validation windows are pinned: changing training's augmentation leaves them as they were."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from finepose_core.data import augment, validation
from finepose_core.data.cameras import CameraRanges
from finepose_core.data.joint_maps import CMU_MB, JointMap, ScaleGroup
from finepose_core.data.mocap import MocapSequence, Window, load_library
from finepose_core.train import validation_windows
from tests.bvh_factory import write_library


@pytest.fixture(scope="module")
def sequences(tmp_path_factory: pytest.TempPathFactory) -> list[MocapSequence]:
    root = write_library(tmp_path_factory.mktemp("bvh"), {"01": 2}, frames=160)
    return load_library(root, CMU_MB, 30.0)


def _pinned() -> dict[str, ScaleGroup]:
    assert CMU_MB.validation_scale_groups is not None  # the preset pins its validation proportions
    return CMU_MB.validation_scale_groups


def _arrays(windows: dict[str, list[Window]]) -> list[np.ndarray]:
    return [
        np.asarray(getattr(w, name))
        for kind in windows.values()
        for w in kind
        for name in ("joints3d", "keypoints2d")
    ]


def test_training_augmentation_changes_do_not_reach_the_validation_windows(
    sequences: list[MocapSequence], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _arrays(validation_windows(sequences, CMU_MB, 27, 3))
    # training widened its body proportions, re-measured the detector's offsets, changed its cameras
    shins = ScaleGroup(("LeftFoot", "RightFoot"), 0.5, 0.6)
    other_bodies = replace(CMU_MB, scale_groups={**CMU_MB.scale_groups, "shin": shins})
    monkeypatch.setattr(augment, "measured_offsets", lambda: np.full((17, 2), 0.3))
    monkeypatch.setattr("finepose_core.data.mocap.CameraRanges", lambda: CameraRanges(fov_deg=(10.0, 11.0)))
    after = _arrays(validation_windows(sequences, other_bodies, 27, 3))
    assert len(before) == len(after) == 12
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_pinned_settings_are_the_ones_used(sequences: list[MocapSequence]) -> None:
    """Changing a pinned setting is a new validation set: the windows move (the pins are not dead code)."""
    before = _arrays(validation_windows(sequences, CMU_MB, 27, 2))
    shins = ScaleGroup(("LeftFoot", "RightFoot"), 0.5, 0.6)
    pinned_elsewhere = replace(CMU_MB, validation_scale_groups={**_pinned(), "shin": shins})
    after = _arrays(validation_windows(sequences, pinned_elsewhere, 27, 2))
    assert any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))


def test_a_json_joint_map_can_pin_its_own_validation_proportions(tmp_path: Path) -> None:
    raw = {
        "name": "custom",
        "joints": {name: list(bones) for name, bones in CMU_MB.joints.items()},
        "unit_m": CMU_MB.unit_m,
        "scale_groups": {"thigh": {"bones": ["LeftLeg", "RightLeg"], "low": 0.8, "high": 1.2}},
        "validation_scale_groups": {"thigh": {"bones": ["LeftLeg", "RightLeg"], "low": 0.95, "high": 1.05}},
    }
    path = tmp_path / "custom.json"
    path.write_text(json.dumps(raw))
    jm = JointMap.from_json(path)
    assert validation.scale_groups(jm) == {"thigh": ScaleGroup(("LeftLeg", "RightLeg"), 0.95, 1.05)}
    del raw["validation_scale_groups"]
    path.write_text(json.dumps(raw))
    unpinned = JointMap.from_json(path)  # no pins of its own and not a preset: its training groups
    assert validation.scale_groups(unpinned) == unpinned.scale_groups
    assert validation.scale_groups(CMU_MB) == _pinned()
