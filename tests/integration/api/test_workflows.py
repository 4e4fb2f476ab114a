"""/api/v1/workflows and /api/v1/workflow-runs on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.conftest import WORKFLOW, ApiUser

API = "/api/v1/workflows"


def test_create_get_list_update_delete(client: TestClient, alice: ApiUser) -> None:
    created = client.post(API, json=WORKFLOW, headers=alice.headers)
    assert created.status_code == 201, created.text
    data = created.json()
    assert [n["key"] for n in data["nodes"]] == ["t", "echo"]
    assert data["edges"] == [{"source": "t", "target": "echo", "kind": "flow"}]
    workflow_id, trigger_id = data["id"], data["nodes"][0]["id"]
    assert client.get(f"{API}/{workflow_id}", headers=alice.headers).json()["name"] == "report"
    assert client.get(API, headers=alice.headers).json()["total"] == 1
    nodes = [*WORKFLOW["nodes"], {"key": "more", "component_type": "python_call", "config": {"callable": "tests.integration.conftest:echo"}}]
    edges = [*WORKFLOW["edges"], {"source": "echo", "target": "more"}]
    patched = client.patch(f"{API}/{workflow_id}", json={"name": "renamed", "nodes": nodes, "edges": edges},
                           headers=alice.headers).json()
    assert patched["name"] == "renamed" and len(patched["nodes"]) == 3
    assert patched["nodes"][0]["id"] == trigger_id  # an unchanged key keeps its id
    assert client.delete(f"{API}/{workflow_id}", headers=alice.headers).status_code == 204
    assert client.get(f"{API}/{workflow_id}", headers=alice.headers).status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"nodes": [{"key": "t", "component_type": "nope", "config": {}}]}, "nodes.0.component_type"),
        ({"nodes": [{"key": "t", "component_type": "http_request", "config": {}}]}, "nodes.0.config.url"),
        ({"edges": [{"source": "t", "target": "ghost"}]}, "edges.0.target"),
        ({"edges": [{"source": "t", "target": "echo"}, {"source": "echo", "target": "t"}]}, "edges"),
        ({"nodes": [{"key": "t", "component_type": "trigger_schedule"}] * 2}, "nodes"),
        ({"nodes": [{"key": "bad key", "component_type": "trigger_schedule"}]}, "nodes.0.key"),
    ],
)
def test_invalid_graphs_are_refused(client: TestClient, alice: ApiUser, change: dict[str, Any], field: str) -> None:
    response = client.post(API, json={**WORKFLOW, **change}, headers=alice.headers)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert client.get(API, headers=alice.headers).json()["total"] == 0


def test_other_users_workflows_are_invisible(client: TestClient, alice: ApiUser, bob: ApiUser) -> None:
    workflow_id = client.post(API, json=WORKFLOW, headers=alice.headers).json()["id"]
    for method in ("GET", "PATCH", "DELETE"):
        kwargs: dict[str, Any] = {"json": {"name": "x"}} if method == "PATCH" else {}
        assert client.request(method, f"{API}/{workflow_id}", headers=bob.headers, **kwargs).status_code == 404
    assert client.get(f"{API}/{workflow_id}/runs", headers=bob.headers).status_code == 404
    assert client.get(API, headers=bob.headers).json()["total"] == 0
    assert client.get(f"{API}/{workflow_id}", headers=alice.headers).json()["name"] == "report"
