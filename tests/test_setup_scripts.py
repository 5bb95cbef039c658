"""scripts/ensure_system_libs.sh: what it does when bpy's system libraries are missing.

The missing-library case cannot be produced for real here without uninstalling system packages, so
`dpkg-query` and `id` are replaced by stand-ins on PATH (a mock, for that reason only); the present case
runs against the real system.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts/ensure_system_libs.sh"


def _stand_in(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def test_present_libraries_pass() -> None:
    result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "all present" in result.stdout


def test_missing_libraries_without_root_print_the_exact_command(tmp_path: Path) -> None:
    # libgl1 and libxi6 "missing", every other package installed; not root
    _stand_in(
        tmp_path,
        "dpkg-query",
        'case "$3" in libgl1|libxi6) exit 1;; *) printf "install ok installed";; esac',
    )
    _stand_in(tmp_path, "id", "echo 1000")
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 1
    assert "sudo apt-get install -y --no-install-recommends libxi6 libgl1" in result.stderr
