"""The MediaPipe pose bundle: set-up produced it with the pinned hash, and the build recipe reproduces it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from finepose_core import assets
from tests.conftest import REPO_ROOT


def test_setup_built_the_bundle_with_the_pinned_hash() -> None:
    path = assets.pose_model_path(verify=True)
    assert path.stat().st_size == 9_397_842


def test_a_wrong_file_is_refused_with_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bogus = tmp_path / assets.POSE_MODEL_NAME
    bogus.write_bytes(b"not a model")
    monkeypatch.setenv(assets.POSE_MODEL_ENV, str(bogus))
    with pytest.raises(assets.AssetError, match="make setup"):
        assets.pose_model_path(verify=True)
    monkeypatch.setenv(assets.POSE_MODEL_ENV, str(tmp_path / "missing.task"))
    with pytest.raises(assets.AssetError, match="not found"):
        assets.pose_model_path()


@pytest.mark.slow
def test_build_from_pypi_reproduces_the_bundle_byte_for_byte(tmp_path: Path) -> None:
    """The whole recipe, without ../shared: download mediapipe 0.10.21, write metadata, zip (~20 s)."""
    output = tmp_path / assets.POSE_MODEL_NAME
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts/build_pose_model.py"), "--output", str(output), "--force"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "built" in result.stderr
    assert assets.sha256_of(output) == assets.POSE_MODEL_SHA256
