"""Observability of the web process: request ids, request latency and ``GET /metrics``.

``/metrics`` answers from a registry of the app's own, not prometheus_client's
global one: each app (and each test's app) has its own histogram, and the
scrape-time collector of cross-process figures is registered only where it is served.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from rqflow.broker.figures import read_figures, scrape_client
from rqflow.db import get_engine
from rqflow.observability.collector import RqflowCollector
from rqflow.observability.http_metrics import RequestLatency, request_histogram
from rqflow.observability.request_id import RequestId
from rqflow.settings import Settings

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus text format; no authentication, like /livez (serve it on an internal network)."""
    return Response(generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST)


def instrument(app: FastAPI, settings: Settings) -> None:
    """Add the request-id and latency middleware and the ``/metrics`` route to ``app``."""
    registry = CollectorRegistry()
    redis = scrape_client(settings.redis_url)
    registry.register(RqflowCollector(settings, engine=lambda: get_engine(settings.database_url, interactive=True),
                                      redis=lambda: read_figures(redis, settings)))
    app.state.metrics_registry = registry
    app.add_middleware(RequestLatency, histogram=request_histogram(registry))
    app.add_middleware(RequestId)  # added last, so outermost: its id is bound for everything inside
    app.include_router(router)
