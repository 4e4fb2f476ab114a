"""An agent, started by one schedule, creates another schedule that then fires its own workflow.

Real processes (scheduler, worker), a real redis-server, and a scripted OpenAI-compatible
server on loopback that the worker's agent node calls over HTTP.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from rqflow.db import session_scope
from rqflow.models import NodeRun, Schedule, UserProfile, utcnow
from rqflow.schemas.schedule import ScheduleCreate
from rqflow.schemas.workflow import WorkflowCreate
from rqflow.services import schedules as schedule_service
from rqflow.services.workflows import create_workflow
from rqflow.signals import NullSignals
from tests.e2e.conftest import LiveSchedule, Stack, assert_effects_once, workflow_body
from tests.helpers import wait_for
from tests.llm_stub import LlmStub, ToolCall, final, tool_calls

pytestmark = pytest.mark.e2e

AGENT_SCHEDULE = "agent-made"


def agent_workflow(target_workflow_id: int) -> dict[str, Any]:
    """trigger -> agent, with a tool edge to schedule_create preset to start ``target_workflow_id``."""
    return {
        "name": "assistant",
        "nodes": [
            {"key": "t", "component_type": "trigger_schedule", "config": {}},
            {"key": "assistant", "component_type": "agent", "config": {
                "prompt": "Run the report every second, three times.", "max_steps": 4}},
            {"key": "create", "component_type": "schedule_create", "config": {"workflow_id": target_workflow_id}},
        ],
        "edges": [{"source": "t", "target": "assistant"},
                  {"source": "assistant", "target": "create", "kind": "tool"}],
    }


def test_an_agent_creates_a_schedule_that_then_fires(stack: Stack) -> None:
    script = [
        tool_calls(ToolCall("create", {"name": AGENT_SCHEDULE, "schedule_type": "interval", "interval_seconds": 1,
                                       "max_runs": 3})),
        final("Created the report schedule: every second, three runs."),
    ]
    with LlmStub(script) as llm:
        stack.env["RQFLOW_LLM_BASE_URL"] = llm.base_url  # the worker's agent nodes call the stub
        stack.start_scheduler()
        stack.start_worker()
        stack.wait_leader()
        stack.wait_workers()
        with session_scope(stack.database_url) as db:
            owner = db.get(UserProfile, stack.user())
            assert owner is not None
            target = create_workflow(db=db, owner=owner, data=WorkflowCreate.model_validate(workflow_body("report")))
            db.flush()
            assistant = create_workflow(db=db, owner=owner,
                                        data=WorkflowCreate.model_validate(agent_workflow(target.id)))
            db.flush()
            starter = schedule_service.create_schedule(
                db=db, owner=owner, now=utcnow(), signals=NullSignals(),
                data=ScheduleCreate.model_validate({"name": "morning", "workflow_id": assistant.id,
                                                    "schedule_type": "interval", "interval_seconds": 1,
                                                    "max_runs": 1}))
            starter_id = starter.id

        def made() -> Schedule | None:
            stack.assert_running()
            with Session(stack.observer) as db:
                return db.scalars(select(Schedule).where(Schedule.name == AGENT_SCHEDULE)).first()

        created = wait_for(made, timeout=60, interval=0.25, what="the agent to create its schedule")
        assert created.workflow_id == target.id and created.user_profile_id == stack.user()
        assert created.interval_seconds == 1 and created.next_run_at is not None
        schedule = LiveSchedule(id=created.id, workflow_id=target.id, interval=timedelta(seconds=1),
                            first=created.next_run_at)
        runs = stack.wait_succeeded(schedule, 3, timeout=60, what="the agent's schedule to run three times")

    assert_effects_once(stack.effects(created.id), runs)
    assert wait_for(lambda: stack.row(created.id).status == "stopped", timeout=20, what="max_runs to stop it")
    [first_request, second_request] = llm.requests
    assert list(first_request.functions) == ["create"]
    assert "workflow_id" not in first_request.functions["create"]["parameters"]["properties"], "preset is hidden"
    [fed_back] = second_request.tool_results()
    assert fed_back["ok"] and fed_back["result"]["id"] == created.id
    with Session(stack.observer) as db:
        agent_runs = list(db.scalars(select(NodeRun).where(NodeRun.node_key == "assistant")))
    [agent_run] = agent_runs
    assert agent_run.status == "succeeded" and agent_run.output["tool_calls"][0]["answer"]["ok"] is True
    assert stack.row(starter_id).run_count == 1
