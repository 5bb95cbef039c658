"""What every route needs, as FastAPI dependencies: the server's state (settings, store, job manager, the
model's description) and the bearer-token check."""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass, field
from typing import Annotated, Final

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from server.config import ServerConfig
from server.errors import APIError
from server.jobs import JobManager, JobNotFoundError
from server.parsing import KeypointsParser
from server.schemas import ModelDescription
from server.store import JobRecord, JobStore

HEAVY_AT_ONCE: Final = 2


@dataclass(frozen=True)
class ServerState:
    config: ServerConfig
    store: JobStore
    manager: JobManager
    model: ModelDescription
    # requests that parse or probe at once (CPU and memory heavy); the others wait their turn
    heavy: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(HEAVY_AT_ONCE))
    parser: KeypointsParser = field(default_factory=lambda: KeypointsParser(HEAVY_AT_ONCE))

    @property
    def model_id(self) -> str:
        return f"{self.model.checkpoint}@{self.model.sha256[:12]}"

    @property
    def busy_headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.config.retry_after_s)}

    def record(self, job_id: str) -> JobRecord:
        """The job's record, or a 404 that says why it may be gone."""
        try:
            return self.manager.get(job_id)
        except JobNotFoundError:
            raise APIError(
                404, f"no job {job_id!r} (unknown, or cleaned up after its retention time)"
            ) from None


def get_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.server
    return state


State = Annotated[ServerState, Depends(get_state)]
BEARER = HTTPBearer(auto_error=False, description="required when the server was started with --token")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]


def authorized(state: State, credentials: Credentials) -> None:
    """Every route but health needs the token when the server has one."""
    token = state.config.token
    if token is None:
        return
    given = credentials.credentials if credentials else ""
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise APIError(
            401, "missing or wrong token: send 'Authorization: Bearer TOKEN'", {"WWW-Authenticate": "Bearer"}
        )
