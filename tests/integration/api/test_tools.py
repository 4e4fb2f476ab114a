"""/api/v1/components and /api/v1/tools, and scheduler tools as plain workflow steps."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from rqflow.db import session_scope
from rqflow.engine.runner import run_workflow
from rqflow.models import NodeRun, Schedule
from rqflow.services.workflow_graphs import load_graph
from tests.integration.conftest import ApiUser, make_schedule, make_workflow

TOOLS = "/api/v1/tools"


def cron_input(workflow_id: int, **overrides: Any) -> dict[str, Any]:
    return {"name": "weekday", "workflow_id": workflow_id, "schedule_type": "cron", "cron_expression": "0 9 * * 1-5",
            "timezone": "Europe/Berlin", **overrides}


def schedule_count() -> int:
    with session_scope() as db:
        return db.scalar(select(func.count()).select_from(Schedule)) or 0


def test_components_list_every_node_type_with_palette_and_schema(client: TestClient, alice: ApiUser) -> None:
    response = client.get("/api/v1/components", headers=alice.headers)
    assert response.status_code == 200, response.text
    by_type = {item["component_type"]: item for item in response.json()}
    scheduler = [item for item in by_type.values() if item["category"] == "Scheduler"]
    assert sorted(item["component_type"] for item in scheduler) == sorted(
        ["schedule_create", "schedule_pause", "schedule_resume", "schedule_stop", "schedule_list"])
    assert {item["color"] for item in scheduler} == {"#d97706"} and all(item["is_tool"] for item in scheduler)
    assert by_type["trigger_schedule"]["is_trigger"] and not by_type["http_request"]["is_tool"]
    assert "url" in by_type["http_request"]["config_schema"]["properties"]
    assert "cron_expression" in by_type["schedule_create"]["config_schema"]["properties"]
    assert client.get("/api/v1/components").status_code == 401


def test_tools_are_listed_in_both_llm_formats(client: TestClient, alice: ApiUser) -> None:
    tools = client.get(TOOLS, headers=alice.headers).json()
    names = [tool["name"] for tool in tools]
    assert names[:5] == ["schedule_create", "schedule_pause", "schedule_resume", "schedule_stop", "schedule_list"]
    by_name = {tool["name"]: tool for tool in tools}
    assert by_name["schedule_list"]["annotations"] == {"read_only": True, "idempotent": False, "destructive": False}
    assert by_name["schedule_stop"]["annotations"]["destructive"] is True
    assert by_name["schedule_pause"]["annotations"]["idempotent"] is True
    create = by_name["schedule_create"]
    assert create["openai"]["function"]["parameters"] == create["input_schema"] == create["anthropic"]["input_schema"]


def test_invoke_creates_pauses_lists_and_stops(client: TestClient, alice: ApiUser) -> None:
    workflow_id = make_workflow(alice)
    created = client.post(f"{TOOLS}/schedule_create/invoke", json=cron_input(workflow_id), headers=alice.headers)
    assert created.status_code == 200, created.text
    schedule = created.json()["result"]
    assert created.json()["ok"] and schedule["status"] == "active" and len(schedule["next_runs"]) == 5
    assert "09:00" in schedule["cadence"]
    paused = client.post(f"{TOOLS}/schedule_pause/invoke", json={"schedule_id": schedule["id"], "reason": "agent"},
                         headers=alice.headers).json()
    assert paused["result"]["status"] == "paused" and paused["result"]["paused_reason"] == "agent"
    listed = client.post(f"{TOOLS}/schedule_list/invoke", json={"status": "paused"}, headers=alice.headers).json()
    assert [item["id"] for item in listed["result"]["items"]] == [schedule["id"]]
    resumed = client.post(f"{TOOLS}/schedule_resume/invoke", json={"schedule_id": schedule["id"]},
                          headers=alice.headers).json()
    assert resumed["result"]["status"] == "active"
    stopped = client.post(f"{TOOLS}/schedule_stop/invoke", json={"schedule_id": schedule["id"]},
                          headers=alice.headers).json()
    assert stopped == {"ok": True, "result": {"deleted": True, "id": schedule["id"], "name": "weekday"}}
    assert schedule_count() == 0


def test_refusals_are_structured_with_hints_and_write_nothing(
    client: TestClient, alice: ApiUser, bob: ApiUser
) -> None:
    workflow_id = make_workflow(alice)
    cases = [
        (cron_input(workflow_id, cron_expression="0 9 * * 1-5 *"), 422, "cron_expression", "expected 5"),
        (cron_input(workflow_id, timezone="Mars/Olympus"), 422, "timezone", "Mars/Olympus"),
        (cron_input(make_workflow(bob)), 422, "workflow_id", "not found"),
        (cron_input(workflow_id, trigger_payload="[1, 2]"), 422, "trigger_payload", "JSON object"),
        (cron_input(workflow_id, colour="red"), 422, "colour", "not a field"),
        ({"name": "x"}, 422, "workflow_id", "required"),
    ]
    for arguments, status, field, text in cases:
        response = client.post(f"{TOOLS}/schedule_create/invoke", json=arguments, headers=alice.headers)
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert response.json()["ok"] is False and error["field"] == field and text in error["message"], error
        assert error["hint"]
    assert schedule_count() == 0
    theirs = make_schedule(bob, make_workflow(bob))
    refused = client.post(f"{TOOLS}/schedule_pause/invoke", json={"schedule_id": theirs.id}, headers=alice.headers)
    assert refused.status_code == 404 and refused.json()["error"]["kind"] == "not_found"
    assert "schedule_list" in refused.json()["error"]["hint"]
    unknown = client.post(f"{TOOLS}/schedule_explode/invoke", json={}, headers=alice.headers)
    assert unknown.status_code == 404 and "schedule_create" in unknown.json()["error"]["hint"]


def test_tool_nodes_run_as_plain_workflow_steps(settings: Any, alice: ApiUser) -> None:
    target = make_workflow(alice)
    nodes = [
        {"key": "t", "component_type": "trigger_schedule", "config": {}},
        {"key": "create", "component_type": "schedule_create",
         "config": cron_input(target, name="made-by-{{ event.payload.who }}")},
        {"key": "pause", "component_type": "schedule_pause",
         "config": {"schedule_id": "{{ nodes.create.output.result.id }}", "reason": "step"}},
        {"key": "bad", "component_type": "schedule_create", "config": cron_input(target, cron_expression="61 * * * *")},
    ]
    edges = [{"source": "t", "target": "create"}, {"source": "create", "target": "pause"},
             {"source": "pause", "target": "bad"}]
    workflow_id = make_workflow(alice, nodes=nodes, edges=edges)
    with session_scope() as db:
        graph = load_graph(db, workflow_id)
        assert graph is not None
        run = run_workflow(db=db, graph=graph, trigger=graph.node("t"), event_type="schedule",
                           event={"payload": {"who": "alice"}}, owner_id=alice.id)
        run_id, status, error = run.id, run.status, run.error
    assert status == "failed" and "node 'bad' failed" in error and "hint" in error
    with session_scope() as db:
        node_runs = {n.node_key: n for n in db.scalars(select(NodeRun).where(NodeRun.workflow_run_id == run_id))}
        [made] = db.scalars(select(Schedule)).all()
    assert (made.name, made.status, made.paused_reason) == ("made-by-alice", "paused", "step")
    assert node_runs["pause"].output["result"]["id"] == made.id
    assert node_runs["bad"].status == "failed" and node_runs["bad"].output["error"]["field"] == "cron_expression"


def test_a_tool_node_with_an_unknown_key_is_refused_when_saved(client: TestClient, alice: ApiUser) -> None:
    nodes = [{"key": "t", "component_type": "trigger_schedule", "config": {}},
             {"key": "pause", "component_type": "schedule_pause", "config": {"schedule_idd": "x"}}]
    response = client.post("/api/v1/workflows", json={"name": "typo", "nodes": nodes,
                                                      "edges": [{"source": "t", "target": "pause"}]},
                           headers=alice.headers)
    assert response.status_code == 422 and response.json()["field"] == "nodes.1.config", response.text
    assert "schedule_idd" in response.json()["message"]
