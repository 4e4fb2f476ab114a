"""``/livez`` and ``/readyz``, for process managers and load balancers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from rqflow.broker.connection import BrokerError, ping
from rqflow.db import get_engine

router = APIRouter(tags=["health"])


@router.get("/livez")
def livez() -> dict[str, str]:
    """The process is up (it checks nothing else)."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """The database and Redis both answer; 503 naming the failing one otherwise."""
    settings = request.app.state.settings
    checks: dict[str, Any] = {"database": _check_database(settings.database_url), "redis": _check_redis(settings.redis_url)}
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503)


def _check_database(url: str) -> str:
    try:
        with get_engine(url, interactive=True).connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


def _check_redis(url: str) -> str:
    try:
        ping(url)
    except (BrokerError, OSError) as exc:
        return f"error: {type(exc).__name__}"
    return "ok"
