"""The torchvision shim lets open_clip import next to the CPU torch, and does nothing when not needed.

Each case runs in a fresh interpreter: operator registrations and imported modules are process-wide.
"""

from __future__ import annotations

import functools
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=300, check=False
    )


@functools.cache
def _torchvision_extension_loads() -> bool:
    """Whether torchvision's compiled operators load here (a matching CUDA torch or a source build)."""
    probe = _python(
        "import importlib.util, pathlib, torch\n"
        "folder = pathlib.Path(importlib.util.find_spec('torchvision').origin).parent\n"
        "try:\n"
        "    torch.ops.load_library(str(next(folder.glob('_C*.so'))))\n"
        "    print('loads')\n"
        "except Exception:\n"
        "    print('fails')\n"
    )
    return probe.stdout.strip() == "loads"


def test_open_clip_imports_and_tokenizes_after_the_shim() -> None:
    result = _python(
        "from finepose_core.torchvision_shim import ensure_torchvision_importable\n"
        "applied = ensure_torchvision_importable()\n"
        "import open_clip, torchvision\n"
        "from torchvision import transforms\n"
        "tokens = open_clip.get_tokenizer('ViT-B-32')(['a person walks slowly'])\n"
        "print(applied, tuple(tokens.shape), torchvision.__version__.split('+')[0])\n"
        "print(ensure_torchvision_importable())\n"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    first, second = result.stdout.split("\n")[:2]
    applied, *rest = first.split(" ", 1)
    assert rest[0] == "(1, 77) 0.28.0"
    # applied exactly when torchvision's compiled operators cannot load (the CPU torch case)
    assert applied == str(not _torchvision_extension_loads())
    assert second == "False"  # torchvision already imported: nothing more to do


def test_without_the_shim_the_import_fails_on_a_cpu_torch() -> None:
    if _torchvision_extension_loads():
        pytest.skip("torchvision's own operators load on this machine; the shim is not needed here")
    result = _python("import torchvision")
    assert result.returncode != 0
    assert "operator torchvision::nms does not exist" in result.stderr


def test_torchvision_ops_stay_unusable_with_a_clear_error() -> None:
    if _torchvision_extension_loads():
        pytest.skip("torchvision's own operators load on this machine")
    result = _python(
        "from finepose_core.torchvision_shim import ensure_torchvision_importable\n"
        "ensure_torchvision_importable()\n"
        "import torch, torchvision\n"
        "torchvision.ops.nms(torch.zeros(1, 4), torch.zeros(1), 0.5)\n"
    )
    assert result.returncode != 0
    assert "Couldn't load custom C++ ops" in result.stderr
