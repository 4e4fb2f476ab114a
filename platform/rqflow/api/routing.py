"""Routes of the API: a router whose paths answer with and without a trailing slash, and its route class.

FastAPI's default answers the other form with a 307, which ``curl -X POST``
without ``-L`` and many HTTP clients do not follow for a POST.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from rqflow.api.json_body import SafeJsonRequest


class RqflowRoute(APIRoute):
    """A route that reads its body with :class:`SafeJsonRequest` (``include_router`` keeps its handler).

    A route that takes a body refuses one sent under another type than JSON before FastAPI
    reads it, so the answer says which header to send instead of "not a valid dictionary".
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_body = self.body_field is not None

        async def safe_handler(request: Request) -> Response:
            safe = SafeJsonRequest(request.scope, request.receive)
            if takes_body:
                await safe.require_json_type()
            return await handler(safe)

        return safe_handler


class SlashTolerantRouter(APIRouter):
    """Registers every route at ``/path`` and, hidden from the docs, at ``/path/``, as :class:`RqflowRoute`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("route_class", RqflowRoute)
        super().__init__(**kwargs)

    def add_api_route(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        base = path.rstrip("/")
        super().add_api_route(base, endpoint, **kwargs)
        hidden = {**kwargs, "include_in_schema": False, "operation_id": None}
        super().add_api_route(base + "/", endpoint, **hidden)
