"""Retry policies and run deadlines through the API: stored and shown, and refused (422 naming the field) past
what the operator allows or when they make no sense."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.conftest import ApiUser, make_workflow


def workflow(retry: dict[str, Any] | None = None, default: dict[str, Any] | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"key": "echo", "component_type": "python_call",
                            "config": {"callable": "tests.integration.conftest:echo"}}
    if retry is not None:
        node["retry"] = retry
    body: dict[str, Any] = {"name": "retrying", "nodes": [{"key": "t", "component_type": "trigger_schedule"}, node],
                            "edges": [{"source": "t", "target": "echo"}]}
    if default is not None:
        body["retry"] = default
    return body


def test_a_retry_policy_is_stored_with_its_defaults(client: TestClient, alice: ApiUser) -> None:
    created = client.post("/api/v1/workflows", json=workflow({"max_attempts": 4}, default={"max_attempts": 2}),
                          headers=alice.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["retry"] == {"max_attempts": 2, "initial_interval_seconds": 1.0, "backoff_coefficient": 2.0,
                             "max_interval_seconds": None}
    assert [node["retry"] for node in body["nodes"]] == [
        None, {"max_attempts": 4, "initial_interval_seconds": 1.0, "backoff_coefficient": 2.0,
               "max_interval_seconds": None}]


@pytest.mark.parametrize(("retry", "field"), [
    ({"max_attempts": 11}, "nodes.1.retry.max_attempts"),  # above RQFLOW_RETRY_MAX_ATTEMPTS (10)
    ({"max_attempts": 0}, "nodes.1.retry.max_attempts"),
    ({"max_attempts": 2, "backoff_coefficient": 0.5}, "nodes.1.retry.backoff_coefficient"),
    ({"max_attempts": 2, "initial_interval_seconds": 10, "max_interval_seconds": 5}, "nodes.1.retry"),
    ({"max_attempts": 2, "jitter": 1}, "nodes.1.retry.jitter"),
])
def test_a_bad_retry_policy_is_refused_naming_the_field(
    client: TestClient, alice: ApiUser, retry: dict[str, Any], field: str
) -> None:
    answer = client.post("/api/v1/workflows", json=workflow(retry), headers=alice.headers)
    assert answer.status_code == 422, answer.text
    assert field in answer.text
    assert client.get("/api/v1/workflows", headers=alice.headers).json()["total"] == 0


def test_the_operator_widens_the_attempts(client: TestClient, alice: ApiUser, monkeypatch: pytest.MonkeyPatch,
                                          settings: Any) -> None:
    monkeypatch.setattr(settings, "retry_max_attempts", 20)
    answer = client.post("/api/v1/workflows", json=workflow({"max_attempts": 20}), headers=alice.headers)
    assert answer.status_code == 201, answer.text


def test_run_timeout_seconds_is_stored_and_capped(client: TestClient, alice: ApiUser) -> None:
    workflow_id = make_workflow(alice)
    body = {"name": "nightly", "workflow_id": workflow_id, "schedule_type": "interval", "interval_seconds": 3600}
    created = client.post("/api/v1/schedules", json={**body, "run_timeout_seconds": 900}, headers=alice.headers)
    assert created.status_code == 201, created.text
    assert created.json()["run_timeout_seconds"] == 900

    refused = client.post("/api/v1/schedules", json={**body, "run_timeout_seconds": 86401}, headers=alice.headers)
    assert refused.status_code == 422 and "run_timeout_seconds" in refused.text and "86400" in refused.text
    patched = client.patch(f"/api/v1/schedules/{created.json()['id']}", json={"run_timeout_seconds": 10**6},
                           headers=alice.headers)
    assert patched.status_code == 422 and "run_timeout_seconds" in patched.text
    kept = client.get(f"/api/v1/schedules/{created.json()['id']}", headers=alice.headers).json()
    assert kept["run_timeout_seconds"] == 900
