"""Per-user caps and the trigger rate limit, through the API over the real database and Redis.

Each cap refuses with an answer that names its setting and writes nothing, and one
user reaching a cap leaves another user's requests alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from rqflow.app import create_app
from rqflow.db import session_scope
from rqflow.models import ScheduleRun, Workflow, utcnow
from rqflow.settings import Settings, get_settings
from tests.integration.conftest import WORKFLOW, ApiUser, make_schedule, make_workflow

SCHEDULES = "/api/v1/schedules"
WORKFLOWS = "/api/v1/workflows"


@pytest.fixture
def capped(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The app with small caps, so a test reaches them in a few requests."""
    for name, value in {"MAX_WORKFLOWS_PER_USER": "2", "MAX_NODES_PER_WORKFLOW": "3",
                        "MAX_QUEUED_RUNS_PER_USER": "4", "TRIGGER_RATE_LIMIT": "1000/minute"}.items():
        monkeypatch.setenv(f"RQFLOW_{name}", value)
    get_settings.cache_clear()
    with TestClient(create_app(get_settings())) as client:
        yield client
    get_settings.cache_clear()


@pytest.fixture
def rate_limited(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("RQFLOW_TRIGGER_RATE_LIMIT", "3/minute;5/hour")
    get_settings.cache_clear()
    with TestClient(create_app(get_settings())) as client:
        yield client
    get_settings.cache_clear()


def count(model: Any, *where: Any) -> int:
    with session_scope() as db:
        return db.scalar(select(func.count()).select_from(model).where(*where)) or 0


def nodes(how_many: int) -> list[dict[str, Any]]:
    return [{"key": "t", "component_type": "trigger_schedule", "config": {}}] + [
        {"key": f"n{k}", "component_type": "trigger_schedule", "config": {}} for k in range(how_many - 1)]


def test_workflows_past_the_cap_are_refused_and_others_are_not_affected(
    capped: TestClient, alice: ApiUser, bob: ApiUser
) -> None:
    for _ in range(2):
        assert capped.post(WORKFLOWS, json=WORKFLOW, headers=alice.headers).status_code == 201

    refused = capped.post(WORKFLOWS, json=WORKFLOW, headers=alice.headers)

    assert refused.status_code == 409, refused.text
    assert "RQFLOW_MAX_WORKFLOWS_PER_USER" in refused.json()["message"]
    assert count(Workflow, Workflow.user_profile_id == alice.id) == 2
    assert capped.post(WORKFLOWS, json=WORKFLOW, headers=bob.headers).status_code == 201


def test_a_graph_past_the_node_cap_is_refused_on_create_and_on_replace(capped: TestClient, alice: ApiUser) -> None:
    too_big = {"name": "big", "nodes": nodes(4), "edges": []}

    refused = capped.post(WORKFLOWS, json=too_big, headers=alice.headers)

    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "nodes"
    assert "RQFLOW_MAX_NODES_PER_WORKFLOW" in refused.json()["message"]
    created = capped.post(WORKFLOWS, json={"name": "small", "nodes": nodes(3), "edges": []}, headers=alice.headers)
    assert created.status_code == 201, created.text
    grown = capped.patch(f"{WORKFLOWS}/{created.json()['id']}", json={"nodes": nodes(4)}, headers=alice.headers)
    assert grown.status_code == 422 and grown.json()["field"] == "nodes", grown.text
    assert len(capped.get(f"{WORKFLOWS}/{created.json()['id']}", headers=alice.headers).json()["nodes"]) == 3


def test_run_now_and_backfill_past_the_queued_cap_are_refused_without_writing(
    capped: TestClient, alice: ApiUser, bob: ApiUser
) -> None:
    # No worker runs here, so every accepted run stays queued or waiting.
    schedule = make_schedule(alice, make_workflow(alice), overlap_policy="allow")
    start = (utcnow() - timedelta(hours=10)).replace(minute=0, second=0, microsecond=0)
    hourly = make_schedule(alice, make_workflow(alice), schedule_type="cron", cron_expression="0 * * * *",
                           interval_seconds=None, overlap_policy="allow")

    too_many = capped.post(f"{SCHEDULES}/{hourly.id}/backfill", headers=alice.headers,
                           json={"start": start.isoformat(), "end": (start + timedelta(hours=4)).isoformat()})
    assert too_many.status_code == 409, too_many.text
    assert too_many.json()["field"] == "end"
    assert "RQFLOW_MAX_QUEUED_RUNS_PER_USER" in too_many.json()["message"]
    assert count(ScheduleRun) == 0, "a refused backfill writes no row"

    filled = capped.post(f"{SCHEDULES}/{hourly.id}/backfill", headers=alice.headers,
                         json={"start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat()})
    assert filled.status_code == 202 and filled.json()["count"] == 3, filled.text
    assert capped.post(f"{SCHEDULES}/{schedule.id}/trigger", headers=alice.headers).status_code == 202
    refused = capped.post(f"{SCHEDULES}/{schedule.id}/trigger", headers=alice.headers)
    assert refused.status_code == 409, refused.text
    assert "4 or more runs queued or waiting" in refused.json()["message"]
    assert count(ScheduleRun) == 4

    bobs = make_schedule(bob, make_workflow(bob))
    assert capped.post(f"{SCHEDULES}/{bobs.id}/trigger", headers=bob.headers).status_code == 202


def test_run_now_past_the_rate_answers_429_with_retry_after_and_writes_nothing(
    rate_limited: TestClient, alice: ApiUser, bob: ApiUser
) -> None:
    schedule = make_schedule(alice, make_workflow(alice), overlap_policy="allow")
    for _ in range(3):
        assert rate_limited.post(f"{SCHEDULES}/{schedule.id}/trigger", headers=alice.headers).status_code == 202

    refused = rate_limited.post(f"{SCHEDULES}/{schedule.id}/trigger", headers=alice.headers)

    assert refused.status_code == 429, refused.text
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "RQFLOW_TRIGGER_RATE_LIMIT" in refused.json()["message"]
    assert count(ScheduleRun) == 3
    backfill = rate_limited.post(f"{SCHEDULES}/{schedule.id}/backfill", headers=alice.headers,
                                 json={"start": (utcnow() - timedelta(hours=1)).isoformat(),
                                       "end": utcnow().isoformat()})
    assert backfill.status_code == 429, "backfill shares the same allowance"
    bobs = make_schedule(bob, make_workflow(bob))
    assert rate_limited.post(f"{SCHEDULES}/{bobs.id}/trigger", headers=bob.headers).status_code == 202


def test_the_rate_limit_setting_is_checked_at_startup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RQFLOW_TRIGGER_RATE_LIMIT", "lots")
    get_settings.cache_clear()
    with pytest.raises(ValueError, match="RQFLOW_TRIGGER_RATE_LIMIT"):
        get_settings()
    get_settings.cache_clear()
