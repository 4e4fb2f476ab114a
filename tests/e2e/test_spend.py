"""Tokens, cost and budgets through real processes: a worker's agent node calls the scripted chat-completions
server over HTTP, and the ledger, the workflow run, the node run and ``/metrics`` must show exactly what the
server reported; a budget must stop the agent before the call that could pass it.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from rqflow.models import NodeRun, ScheduleRun, WorkflowRun
from tests.e2e.conftest import FINAL_STATUSES, Stack
from tests.e2e.test_observability import scrape
from tests.helpers import wait_for
from tests.llm_stub import LlmStub, ToolCall, final, tool_calls

pytestmark = pytest.mark.e2e

PRICES = {"stub-model": {"input_per_million_usd": 3.0, "output_per_million_usd": 15.0}}
USAGE = [(1200, 80), (1500, 120), (1900, 300)]
COSTS = [(p * 3.0 + c * 15.0) / 1e6 for p, c in USAGE]  # 0.0048, 0.0063, 0.0102


def script() -> list[Any]:
    return [tool_calls(ToolCall("list_schedules", {}), usage=USAGE[0]),
            tool_calls(ToolCall("list_schedules", {}), usage=USAGE[1]),
            final("All fine.", usage=USAGE[2])]


def fire_agent_once(stack: Stack, **fields: Any) -> str:
    body = {"name": "assistant",
            "nodes": [{"key": "t", "component_type": "trigger_schedule"},
                      {"key": "assistant", "component_type": "agent", "config": {"prompt": "Check.", "max_steps": 5}},
                      {"key": "list_schedules", "component_type": "schedule_list", "config": {}}],
            "edges": [{"source": "t", "target": "assistant"},
                      {"source": "assistant", "target": "list_schedules", "kind": "tool"}]}
    return stack.create_once_schedule(body, **fields)


def ended(stack: Stack, schedule_id: str) -> ScheduleRun:
    def done() -> ScheduleRun | None:
        stack.assert_running()
        runs = stack.runs(schedule_id)
        return runs[0] if runs and runs[0].status in FINAL_STATUSES else None

    return wait_for(done, timeout=60, interval=0.1, what="the agent's run to end")


def rows(stack: Stack, schedule_run_id: int) -> tuple[WorkflowRun, NodeRun]:
    with Session(stack.observer) as db:
        flow = db.scalars(select(WorkflowRun).where(WorkflowRun.schedule_run_id == schedule_run_id)).one()
        node = db.scalars(select(NodeRun).where(NodeRun.workflow_run_id == flow.id,
                                                NodeRun.node_key == "assistant")).one()
        return flow, node


def start(stack: Stack, llm: LlmStub) -> str:
    stack.env.update({"RQFLOW_LLM_BASE_URL": llm.base_url, "RQFLOW_LLM_PRICES": json.dumps(PRICES)})
    base = stack.start_all()
    return base


def test_usage_adds_up_exactly_and_metrics_count_it(stack: Stack, database_url: str) -> None:
    with LlmStub(script()) as llm:
        base = start(stack, llm)
        row = ended(stack, fire_agent_once(stack))

    assert row.status == "succeeded"
    flow, node = rows(stack, row.id)
    tokens = sum(p + c for p, c in USAGE)
    for record in (row, flow, node):
        assert record.total_tokens == tokens and record.total_cost_usd == pytest.approx(sum(COSTS), abs=1e-12)
    samples = scrape(httpx.Client(base_url=base, timeout=30))
    assert samples[("rqflow_llm_tokens_total", (("kind", "prompt"), ("model", "stub-model")))] == sum(
        p for p, _ in USAGE)
    assert samples[("rqflow_llm_tokens_total", (("kind", "completion"), ("model", "stub-model")))] == sum(
        c for _, c in USAGE)
    assert samples[("rqflow_llm_cost_usd_total", (("model", "stub-model"),))] == pytest.approx(sum(COSTS), abs=1e-9)


def test_a_budget_stops_the_agent_after_the_call_that_reached_it(stack: Stack, database_url: str) -> None:
    with LlmStub(script()) as llm:
        start(stack, llm)
        # After two calls ($0.0111, the larger $0.0063) a third could pass $0.015: it is never made.
        row = ended(stack, fire_agent_once(stack, max_budget_per_run_usd=0.015))
        requests = len(llm.requests)

    assert (row.status, row.reason) == ("failed", "budget_exceeded") and requests == 2
    assert "spent $0.011100 and 2,900 tokens" in row.error
    flow, node = rows(stack, row.id)
    assert node.total_cost_usd == pytest.approx(COSTS[0] + COSTS[1], abs=1e-12) == row.total_cost_usd
    assert flow.total_tokens == node.total_tokens == row.total_tokens == 2900
