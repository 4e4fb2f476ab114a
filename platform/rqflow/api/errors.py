"""Domain errors to HTTP answers. The body always names the field and the problem."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from sqlalchemy.exc import IntegrityError, OperationalError

from rqflow.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    NotFound,
    RqflowError,
    ServiceUnavailable,
)

log = logging.getLogger(__name__)

STATUS_BY_ERROR: list[tuple[type[RqflowError], int]] = [
    (NotFound, 404),
    (InvalidInput, 422),
    (Conflict, 409),
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
    return JSONResponse(_body(exc.message, exc.field, type(exc).__name__), status_code=status, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = jsonable_encoder(exc.errors(), custom_encoder={ValueError: str})
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    field = ".".join(str(part) for part in first["loc"][1:]) or None
    message = f"{field}: {first['msg']}" if field else str(first["msg"])
    return JSONResponse({"detail": errors, "message": message, "field": field}, status_code=422)


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
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(OperationalError, _unavailable)
    app.add_exception_handler(RedisError, _unavailable)
