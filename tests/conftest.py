"""Shared fixtures: where ../shared is, and the repository root."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared, or a skip with the reason when it is absent (a user's clone)."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent: this test needs the workplace's shared data (CI always has it)")
    return SHARED
