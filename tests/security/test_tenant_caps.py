"""Finding 7 (the rest): what one user may pile up, and how fast, is bounded, with the defaults.

As found: one user put 3,000 backfilled and 200 run-now jobs on the shared queue in seconds,
saved 300 workflows of 200 nodes (240 MB), and a workflow whose ``schedule_create`` node targets
itself added one schedule per run. Now, against real processes with the default settings:
run-now and backfill share a per-user rate (60 a minute, then 429 with ``Retry-After``); a user's
queued-or-waiting runs are capped (2,000, then 409, nothing written); workflows per user and
nodes per workflow are capped (200 each); and a run may not create a schedule that starts its
own workflow unless the workflow says ``may_schedule_itself``.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rqflow.models import Schedule, ScheduleRun, utcnow
from tests.e2e.conftest import Stack
from tests.e2e.test_http_api import create_user_token
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

DEFAULT_RATE_PER_MINUTE = 60
DEFAULT_QUEUED_CAP = 2000
DEFAULT_WORKFLOW_CAP = DEFAULT_NODE_CAP = 200
FLOOD = 200
TRIGGER_ONLY = {"name": "w", "nodes": [{"key": "t", "component_type": "trigger_schedule", "config": {}}], "edges": []}


def client(base: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def hourly_schedule(api: httpx.Client, start_hours_ago: int) -> str:
    workflow = api.post("/api/v1/workflows", json=TRIGGER_ONLY)
    assert workflow.status_code == 201, workflow.text
    start = (utcnow() - timedelta(hours=start_hours_ago)).replace(minute=0, second=0, microsecond=0)
    created = api.post("/api/v1/schedules", json={"name": "hourly", "workflow_id": workflow.json()["id"],
                                                  "schedule_type": "interval", "interval_seconds": 3600,
                                                  "overlap_policy": "allow", "start_at": start.isoformat()})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def ledger_size(stack: Stack, schedule_id: str | None = None) -> int:
    with Session(stack.observer) as db:
        query = select(func.count()).select_from(ScheduleRun)
        if schedule_id is not None:
            query = query.where(ScheduleRun.scheduled_job_id == schedule_id)
        return db.scalar(query) or 0


def backfill(api: httpx.Client, schedule_id: str, hours_ago: int, count: int) -> httpx.Response:
    start = (utcnow() - timedelta(hours=hours_ago)).replace(minute=0, second=0, microsecond=0)
    end = start + timedelta(hours=count - 1)
    return api.post(f"/api/v1/schedules/{schedule_id}/backfill",
                    json={"start": start.isoformat(), "end": end.isoformat()})


def test_a_run_now_flood_is_cut_at_the_rate_with_retry_after(stack: Stack, database_url: str) -> None:
    base = stack.start_web()
    mallory, alice = create_user_token(stack, "mallory"), create_user_token(stack, "alice")
    with client(base, mallory) as flood, client(base, alice) as api:
        target = hourly_schedule(flood, 1)
        began = time.monotonic()
        answers = [flood.post(f"/api/v1/schedules/{target}/trigger") for _ in range(FLOOD)]
        took = time.monotonic() - began
        alices = api.post(f"/api/v1/schedules/{hourly_schedule(api, 1)}/trigger")

    codes = [answer.status_code for answer in answers]
    refused = [answer for answer in answers if answer.status_code == 429]
    retry_after = sorted({int(answer.headers["Retry-After"]) for answer in refused})
    print(f"\n[{database_url.split(':')[0]}] {FLOOD} run-now in {took:.1f} s: {codes.count(202)} accepted, "
          f"{len(refused)} answered 429 (Retry-After {retry_after[0]}-{retry_after[-1]} s)")
    assert took < 60, "the flood took longer than the rate's window: the count below would not be exact"
    assert codes == [202] * DEFAULT_RATE_PER_MINUTE + [429] * (FLOOD - DEFAULT_RATE_PER_MINUTE)
    assert all(1 <= seconds <= 60 for seconds in retry_after), retry_after
    assert "RQFLOW_TRIGGER_RATE_LIMIT" in refused[0].json()["message"]
    assert ledger_size(stack, target) == DEFAULT_RATE_PER_MINUTE, "a refused request writes nothing"
    assert alices.status_code == 202, "another user's allowance is their own"


def test_backfills_past_the_queued_cap_are_refused_whole(stack: Stack, database_url: str) -> None:
    base = stack.start_web()  # no worker: what is accepted stays queued
    mallory, alice = create_user_token(stack, "mallory"), create_user_token(stack, "alice")
    with client(base, mallory) as flood, client(base, alice) as api:
        target = hourly_schedule(flood, 3 * 1000 + 1)
        first, second = backfill(flood, target, 3000, 1000), backfill(flood, target, 2000, 1000)
        third = backfill(flood, target, 1000, 1000)
        alices = backfill(api, hourly_schedule(api, 11), 10, 10)

    print(f"\n[{database_url.split(':')[0]}] backfills of 1000: {first.status_code}, {second.status_code}, "
          f"{third.status_code} ({third.json()['message']}); other user's backfill {alices.status_code}")
    assert (first.status_code, second.status_code) == (202, 202), (first.text, second.text)
    assert third.status_code == 409 and third.json()["field"] == "end", third.text
    assert "RQFLOW_MAX_QUEUED_RUNS_PER_USER" in third.json()["message"]
    assert ledger_size(stack, target) == DEFAULT_QUEUED_CAP, "the refused backfill wrote no row"
    assert alices.status_code == 202 and alices.json()["count"] == 10, alices.text


def test_workflows_and_nodes_are_capped_per_user(stack: Stack, database_url: str) -> None:
    base = stack.start_web()
    mallory, alice = create_user_token(stack, "mallory"), create_user_token(stack, "alice")
    big = {"name": "big", "edges": [], "nodes": [
        {"key": f"n{k}", "component_type": "trigger_schedule", "config": {}} for k in range(DEFAULT_NODE_CAP + 1)]}
    with client(base, mallory) as flood, client(base, alice) as api:
        too_big = flood.post("/api/v1/workflows", json=big)
        saved = [flood.post("/api/v1/workflows", json=TRIGGER_ONLY).status_code for _ in range(DEFAULT_WORKFLOW_CAP)]
        one_more = flood.post("/api/v1/workflows", json=TRIGGER_ONLY)
        kept = flood.get("/api/v1/workflows").json()["total"]
        alices = api.post("/api/v1/workflows", json=TRIGGER_ONLY)

    assert too_big.status_code == 422 and too_big.json()["field"] == "nodes", too_big.text
    assert "RQFLOW_MAX_NODES_PER_WORKFLOW" in too_big.json()["message"]
    assert saved == [201] * DEFAULT_WORKFLOW_CAP
    assert one_more.status_code == 409 and "RQFLOW_MAX_WORKFLOWS_PER_USER" in one_more.json()["message"]
    assert kept == DEFAULT_WORKFLOW_CAP
    assert alices.status_code == 201


def self_scheduling_workflow() -> dict[str, Any]:
    """Each run creates one more schedule that starts this same workflow."""
    return {"name": "breeder", "edges": [{"source": "t", "target": "spawn"}], "nodes": [
        {"key": "t", "component_type": "trigger_schedule", "config": {}},
        {"key": "spawn", "component_type": "schedule_create", "config": {
            "name": "spawn-{{ event.run_id }}", "workflow_id": "{{ event.workflow_id }}",
            "schedule_type": "interval", "interval_seconds": 3600}},
    ]}


def test_a_run_cannot_multiply_its_own_schedules_unless_the_workflow_says_so(
    stack: Stack, database_url: str
) -> None:
    base = stack.start_all()
    token = create_user_token(stack, "mallory")
    with client(base, token) as api:
        workflow = api.post("/api/v1/workflows", json=self_scheduling_workflow())
        assert workflow.status_code == 201 and workflow.json()["may_schedule_itself"] is False, workflow.text
        workflow_id = workflow.json()["id"]
        seed = api.post("/api/v1/schedules", json={"name": "seed", "workflow_id": workflow_id,
                                                   "schedule_type": "interval", "interval_seconds": 1})
        assert seed.status_code == 201, seed.text

        def finished_runs(at_least: int) -> list[ScheduleRun] | None:
            stack.assert_running()
            done = [r for r in stack.runs(seed.json()["id"]) if r.status in ("succeeded", "failed")]
            return done if len(done) >= at_least else None

        refused = wait_for(lambda: finished_runs(3), timeout=60, interval=0.2, what="three runs of the seed")
        schedules_then = schedule_count(stack)
        allowed = api.patch(f"/api/v1/workflows/{workflow_id}", json={"may_schedule_itself": True})
        assert allowed.status_code == 200 and allowed.json()["may_schedule_itself"] is True, allowed.text
        wait_for(lambda: schedule_count(stack) > 1, timeout=60, interval=0.2,
                 what="a run of the workflow that now allows it to create its schedule")
        assert api.post(f"/api/v1/schedules/{seed.json()['id']}/pause").status_code == 200

    print(f"\n[{database_url.split(':')[0]}] {len(refused)} runs refused to schedule their own workflow; "
          f"{schedule_count(stack) - 1} schedule(s) once it said may_schedule_itself")
    assert [run.status for run in refused[:3]] == ["failed"] * 3
    assert all("may_schedule_itself" in run.error for run in refused[:3]), refused[0].error
    assert schedules_then == 1, "a refused run left a schedule behind"


def schedule_count(stack: Stack) -> int:
    with Session(stack.observer) as db:
        return db.scalar(select(func.count()).select_from(Schedule)) or 0
