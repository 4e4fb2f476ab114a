"""The per-user daily budget through real processes: warned at 80 %, refused once spent.

With RQFLOW_USER_DAILY_BUDGET_USD at $0.025, one agent run against the scripted LLM server
spends $0.0213 (85 %): its end sends the ``daily_budget`` notification to the webhook, once.
A second run spends as much again (the day is past the budget, no second warning); a third
run of the same user is recorded ``skipped`` with reason ``budget`` and never reaches the model.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from rqflow.models import NotificationDelivery
from rqflow.services.daily_budget import BUDGET_SKIP_REASON
from tests.e2e.conftest import Stack
from tests.e2e.test_spend import COSTS, ended, fire_agent_once, script, start
from tests.llm_stub import LlmStub
from tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.e2e

BUDGET = 0.025


def test_the_daily_budget_warns_at_80_percent_and_refuses_runs_once_spent(stack: Stack, database_url: str) -> None:
    stack.env["RQFLOW_USER_DAILY_BUDGET_USD"] = str(BUDGET)
    notify = [{"on": ["daily_budget"], "webhook": ""}]
    with WebhookReceiver() as receiver, LlmStub(script() + script()) as llm:
        notify[0]["webhook"] = receiver.url
        start(stack, llm)
        first = ended(stack, fire_agent_once(stack, notify=notify))
        [warning] = receiver.wait_for(1, timeout=30)
        second = ended(stack, fire_agent_once(stack, notify=notify))
        third = ended(stack, fire_agent_once(stack))
        model_calls = len(llm.requests)

    assert (first.status, second.status) == ("succeeded", "succeeded")
    assert first.total_cost_usd == pytest.approx(sum(COSTS), abs=1e-12)
    assert (third.status, third.reason) == ("skipped", BUDGET_SKIP_REASON)
    assert model_calls == 6  # the third run never called the model
    body = json.loads(warning.body)
    assert body["outcome"] == "daily_budget" and body["spent_usd"] == pytest.approx(sum(COSTS), abs=1e-9)
    assert body["budget_usd"] == BUDGET
    with Session(stack.observer) as db:  # crossing the line again the same day writes no second one
        assert list(db.scalars(select(NotificationDelivery.outcome))) == ["daily_budget"]
