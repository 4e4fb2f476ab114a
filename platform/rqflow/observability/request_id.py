"""``X-Request-ID``: taken from the request (or made up), echoed on the response, bound to every log line.

A caller (or a proxy in front) that sends an id can find the API's lines for
its request; one that does not still gets an id back to quote. An incoming id
is only trusted if it is short and plain, since it ends up in logs.
"""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rqflow.observability.context import log_context

HEADER = "X-Request-ID"
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestId:
    """ASGI middleware: bind the request id for the request's lifetime and return it in the response headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(Headers(scope=scope).get(HEADER))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        with log_context(request_id=request_id):
            await self.app(scope, receive, send_with_id)


def request_id_of(incoming: str | None) -> str:
    """The caller's id if it is acceptable, else a fresh one."""
    if incoming and _ACCEPTABLE.match(incoming):
        return incoming
    return uuid.uuid4().hex
