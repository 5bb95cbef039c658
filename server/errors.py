"""Errors as the API answers them: a JSON body {"detail": "..."} that says what to change, and the documented
error responses of the routes."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from finepose_core.option_specs import describe_errors
from server.schemas import ErrorBody

log = logging.getLogger(__name__)

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing or wrong bearer token"},
    403: {"model": ErrorBody, "description": "a Host or Origin this server does not answer to"},
    404: {"model": ErrorBody, "description": "no such job"},
}
SUBMIT_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "malformed multipart body or missing video"},
    401: ERRORS[401],
    403: ERRORS[403],
    413: {"model": ErrorBody, "description": "over a limit: upload size, frame size, frames per job"},
    415: {"model": ErrorBody, "description": "not a video, or an unsupported content type"},
    422: {"model": ErrorBody, "description": "invalid options: which field and why"},
    503: {"model": ErrorBody, "description": "the queue is full; retry after Retry-After seconds"},
    507: {"model": ErrorBody, "description": "the work directory is full or cannot be written"},
}


class APIError(Exception):
    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers


async def _api_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, APIError)
    return JSONResponse({"detail": error.detail}, error.status, headers=error.headers)


async def _invalid_request(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return JSONResponse({"detail": describe_errors(error)}, 422)


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse({"detail": f"internal error ({type(error).__name__}); see the server log"}, 500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(APIError, _api_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(Exception, _unexpected)
