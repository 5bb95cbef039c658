"""A free TCP port on loopback, for starting a local server where no port was chosen (the demo, the
benchmarks, the tests)."""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS reports free on `host` right now (another process could still take it before use)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port
