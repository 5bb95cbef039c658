"""Connection limits that uvicorn does not have: a deadline for a request's headers, a pause limit for its
body, and a cap on open connections (new ones over it are closed at once).

Without them a client could hold connections open indefinitely with half-sent requests until the process
ran out of file descriptors, at which point every accept failed and was logged. The HTTP/1.1 protocol of
uvicorn is extended rather than replaced, so parsing and the ASGI cycle stay uvicorn's.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)


@dataclass
class ConnectionLimits:
    header_timeout: float
    body_timeout: float
    max_connections: int
    warn_every_s: float = 60.0
    # per server, so that a flood of refused connections logs one line a minute
    last_warning: float = field(default=-1e9)

    @property
    def tick(self) -> float:
        return max(0.2, min(self.header_timeout, self.body_timeout) / 4)


def limited_protocol(limits: ConnectionLimits) -> type[H11Protocol]:
    """uvicorn's HTTP/1.1 protocol class with `limits` applied to every connection."""

    class LimitedH11Protocol(H11Protocol):
        _watch: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)  # type: ignore[arg-type]
            now = self.loop.time()
            if len(self.connections) > limits.max_connections:
                if now - limits.last_warning > limits.warn_every_s:
                    limits.last_warning = now
                    log.warning(
                        "over %d open connections: new ones are closed at once (--max-connections)",
                        limits.max_connections,
                    )
                self.transport.close()
                return
            self._last_data = now
            self._phase: tuple[Any, int] = (None, 0)
            self._phase_since = now
            self._watch = self.loop.call_later(limits.tick, self._check)

        def connection_lost(self, exc: Exception | None) -> None:
            if self._watch is not None:
                self._watch.cancel()
                self._watch = None
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            self._last_data = self.loop.time()
            super().data_received(data)

        def _check(self) -> None:
            self._watch = None
            if self.transport.is_closing():
                return
            now = self.loop.time()
            state = self.conn.their_state
            phase = (state, id(self.cycle))
            if phase != self._phase:  # a new request, or the next step of this one
                self._phase, self._phase_since = phase, now
            waiting_headers = state is h11.IDLE and now - self._phase_since > limits.header_timeout
            body_stalled = (
                state is h11.SEND_BODY
                and not self.flow.read_paused  # a paused read is the app's doing, not the client's
                and now - self._last_data > limits.body_timeout
            )
            if waiting_headers or body_stalled:
                log.debug("closing %s: %s", self.client, "no headers" if waiting_headers else "stalled body")
                if self.cycle is not None and not self.cycle.response_complete:
                    self.cycle.disconnected = True
                    self.cycle.message_event.set()
                self.transport.close()
                return
            self._watch = self.loop.call_later(limits.tick, self._check)

    return LimitedH11Protocol
