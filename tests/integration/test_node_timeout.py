"""A node's ``timeout_seconds`` fails the run when the node runs past it, and is kept with the workflow."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from rqflow.db import session_scope
from rqflow.engine.runner import run_workflow
from rqflow.models import NodeRun
from rqflow.services.workflow_graphs import load_graph
from tests.integration.conftest import ApiUser


def slow_workflow(limit: float, seconds: float) -> dict[str, Any]:
    return {
        "name": "slow",
        "nodes": [
            {"key": "t", "component_type": "trigger_schedule", "config": {}},
            {"key": "slow", "component_type": "python_call", "timeout_seconds": limit,
             "config": {"callable": "tests.integration.conftest:pause_for", "kwargs": {"seconds": seconds}}},
        ],
        "edges": [{"source": "t", "target": "slow"}],
    }


def run_once(user: ApiUser, workflow_id: int) -> tuple[str, list[NodeRun]]:
    with session_scope() as db:
        graph = load_graph(db, workflow_id)
        assert graph is not None
        run = run_workflow(db=db, graph=graph, trigger=graph.node("t"), event_type="schedule", event={},
                           owner_id=user.id)
        nodes = list(db.scalars(select(NodeRun).where(NodeRun.workflow_run_id == run.id).order_by(NodeRun.id)))
        return run.status, nodes


def test_a_node_past_its_timeout_fails_the_run(client: TestClient, alice: ApiUser) -> None:
    created = client.post("/api/v1/workflows", json=slow_workflow(0.3, 30), headers=alice.headers)
    assert created.status_code == 201, created.text
    assert [n["timeout_seconds"] for n in created.json()["nodes"]] == [None, 0.3]

    status, nodes = run_once(alice, created.json()["id"])

    assert status == "failed"
    assert nodes[1].status == "failed" and "NodeTimeout" in nodes[1].error and "0.3 s" in nodes[1].error
    assert nodes[1].finished_at is not None and nodes[1].started_at is not None
    assert (nodes[1].finished_at - nodes[1].started_at).total_seconds() < 10


def test_a_node_within_its_timeout_succeeds(client: TestClient, alice: ApiUser) -> None:
    created = client.post("/api/v1/workflows", json=slow_workflow(20, 0.05), headers=alice.headers).json()
    status, nodes = run_once(alice, created["id"])
    assert status == "succeeded" and nodes[1].output == {"slept": 0.05}
    # The trigger node's row is written as it ends; it still starts before it finishes.
    assert all(node.finished_at is not None and node.started_at <= node.finished_at for node in nodes)
    assert nodes[0].finished_at <= nodes[1].started_at  # type: ignore[operator]


def test_a_timeout_out_of_range_is_refused(client: TestClient, alice: ApiUser) -> None:
    response = client.post("/api/v1/workflows", json=slow_workflow(0, 1), headers=alice.headers)
    assert response.status_code == 422 and response.json()["field"] == "nodes.1.timeout_seconds"
