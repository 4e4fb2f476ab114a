"""What an agent's model calls use and cost, stored on its node run, workflow run and ledger row, and the run's
budget that stops it.

The occurrence is fired as a worker fires it, against the scripted chat-completions server
over a real HTTP round trip, with the operator's price table set. The stub reports each
answer's usage; the stored figures must add up to it exactly, and a budget must stop the
agent before the call that could pass it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from rqflow.db import session_scope
from rqflow.models import NodeRun, ScheduleRun, WorkflowRun, utcnow
from rqflow.settings import Settings, get_settings
from rqflow.worker.occurrence import Delivery, fire
from tests.integration.conftest import ApiUser, RecordingSignals, make_schedule, make_workflow, only_run
from tests.llm_stub import LlmStub, ToolCall, final, tool_calls

PRICES = {"stub-model": {"input_per_million_usd": 1.0, "output_per_million_usd": 2.0}}
# Three answers: (prompt, completion) tokens each; cost = prompt * $1/M + completion * $2/M.
USAGE = [(100, 20), (150, 30), (200, 40)]
COSTS = [0.00014, 0.00021, 0.00028]


@pytest.fixture
def llm(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[LlmStub]:
    script = [tool_calls(ToolCall("list_schedules", {}), usage=USAGE[0]),
              tool_calls(ToolCall("list_schedules", {}), usage=USAGE[1]),
              final("Nothing to do.", usage=USAGE[2])]
    with LlmStub(script) as stub:
        monkeypatch.setenv("RQFLOW_LLM_BASE_URL", stub.base_url)
        monkeypatch.setenv("RQFLOW_LLM_PRICES", json.dumps(PRICES))
        get_settings.cache_clear()
        yield stub


def agent_workflow(alice: ApiUser) -> int:
    nodes = [{"key": "t", "component_type": "trigger_schedule"},
             {"key": "assistant", "component_type": "agent", "config": {"prompt": "Look around.", "max_steps": 5}},
             {"key": "list_schedules", "component_type": "schedule_list", "config": {}}]
    edges = [{"source": "t", "target": "assistant"}, {"source": "assistant", "target": "list_schedules", "kind": "tool"}]
    return make_workflow(alice, name="assistant", nodes=nodes, edges=edges)


def fire_due(alice: ApiUser, signals: RecordingSignals, **overrides: Any) -> ScheduleRun:
    schedule = make_schedule(alice, agent_workflow(alice), now=utcnow() - timedelta(seconds=60.5), **overrides)
    assert schedule.next_run_at is not None
    fire(schedule.id, schedule.next_run_at, delivery=Delivery("rq-1"), signals=signals)
    return only_run(schedule.id)


def spending(schedule_run_id: int) -> tuple[WorkflowRun, NodeRun]:
    with session_scope() as db:
        flow = db.scalars(select(WorkflowRun).where(WorkflowRun.schedule_run_id == schedule_run_id)).one()
        node = db.scalars(select(NodeRun).where(NodeRun.workflow_run_id == flow.id,
                                                NodeRun.node_key == "assistant")).one()
        db.expunge_all()
        return flow, node


def test_usage_adds_up_exactly_on_every_row(llm: LlmStub, alice: ApiUser) -> None:
    signals = RecordingSignals()
    row = fire_due(alice, signals)

    tokens = sum(p + c for p, c in USAGE)
    assert row.status == "succeeded"
    flow, node = spending(row.id)
    for record in (node, flow, row):
        assert record.total_tokens == tokens
        assert record.total_cost_usd == pytest.approx(sum(COSTS), abs=1e-12)
    calls = node.output["usage"]["calls"]
    assert [(c["prompt_tokens"], c["completion_tokens"], c["priced"]) for c in calls] == [(p, c, True) for p, c in USAGE]
    assert [c["cost_usd"] for c in calls] == pytest.approx(COSTS, abs=1e-12)
    assert signals.llm_calls == [("stub-model", p, c, pytest.approx(cost, abs=1e-12))
                                 for (p, c), cost in zip(USAGE, COSTS, strict=True)]


def test_a_budget_stops_the_agent_after_the_call_that_reached_it(llm: LlmStub, alice: ApiUser) -> None:
    signals = RecordingSignals()
    # After two calls ($0.00035 spent, the larger $0.00021), a third could pass $0.0004: it is never made.
    row = fire_due(alice, signals, max_budget_per_run_usd=0.0004)

    assert (row.status, row.reason) == ("failed", "budget_exceeded")
    assert "spent $0.000350 and 300 tokens" in row.error and "max_budget_per_run_usd of $0.0004" in row.error
    assert len(llm.requests) == 2
    flow, node = spending(row.id)
    assert node.status == "failed" and node.total_cost_usd == pytest.approx(0.00035, abs=1e-12)
    assert flow.status == "failed" and flow.total_tokens == 300
    assert row.total_cost_usd == pytest.approx(0.00035, abs=1e-12) and row.total_tokens == 300
    assert len(node.output["tool_calls"]) == 2  # what it did before it was stopped is kept


def test_a_token_budget_stops_it_too(llm: LlmStub, alice: ApiUser) -> None:
    row = fire_due(alice, RecordingSignals(), max_tokens_per_run=130)
    assert (row.status, row.reason, row.total_tokens) == ("failed", "budget_exceeded", 120)
    assert len(llm.requests) == 1


def test_a_budget_above_the_ceiling_is_refused(settings: Settings, alice: ApiUser) -> None:
    from rqflow.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        make_schedule(alice, make_workflow(alice), max_budget_per_run_usd=10.5)
    assert refused.value.field == "max_budget_per_run_usd"


def test_a_spent_daily_budget_refuses_new_runs(llm: LlmStub, alice: ApiUser, bob: ApiUser,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from rqflow.models import UserDailySpend
    from rqflow.services.daily_budget import BUDGET_SKIP_REASON

    monkeypatch.setenv("RQFLOW_USER_DAILY_BUDGET_USD", "0.0005")
    get_settings.cache_clear()
    first = fire_due(alice, RecordingSignals())  # $0.00063: past the day's budget once it ends
    assert first.status == "succeeded"
    with session_scope() as db:
        day = db.scalars(select(UserDailySpend).where(UserDailySpend.user_profile_id == alice.id)).one()
        assert (day.tokens, day.day) == (540, utcnow().date())
        assert day.cost_usd == pytest.approx(sum(COSTS), abs=1e-12)

    refused = fire_due(alice, RecordingSignals())
    assert (refused.status, refused.reason) == ("skipped", BUDGET_SKIP_REASON)
    assert len(llm.requests) == 3  # the refused run made no call
    with session_scope() as db:
        assert db.scalars(select(WorkflowRun).where(WorkflowRun.schedule_run_id == refused.id)).first() is None
    other = fire_due(bob, RecordingSignals(), name="bobs")  # another user's budget is their own
    assert other.status == "failed" and "500" in other.error  # the stub's script is used up: it answered 500
