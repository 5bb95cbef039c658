"""The server's settings, each defined once: `python -m server` builds its flags from these fields, and the
add-on reads the port's default from the schema generated from them (blender_addon/options_schema.json)."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from finepose_core.devices import DEFAULT_DEVICE, DEVICE_HELP, DeviceName
from finepose_core.option_specs import option


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


def is_wildcard(host: str) -> bool:
    """0.0.0.0 or ::, which answer on every address of the machine."""
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


class ServerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = option("127.0.0.1", "address to bind; anything but loopback needs --token", metavar="ADDRESS")
    port: int = option(8765, "TCP port", ge=0, le=65535)
    checkpoint: str | None = option(None, "model checkpoint (default: the project's)", metavar="PATH")
    device: DeviceName = option(DEFAULT_DEVICE, DEVICE_HELP)
    workdir: str | None = option(
        None, "uploads and results (default: ~/.cache/finepose/server)", metavar="DIR"
    )
    token: str | None = option(
        None,
        "bearer token clients must send; required off loopback. Other local users can read it in the "
        "process list: prefer $FINEPOSE_TOKEN or --token-file",
        metavar="TOKEN",
    )
    token_file: str | None = option(None, "read the bearer token from this file", metavar="PATH")
    allow_host: str = option(
        "",
        "host names clients may use besides 127.0.0.1, localhost and [::1], comma-separated (the Host and "
        "Origin headers of other names are refused)",
        metavar="NAMES",
    )
    max_upload_mb: float = option(2048.0, "upload size limit in MiB", gt=0.0, le=1024.0**2)
    # a keypoints job: 17 joints × 2 numbers × frames × people, as JSON text
    max_json_mb: float = option(64.0, "keypoints request size limit in MiB", gt=0.0, le=4096.0, cli=False)
    # Work a request may ask for, checked before any of it is done: frames per job (a video's frames in
    # the chosen range, a keypoints job's largest frame index), frames over all people, pixels per frame.
    # the pipeline's own limit (finepose_core.pipeline.MAX_FRAMES, not imported: torch would load at --help)
    max_frames: int = option(100_000, "the most frames one job may cover", ge=1, le=100_000)
    max_person_frames: int = option(
        400_000, "the most frames over all people of a keypoints job", ge=1, le=100_000_000
    )
    max_frame_pixels: int = option(
        7680 * 4320, "the most pixels per video frame (read from the file's header)", ge=1, cli=False
    )
    # Connections: a request's headers must arrive within header_timeout, its body must keep coming
    # (body_timeout between chunks), an idle keep-alive connection is closed after keep_alive_timeout, and
    # connections over max_connections are closed at once, well under the usual 1024 file descriptors.
    header_timeout: float = option(10.0, "seconds for a request's headers", gt=0.0, le=3600.0)
    body_timeout: float = option(30.0, "seconds a request body may pause", gt=0.0, le=3600.0)
    keep_alive_timeout: float = option(5.0, "seconds an idle connection stays open", gt=0.0, le=3600.0)
    max_connections: int = option(256, "connections served at once", ge=4, le=100_000)
    max_queue: int = option(16, "jobs that may wait; more are refused with 503", ge=1, le=10_000)
    keep_days: float = option(7.0, "delete finished jobs older than this many days", gt=0.0)
    max_storage_gb: float = option(20.0, "cap on the work directory in GiB", gt=0.0)
    retry_after_s: int = option(30, "the Retry-After of a 503", ge=1, le=3600, cli=False)
    log_level: Literal["debug", "info", "warning", "error"] = option("info", "how much the server logs")

    @model_validator(mode="after")
    def _safe(self) -> ServerConfig:
        if not is_loopback(self.host) and not self.token:
            raise ValueError(
                f"binding to {self.host} exposes the server beyond this machine: give --token "
                "(clients then send 'Authorization: Bearer TOKEN') or bind to 127.0.0.1"
            )
        return self

    @property
    def allowed_hosts(self) -> frozenset[str]:
        """Host names (without port) this server answers to."""
        names = {"127.0.0.1", "localhost", "[::1]", *(n.strip().lower() for n in self.allow_host.split(","))}
        if not is_wildcard(self.host):
            names.add(f"[{self.host}]" if ":" in self.host else self.host.lower())
        return frozenset(n for n in names if n)

    @property
    def work_directory(self) -> Path:
        return Path(self.workdir) if self.workdir else default_workdir()

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024**2)

    @property
    def max_json_bytes(self) -> int:
        return int(self.max_json_mb * 1024**2)

    @property
    def max_age_s(self) -> float:
        return self.keep_days * 86400.0

    @property
    def max_storage_bytes(self) -> int:
        return int(self.max_storage_gb * 1024**3)
