"""Domain errors to HTTP answers. The body always names the field and the problem."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from rqflow.api.body_limit import BodyTooLarge
from rqflow.api.json_body import UnsafeBody
from rqflow.broker.connection import BrokerError
from rqflow.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    NotFound,
    RateLimited,
    RqflowError,
    ServiceUnavailable,
)
from rqflow.schemas.errors import ErrorPublic

log = logging.getLogger(__name__)

# What the OpenAPI document says a resource route may answer besides its success (the fuzz tests hold it to it).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorPublic, "description": text} for code, text in [
        (401, "Missing or invalid API token."),
        (404, "No such object, or not yours."),
        (409, "The request conflicts with the object's state."),
        (413, "The request body is over RQFLOW_MAX_REQUEST_BODY_BYTES."),
        (422, "Invalid input; `field` names it."),
        (429, "Too many requests of this kind; `Retry-After` says when to try again."),
        (503, "The database or Redis is unavailable; retry later."),
    ]
}

STATUS_BY_ERROR: list[tuple[type[RqflowError], int]] = [
    (NotFound, 404),
    (InvalidInput, 422),
    (Conflict, 409),
    (RateLimited, 429),
    (AuthenticationFailed, 401),
    (ServiceUnavailable, 503),
]


def _body(message: str, field: str | None, kind: str) -> dict[str, object]:
    loc = ["body", *field.split(".")] if field else []
    return {"detail": [{"loc": loc, "msg": message, "type": kind}], "message": message, "field": field}


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RqflowError)
    status = next((code for cls, code in STATUS_BY_ERROR if isinstance(exc, cls)), 400)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
    return JSONResponse(_body(exc.message, exc.field, type(exc).__name__), status_code=status, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = jsonable_encoder(exc.errors(), custom_encoder={ValueError: str})
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    field = ".".join(str(part) for part in first["loc"][1:]) or None
    message = f"{field}: {first['msg']}" if field else str(first["msg"])
    return JSONResponse({"detail": errors, "message": message, "field": field}, status_code=422)


async def _unsafe_body(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UnsafeBody)
    message = f"{exc.field}: {exc.detail}" if exc.field else str(exc.detail)
    return JSONResponse(_body(message, exc.field, "UnsafeJson"), status_code=422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own answers (404 for no route, 405, 413), with ``message`` and ``field`` as every answer."""
    assert isinstance(exc, HTTPException)
    message = str(exc.detail)
    if isinstance(exc, BodyTooLarge):
        message = f"the request body is larger than {exc.limit} bytes (RQFLOW_MAX_REQUEST_BODY_BYTES)"
    body = {"detail": exc.detail, "message": message, "field": None}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    log.info("integrity error: %s", exc)
    return JSONResponse(_body("the request conflicts with existing data", None, "Conflict"), status_code=409)


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("backing service unavailable: %s", exc)
    body = _body("a backing service (database or Redis) is unavailable; retry later", None, "ServiceUnavailable")
    return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})


def install_error_handlers(app: FastAPI) -> None:
    """Map every domain error and backing-service failure to a clear 4xx/503, never a bare 500."""
    app.add_exception_handler(RqflowError, _domain_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(UnsafeBody, _unsafe_body)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(OperationalError, _unavailable)  # database down, locked, or a statement timed out
    app.add_exception_handler(InterfaceError, _unavailable)  # the connection closed under the request
    app.add_exception_handler(PoolTimeout, _unavailable)  # no pooled connection came free in time
    app.add_exception_handler(BrokerError, _unavailable)
