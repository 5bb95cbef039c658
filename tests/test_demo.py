"""`make demo`: the batch on the bundled clip writes a .blend, the result, FBX, BVH and a preview."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


@pytest.mark.slow
def test_demo_writes_a_blend_exports_and_a_preview(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts/demo.py"), "--out", str(tmp_path), "--preset", "fast"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    document = json.loads((tmp_path / "office_walk.json").read_text())
    assert document["schema"] == "finepose.result/1"
    # measured: the woman is tracked as one person over 131 of the 136 frames (outside the view at the ends)
    assert len(document["people"]) == 1 and 120 <= len(document["people"][0]["frames"]) <= 136
    outputs = {
        tmp_path / "office_walk.blend": 100_000,
        tmp_path / "fbx/office_walk/Person_0.fbx": 10_000,
        tmp_path / "bvh/office_walk/Person_0.bvh": 10_000,
        tmp_path / "preview.png": 50_000,
    }
    for path, least in outputs.items():
        assert path.stat().st_size > least, path
        assert str(path) in result.stdout
    assert (tmp_path / "bvh/office_walk/Person_0.bvh").read_text().startswith("HIERARCHY")


def test_demo_reports_a_missing_video_without_a_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts/demo.py"), "--video", str(tmp_path / "nope.mp4")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "no such file" in result.stderr and "Traceback" not in result.stderr
