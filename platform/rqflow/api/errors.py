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
from rqflow.api.json_body import InvalidJsonBody, NotJsonBody, UnsafeBody
from rqflow.broker.connection import BrokerError
from rqflow.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    NotFound,
    RateLimited,
    RqflowError,
    ScheduleNotFound,
    ServiceUnavailable,
    TokenNotFound,
    WorkflowNotFound,
    WorkflowRunNotFound,
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
        (415, "A body sent without `Content-Type: application/json`; `field` is `body`."),
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


# The path parameter that names each kind of object: a route that takes one and cannot find the object
# says so of the path parameter (``["path", "schedule_id"]``), not of a body field the request never had.
PATH_PARAMETER: list[tuple[type[NotFound], str]] = [
    (ScheduleNotFound, "schedule_id"),
    (WorkflowNotFound, "workflow_id"),
    (WorkflowRunNotFound, "run_id"),
    (TokenNotFound, "token_id"),
]


def _body(message: str, field: str | None, kind: str, loc: list[str] | None = None) -> dict[str, object]:
    """The answer's shape; ``loc`` defaults to the field's place in the body."""
    if loc is None:
        loc = ["body", *field.split(".")] if field else []
    return {"detail": [{"loc": loc, "msg": message, "type": kind}], "message": message, "field": field}


def _where(request: Request, exc: RqflowError) -> tuple[str | None, list[str] | None]:
    """The field and ``loc`` of a domain error: a missing object named by the path is the path parameter."""
    if isinstance(exc, NotFound):
        name = next((param for cls, param in PATH_PARAMETER if isinstance(exc, cls)), exc.field)
        if name is not None and name in request.path_params:
            return name, ["path", name]
    return exc.field, None


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RqflowError)
    status = next((code for cls, code in STATUS_BY_ERROR if isinstance(exc, cls)), 400)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
    field, loc = _where(request, exc)
    return JSONResponse(_body(exc.message, field, type(exc).__name__, loc), status_code=status, headers=headers)


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


async def _unreadable_body(request: Request, exc: Exception) -> JSONResponse:
    """A body not sent as JSON (415) or not parsing as JSON (422): the body as a whole is the field."""
    assert isinstance(exc, InvalidJsonBody | NotJsonBody)
    return JSONResponse(_body(str(exc.detail), "body", type(exc).__name__, ["body"]), status_code=exc.status_code)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own answers (404 for no route, 405, 413), with ``message`` and ``field`` as every answer."""
    assert isinstance(exc, HTTPException)
    message = str(exc.detail)
    field = None
    if isinstance(exc, BodyTooLarge):
        message = (f"the request body is larger than {exc.limit:,} bytes (RQFLOW_MAX_REQUEST_BODY_BYTES): send "
                   "less (a workflow's nodes, a trigger payload), or ask the operator to raise the limit")
        field = "body"
    body = {"detail": exc.detail, "message": message, "field": field}
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
    app.add_exception_handler(InvalidJsonBody, _unreadable_body)
    app.add_exception_handler(NotJsonBody, _unreadable_body)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(OperationalError, _unavailable)  # database down, locked, or a statement timed out
    app.add_exception_handler(InterfaceError, _unavailable)  # the connection closed under the request
    app.add_exception_handler(PoolTimeout, _unavailable)  # no pooled connection came free in time
    app.add_exception_handler(BrokerError, _unavailable)
