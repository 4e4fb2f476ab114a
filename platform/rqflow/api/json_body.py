"""Request bodies read with :func:`~rqflow.schemas.json_values.loads_safe`, so nothing unstorable gets in.

FastAPI parses a JSON body with ``Request.json()`` and turns any error but a syntax
error into a bare 400; an :class:`~rqflow.api.routing.RqflowRoute` hands it a
:class:`SafeJsonRequest`, whose ``json()`` refuses ``NaN``, lone surrogates and deep
nesting as :class:`UnsafeBody`, which the error handlers answer with 422 naming the field.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request

from rqflow.schemas.json_values import UnsafeJson, loads_safe


class UnsafeBody(HTTPException):
    """A body that is JSON but not storable; an HTTPException because FastAPI passes only those on."""

    def __init__(self, error: UnsafeJson) -> None:
        super().__init__(status_code=422, detail=str(error))
        self.field = error.field


class SafeJsonRequest(Request):
    """A request whose JSON body is read by ``loads_safe``."""

    async def json(self) -> Any:
        """The parsed body, or :class:`UnsafeBody`; a syntax error stays FastAPI's ``json_invalid``."""
        if not hasattr(self, "_json"):
            try:
                self._json = loads_safe(await self.body())
            except UnsafeJson as exc:
                raise UnsafeBody(exc) from exc
        return self._json
