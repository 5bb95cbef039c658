"""The server's settings (the `python -m server` flags)."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PORT = 8765


def default_workdir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "finepose" / "server"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    checkpoint: str | None = None  # default: the project's checkpoint
    device: str = "auto"
    workdir: Path = field(default_factory=default_workdir)
    token: str | None = None
    max_upload_bytes: int = 2 * 1024**3
    max_json_bytes: int = 256 * 1024**2  # a keypoints job: 17 joints × 2 floats × frames × people
    max_queue: int = 16
    max_age_days: float = 7.0
    max_storage_gb: float = 20.0
    retry_after_s: int = 30

    def __post_init__(self) -> None:
        if not is_loopback(self.host) and not self.token:
            raise ValueError(
                f"binding to {self.host} exposes the server beyond this machine: give --token "
                "(clients then send 'Authorization: Bearer TOKEN') or bind to 127.0.0.1"
            )
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be within 0–65535, got {self.port}")
        if self.max_upload_bytes < 1 or self.max_queue < 1:
            raise ValueError("the upload limit and the queue size must be positive")
