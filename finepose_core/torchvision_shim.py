"""Make PyPI's CUDA build of torchvision importable next to a CPU build of torch.

Why: the project pins torch 2.13.0. On a machine without CUDA that is the CPU build, but PyPI only has a
CUDA build of torchvision 0.28.0. Its compiled extension (`torchvision/_C.so`) then fails to load, which
torchvision tolerates, but `torchvision/_meta_registrations.py` still registers fake kernels for
`torchvision::nms` and `torchvision::qnms` at import time, and that stops the import with
``RuntimeError: operator torchvision::nms does not exist``. open_clip imports torchvision unconditionally
(for its image transforms), so without this shim no CLIP text encoder can be loaded.

What: when, and only when, torchvision's own compiled operators are unavailable, declare the schemas of
those two operators with `torch.library` before torchvision is first imported. The schemas carry no kernel:
torchvision and open_clip import and work, and `torchvision.ops.nms` fails with a clear error if anyone
calls it (the project never does). Where the extension loads (a matching CUDA torch, a source build), the
real operators are registered by the extension and nothing here runs.

Call `ensure_torchvision_importable()` before importing torchvision or open_clip; this module is the only
place in the project that knows about this.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path

import torch

log = logging.getLogger(__name__)

# Operators for which torchvision registers fake (meta) kernels at import time, with the signatures its
# C++ extension declares for them (csrc/ops/nms.cpp, csrc/ops/quantized/cpu/qnms_kernel.cpp).
_SCHEMAS = {
    "nms": "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}


def _operator_defined(name: str) -> bool:
    try:
        torch._C._get_schema(f"torchvision::{name}", "")
    except RuntimeError:
        return False
    return True


def _try_load_extension() -> bool:
    """Load torchvision's compiled operators the way torchvision itself would; True when they loaded."""
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return False
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    for library in sorted(package_dir.glob("_C*.so")) + sorted(package_dir.glob("_C*.pyd")):
        try:
            torch.ops.load_library(str(library))  # type: ignore[no-untyped-call]
        except (OSError, RuntimeError) as error:
            log.debug("torchvision extension %s does not load: %s", library, error)
            return False
        return _operator_defined("nms")
    return False


def ensure_torchvision_importable() -> bool:
    """Declare the missing torchvision operator schemas if (and only if) they are missing.

    Returns True when the shim was applied, False when nothing was needed (torchvision absent, already
    imported, or its own extension provides the operators). Safe to call any number of times.
    """
    if "torchvision" in sys.modules or importlib.util.find_spec("torchvision") is None:
        return False
    if all(_operator_defined(name) for name in _SCHEMAS) or _try_load_extension():
        return False
    for name, schema in _SCHEMAS.items():
        if not _operator_defined(name):
            # torch.library.define keeps the registration alive for the life of the process.
            torch.library.define(f"torchvision::{name}", schema)
    log.info(
        "torchvision's compiled operators are unavailable (CUDA build next to CPU torch): declared "
        "schemas for %s so that torchvision and open_clip import; torchvision.ops stays unusable",
        ", ".join(_SCHEMAS),
    )
    return True
