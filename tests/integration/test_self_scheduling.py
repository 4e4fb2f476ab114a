"""A schedule_create call inside a workflow's run may not create a schedule that starts that same
workflow (each run would add one more), unless the workflow says ``may_schedule_itself``.

The check asks the trigger resolver, so every way a schedule can start a workflow counts: its
target, and a trigger node's name pattern matching the new schedule's name.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from rqflow.db import session_scope
from rqflow.engine.runner import run_workflow
from rqflow.models import NodeRun, Schedule
from rqflow.services.workflow_graphs import load_graph
from rqflow.settings import Settings
from tests.integration.conftest import ApiUser, make_workflow

SELF = "{{ event.workflow_id }}"


def creator(schedule: dict[str, Any], *, trigger: dict[str, Any] | None = None) -> dict[str, Any]:
    """A workflow: trigger -> schedule_create(schedule)."""
    return {"name": "creator",
            "nodes": [{"key": "t", "component_type": "trigger_schedule", "config": trigger or {}},
                      {"key": "create", "component_type": "schedule_create", "config": schedule}],
            "edges": [{"source": "t", "target": "create"}]}


def every_minute(workflow_id: int | str, name: str = "spawned") -> dict[str, Any]:
    return {"name": name, "workflow_id": workflow_id, "schedule_type": "interval", "interval_seconds": 60}


def run_once(user: ApiUser, workflow_id: int) -> tuple[str, dict[str, Any]]:
    """Run the workflow as its schedule would (event naming it); its status and the create node's output."""
    with session_scope() as db:
        graph = load_graph(db, workflow_id)
        assert graph is not None
        run = run_workflow(db=db, graph=graph, trigger=graph.node("t"), event_type="schedule",
                           event={"workflow_id": workflow_id, "payload": {}}, owner_id=user.id)
        node_run = db.scalars(select(NodeRun).where(NodeRun.workflow_run_id == run.id,
                                                    NodeRun.node_key == "create")).one()
        return run.status, dict(node_run.output or {})


def schedules_of(workflow_id: int) -> int:
    with session_scope() as db:
        where = Schedule.workflow_id == workflow_id
        return db.scalar(select(func.count()).select_from(Schedule).where(where)) or 0


def test_a_run_cannot_schedule_its_own_workflow(settings: Settings, alice: ApiUser) -> None:
    workflow_id = make_workflow(alice, **creator(every_minute(SELF)))

    status, output = run_once(alice, workflow_id)

    assert status == "failed"
    assert output["error"]["field"] == "workflow_id"
    assert "may_schedule_itself" in output["error"]["message"]
    assert schedules_of(workflow_id) == 0, "the refused schedule is not left behind"


def test_a_name_pattern_that_would_start_the_creator_counts_too(settings: Settings, alice: ApiUser) -> None:
    other = make_workflow(alice)
    workflow_id = make_workflow(alice, **creator(every_minute(other, name="loop-1"),
                                                 trigger={"name_pattern": "loop-*"}))

    status, output = run_once(alice, workflow_id)

    assert status == "failed" and output["error"]["field"] == "name", output
    assert schedules_of(other) == 0
    harmless = make_workflow(alice, **creator(every_minute(other, name="report"), trigger={"name_pattern": "loop-*"}))
    assert run_once(alice, harmless)[0] == "succeeded"
    assert schedules_of(other) == 1


def test_a_workflow_that_says_so_may_schedule_itself(settings: Settings, alice: ApiUser) -> None:
    workflow_id = make_workflow(alice, may_schedule_itself=True, **creator(every_minute(SELF)))

    status, output = run_once(alice, workflow_id)

    assert status == "succeeded", output
    assert schedules_of(workflow_id) == 1


def test_the_tool_api_and_mcp_callers_are_not_a_workflow(client: Any, alice: ApiUser) -> None:
    workflow_id = make_workflow(alice, **creator(every_minute(SELF)))
    answer = client.post("/api/v1/tools/schedule_create/invoke", json=every_minute(workflow_id),
                         headers=alice.headers)
    assert answer.status_code == 200 and answer.json()["ok"], answer.text
    assert schedules_of(workflow_id) == 1
