"""API request latency, by route template, method and status: an in-process histogram of the web process.

The label is the route's template (``/api/v1/schedules/{schedule_id}``), never
the raw path, so the number of series stays bounded by the number of routes;
requests that match no route share ``route="unmatched"``.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Histogram
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "unmatched"


def request_histogram(registry: CollectorRegistry) -> Histogram:
    """The latency histogram, registered in ``registry`` (the app's own, so two apps never collide)."""
    return Histogram("rqflow_http_request_duration_seconds", "Time to answer an API request, by route template.",
                     ["method", "route", "status"], registry=registry)


class RequestLatency:
    """ASGI middleware: time each HTTP request and observe it under its route template."""

    def __init__(self, app: ASGIApp, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees if the app raises before answering

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            labels = (scope["method"], route_template(scope), str(status))
            self.histogram.labels(*labels).observe(time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """The template of the route that answered, else ``unmatched``.

    FastAPI's own routes leave themselves in the scope; plain Starlette routes (``/docs``,
    ``/openapi.json``, the dashboard's static files) do not, and are looked up again.
    """
    route = scope.get("route") or _plain_route(scope)
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(template) if template else UNMATCHED


def _plain_route(scope: Scope) -> BaseRoute | None:
    routes: list[BaseRoute] = getattr(scope.get("app"), "routes", [])
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route
    return None
