"""What the server runs and how busy it is."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from server import __version__
from server.errors import ERRORS
from server.schemas import Health, ModelDescription
from server.state import State, authorized

router = APIRouter(prefix="/v1")


@router.get("/health", response_model=Health)
def health(state: State) -> Health:
    """Whether the server is up, what it runs on, and how busy it is (no token needed)."""
    return Health(
        status="ok",
        version=__version__,
        device=state.model.device,
        model=state.model_id,
        queue_length=state.manager.queue_length(),
        running=state.manager.running,
        worker=state.manager.worker_state(),
        worker_restarts=state.manager.restarts,
    )


@router.get("/model", response_model=ModelDescription, responses=ERRORS, dependencies=[Depends(authorized)])
def model(state: State) -> ModelDescription:
    """The loaded checkpoint, its text encoder, known prompt texts, body parts and presets."""
    return state.model
