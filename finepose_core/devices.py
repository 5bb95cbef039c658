"""Where the model runs: the choices every command offers, and what "auto" means.

torch is imported only when a device is resolved, so that the server's settings (which use the choices)
stay quick to import.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Final, Literal, get_args

if TYPE_CHECKING:
    import torch

DeviceName = Literal["auto", "cpu", "cuda"]
DEVICES: Final[tuple[str, ...]] = get_args(DeviceName)
DEFAULT_DEVICE: Final[DeviceName] = "auto"
DEVICE_HELP: Final = "where the model runs: auto (a CUDA GPU when torch sees one, else the CPU), cpu or cuda"


def resolve_device(name: str) -> torch.device:
    """`auto` → cuda when torch sees a GPU, else cpu; asking for cuda without one is an error."""
    import torch

    if name not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {name!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was requested but torch sees no CUDA GPU; use 'cpu' or 'auto'")
    return torch.device(name)


def add_device_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default=DEFAULT_DEVICE, choices=DEVICES, help=DEVICE_HELP)
