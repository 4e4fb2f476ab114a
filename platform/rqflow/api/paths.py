"""Request paths holding a control character (``%00``, ``%0A``, ...) answer 404 before routing.

No id rqflow hands out holds one, and two things go wrong if they reach a route:
Starlette ends each route's pattern with ``$``, which also matches before a final
newline (``GET /api/v1/schedules/%0A`` would answer the *list*), and PostgreSQL
refuses NUL in a query parameter where SQLite looks the id up (a 500 on one, a
404 on the other).
"""

from __future__ import annotations

import re

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class RefuseControlCharacters:
    """ASGI middleware: 404 for a path with a control character, in the API's error shape."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _CONTROL.search(scope["path"]):
            message = "no such path: it holds a control character"
            response = JSONResponse({"detail": "Not Found", "message": message, "field": None}, status_code=404)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
