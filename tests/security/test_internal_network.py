"""Finding 2 (high): workflows reached loopback and private addresses, and told closed ports from open ones.

A recorder listens on loopback and counts every connection it accepts. With the default
settings (no ``RQFLOW_EGRESS_ALLOW``), every spelling of its address is refused when the
workflow is saved (a literal URL) or when it runs (a URL from a template), and the recorder
sees nothing. An operator who opens loopback gets exactly one connection per request, and a
closed port and the Redis port fail with the same message.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.conftest import Stack
from tests.e2e.test_http_api import create_user_token
from tests.helpers import wait_for
from tests.loopback_server import LoopbackServer, http_answer
from tests.security.test_code_execution import run_now

pytestmark = pytest.mark.e2e

# The recorder's address in every spelling that reaches it; {port} is filled in.
SPELLINGS = ["http://127.0.0.1:{port}/", "http://localhost:{port}/", "http://127.1:{port}/",
             "http://0x7f000001:{port}/", "http://2130706433:{port}/", "http://[::ffff:127.0.0.1]:{port}/",
             "http://0.0.0.0:{port}/", "http://127.0.0.1.:{port}/", "http://LOCALHOST:{port}/"]


@pytest.fixture
def recorder() -> Iterator[LoopbackServer]:
    """Counts the connections it accepts on 127.0.0.1 and answers each with HTTP 200."""
    with LoopbackServer(http_answer("200 OK", b"secret")) as server:
        yield server


def fetcher(url: str) -> dict[str, Any]:
    return {
        "name": "fetch",
        "nodes": [{"key": "t", "component_type": "trigger_schedule", "config": {}},
                  {"key": "get", "component_type": "http_request", "config": {"method": "GET", "url": url}}],
        "edges": [{"source": "t", "target": "get"}],
    }


def api_client(stack: Stack, web_env: dict[str, str]) -> httpx.Client:
    base = stack.start_web(env=web_env)
    token = create_user_token(stack, "mallory")
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_literal_internal_urls_are_refused_when_saved(
    stack: Stack, database_url: str, recorder: LoopbackServer
) -> None:
    with api_client(stack, {"RQFLOW_EGRESS_ALLOW": ""}) as api:
        for spelling in SPELLINGS:
            refused = api.post("/api/v1/workflows", json=fetcher(spelling.format(port=recorder.port)))
            assert refused.status_code == 422, (spelling, refused.text)
            assert refused.json()["field"] == "nodes.1.config.url", refused.text
        agent = {"name": "a", "nodes": [{"key": "t", "component_type": "trigger_schedule", "config": {}}, {
            "key": "ask", "component_type": "agent",
            "config": {"prompt": "hi", "base_url": f"http://127.1:{recorder.port}/v1"}}],
            "edges": [{"source": "t", "target": "ask"}]}
        refused = api.post("/api/v1/workflows", json=agent)
        assert refused.status_code == 422 and refused.json()["field"] == "nodes.1.config.base_url", refused.text
        assert api.get("/api/v1/workflows").json()["total"] == 0
    assert recorder.connections == 0


def test_templated_internal_urls_are_refused_when_they_run(stack: Stack, database_url: str,
                                                           recorder: LoopbackServer) -> None:
    stack.start_worker(env={"RQFLOW_EGRESS_ALLOW": ""})
    with api_client(stack, {"RQFLOW_EGRESS_ALLOW": ""}) as api:
        stack.wait_workers()
        saved = api.post("/api/v1/workflows", json=fetcher("{{ event.payload.url }}"))
        assert saved.status_code == 201, saved.text
        errors = {}
        for spelling in SPELLINGS:
            url = spelling.format(port=recorder.port)
            errors[url] = run_now(api, saved.json()["id"], payload={"url": url})["node_runs"][-1]["error"]
    assert recorder.connections == 0, "a workflow reached the recorder on loopback"
    for url, error in errors.items():
        assert "not a public address" in error and "RQFLOW_EGRESS_ALLOW" in error, (url, error)
        assert "secret" not in error


def test_an_operator_opens_loopback_and_closed_and_open_ports_fail_alike(
    stack: Stack, database_url: str, recorder: LoopbackServer
) -> None:
    stack.start_worker(env={"RQFLOW_EGRESS_ALLOW": "127.0.0.1/32"})
    closed = socket.create_server(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    redis_port = urlsplit(stack.redis_url).port
    with api_client(stack, {"RQFLOW_EGRESS_ALLOW": "127.0.0.1/32"}) as api:
        stack.wait_workers()
        saved = api.post("/api/v1/workflows", json=fetcher("{{ event.payload.url }}"))
        assert saved.status_code == 201, saved.text
        opened = run_now(api, saved.json()["id"], payload={"url": f"http://127.0.0.1:{recorder.port}/"})
        scans = {port: run_now(api, saved.json()["id"], payload={"url": f"http://127.0.0.1:{port}/"})
                 for port in (closed_port, redis_port)}
    assert opened["status"] == "succeeded" and opened["node_runs"][-1]["output"]["body"] == "secret"
    wait_for(lambda: recorder.connections == 1, timeout=5, what="the recorder to count the one request")
    closed_error, redis_error = (scans[port]["node_runs"][-1]["error"].replace(str(port), "PORT")
                                 for port in (closed_port, redis_port))
    assert closed_error == redis_error, "the error tells a closed port from the Redis port"
    assert "got no HTTP answer" in closed_error
