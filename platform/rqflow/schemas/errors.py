"""Refusals on the wire: ``ErrorPublic``, the body of every 4xx and 503 the REST API answers."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    """One problem, shaped as FastAPI shapes a validation error (it may carry ``input`` and ``ctx`` too)."""

    loc: list[str | int] = Field(description="Where: 'body', 'query' or 'path', then the field's path.")
    msg: str
    type: str


class ErrorPublic(BaseModel):
    """A refused request: ``message`` says what is wrong, ``field`` where (null: the request as a whole)."""

    detail: list[ErrorDetail] | str = Field(description="The problems found; a text for routing errors (404, 405).")
    message: str
    field: str | None
