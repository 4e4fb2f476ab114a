"""Request bodies read with :func:`~rqflow.schemas.json_values.loads_safe`, so nothing unstorable gets in.

FastAPI parses a JSON body with ``Request.json()`` and turns any error but a syntax
error into a bare 400; an :class:`~rqflow.api.routing.RqflowRoute` hands it a
:class:`SafeJsonRequest`, whose ``json()`` refuses ``NaN``, lone surrogates and deep
nesting as :class:`UnsafeBody`, which the error handlers answer with 422 naming the field.

Two mistakes a newcomer's first ``curl`` makes get answers of their own, both naming
the field ``body``: a body sent without ``Content-Type: application/json`` (``curl -d``
sends a form type, which FastAPI would read as bytes and refuse as "not a valid
dictionary") is :class:`NotJsonBody`, 415; and a syntax error, which FastAPI would
report at a character offset, is :class:`InvalidJsonBody`, 422, with the parser's
reason, line and column.
"""

from __future__ import annotations

import email.message
import json
from typing import Any

from fastapi import HTTPException, Request

from rqflow.schemas.json_values import UnsafeJson, loads_safe


class UnsafeBody(HTTPException):
    """A body that is JSON but not storable; an HTTPException because FastAPI passes only those on."""

    def __init__(self, error: UnsafeJson) -> None:
        super().__init__(status_code=422, detail=str(error))
        self.field = error.field


class InvalidJsonBody(HTTPException):
    """A body that does not parse as JSON; the message says why and where, by line and column."""

    def __init__(self, error: json.JSONDecodeError) -> None:
        detail = f"the body is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        super().__init__(status_code=422, detail=detail)


class NotJsonBody(HTTPException):
    """A body sent without a JSON content type, which the routes would not read as JSON."""

    def __init__(self, content_type: str | None) -> None:
        sent = f"this request's is {content_type[:100]!r}" if content_type else "this request has none"
        super().__init__(status_code=415, detail=(
            f"send the body as JSON with the header `Content-Type: application/json` ({sent})"))


class SafeJsonRequest(Request):
    """A request whose JSON body is read by ``loads_safe``."""

    async def json(self) -> Any:
        """The parsed body, or :class:`UnsafeBody` / :class:`InvalidJsonBody`."""
        if not hasattr(self, "_json"):
            try:
                self._json = loads_safe(await self.body())
            except UnsafeJson as exc:
                raise UnsafeBody(exc) from exc
            except json.JSONDecodeError as exc:
                raise InvalidJsonBody(exc) from exc
        return self._json

    async def require_json_type(self) -> None:
        """Raise :class:`NotJsonBody` if a body was sent under a type that is not JSON (or under none).

        FastAPI reads a body as JSON only under ``application/json`` or ``application/*+json``; the
        same test here, so a body the route would have read is never refused.
        """
        content_type = self.headers.get("content-type")
        if not is_json_type(content_type) and await self.body():
            raise NotJsonBody(content_type)


def is_json_type(content_type: str | None) -> bool:
    """Whether FastAPI reads a body of this type as JSON (``application/json``, ``application/*+json``)."""
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))
