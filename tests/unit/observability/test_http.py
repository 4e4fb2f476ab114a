"""The API middleware: request ids in and out, and latency labelled by route template."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from rqflow.observability.context import current
from rqflow.observability.http_metrics import RequestLatency, request_histogram
from rqflow.observability.request_id import HEADER, RequestId, request_id_of

log = logging.getLogger("rqflow.test.http")


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def client(registry: CollectorRegistry) -> TestClient:
    app = FastAPI()
    seen: list[dict[str, str | int]] = []
    app.state.seen = seen

    @app.get("/things/{thing_id}")
    def thing(thing_id: int) -> dict[str, int]:
        seen.append(current())
        log.info("thing %s", thing_id)
        return {"id": thing_id}

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    app.add_middleware(RequestLatency, histogram=request_histogram(registry))
    app.add_middleware(RequestId)
    return TestClient(app, raise_server_exceptions=False)


def _count(registry: CollectorRegistry, **labels: str) -> float | None:
    return registry.get_sample_value("rqflow_http_request_duration_seconds_count", labels)


def test_latency_is_labelled_by_route_template_method_and_status(client: TestClient,
                                                                 registry: CollectorRegistry) -> None:
    assert client.get("/things/1").status_code == 200
    assert client.get("/things/2").status_code == 200
    assert client.get("/things/x").status_code == 422
    assert client.get("/nowhere/at/all").status_code == 404
    assert client.get("/boom").status_code == 500
    assert _count(registry, method="GET", route="/things/{thing_id}", status="200") == 2
    assert _count(registry, method="GET", route="/things/{thing_id}", status="422") == 1
    assert _count(registry, method="GET", route="unmatched", status="404") == 1
    assert _count(registry, method="GET", route="/boom", status="500") == 1
    assert client.get("/openapi.json").status_code == 200
    assert _count(registry, method="GET", route="/openapi.json", status="200") == 1, "FastAPI's own routes count too"


def test_a_request_id_is_echoed_and_bound_for_the_handler(client: TestClient) -> None:
    response = client.get("/things/5", headers={HEADER: "req-123"})
    assert response.headers[HEADER] == "req-123"
    assert client.app.state.seen == [{"request_id": "req-123"}]  # type: ignore[attr-defined]


def test_a_missing_or_unsafe_id_is_replaced_by_a_fresh_one(client: TestClient) -> None:
    first = client.get("/things/1").headers[HEADER]
    second = client.get("/things/1", headers={HEADER: "bad id\twith spaces"}).headers[HEADER]
    assert len({first, second}) == 2 and all(len(i) == 32 for i in (first, second))
    assert request_id_of("x" * 129) != "x" * 129
