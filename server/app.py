"""The HTTP API (FastAPI), versioned under /v1: the app around a loaded pipeline. The routes live in
`server/routes/` and stay thin: intake, the job queue and the store do the work; what they share comes in
as dependencies (`server/state.py`). Every error is a JSON body {"detail": "..."} that says what to change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.utils import get_openapi

from finepose_core.pipeline import Pipeline
from server import __version__
from server.config import ServerConfig, is_wildcard
from server.errors import install_error_handlers
from server.guard import RequestGuard
from server.jobs import JobManager, Retention
from server.routes import info, jobs
from server.schemas import KeypointsJobRequest, ModelDescription
from server.state import ServerState
from server.store import JobStore


def create_app(config: ServerConfig, pipeline: Pipeline) -> FastAPI:
    """The app around a loaded pipeline; the job worker starts and stops with the app."""
    store = JobStore(config.work_directory)
    retention = Retention(config.max_age_s, config.max_storage_bytes)
    manager = JobManager(store, pipeline, config.max_queue, retention)
    state = ServerState(config, store, manager, ModelDescription(**pipeline.describe()))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        manager.start()
        yield
        state.parser.close()
        await run_in_threadpool(manager.stop)

    app = FastAPI(
        title="FinePOSE local server",
        version=__version__,
        description="Video (or 2D keypoints) of people → 3D joints (finepose.result/1), one job at a time.",
        lifespan=lifespan,
    )
    app.state.server = state
    app.add_middleware(
        RequestGuard,
        hosts=config.allowed_hosts,
        port=config.port,
        check_host=not is_wildcard(config.host),  # on every address: the token guards it (required there)
        token=config.token,
    )
    install_error_handlers(app)
    app.include_router(info.router)
    app.include_router(jobs.router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            extra = KeypointsJobRequest.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(extra.pop("$defs", {}))
            components["KeypointsJobRequest"] = extra
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
