"""A cap on request bodies: reading more than ``RQFLOW_MAX_REQUEST_BODY_BYTES`` answers 413.

FastAPI's own ``max_body_size`` answers a declared oversize body with a plain-text
413 that bypasses the error handlers; this one raises :class:`BodyTooLarge` from
``receive``, so the answer is JSON with ``message`` and ``field`` like every other.
A declared ``Content-Length`` over the cap is refused before a byte is read; a body
without one is counted as it streams in. A route that never reads its body is not
affected (nothing is buffered for it).
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """The body is over the cap; an HTTPException because FastAPI passes only those on from body reading."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail="Content Too Large")
        self.limit = limit


class BodySizeLimit:
    """ASGI middleware: ``receive`` raises :class:`BodyTooLarge` once the body passes ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            if declared is not None and declared > self.max_bytes:
                raise BodyTooLarge(self.max_bytes)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited_receive, send)


def _content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    return int(value) if value is not None and value.isdigit() else None
