"""Finding 7 (in part): one user's bulk work must not delay another user's scheduled runs.

As found: three backfills of 1,000 (overlap ``allow``) and 200 run-now calls by one user put
3,200 jobs on the shared queue, and another user's run-now then waited 306 s. Manual runs and
backfills now go to a bulk queue that workers take only when no scheduled occurrence waits.
Here one worker serves both users: Mallory's flood is on the queue while Alice's schedule fires
every 5 s, and each of Alice's occurrences starts within 2 s of its time.

Today's defaults would refuse most of this flood (``test_tenant_caps``: 60 requests a minute,
2,000 runs queued or waiting); here web runs with them raised, so the flood is the one that was
found and the queues' order alone must keep Alice on time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from rq import Queue

from rqflow.models import ScheduleRun, utcnow
from tests.e2e.conftest import Stack
from tests.e2e.test_http_api import create_user_token
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

BACKFILLS, BACKFILL_SIZE, RUN_NOW = 3, 1000, 200
ALICE_EVERY = 5
ALICE_OCCURRENCES = 3
ON_TIME_SECONDS = 2.0
FLOOD_ALLOWED = {"RQFLOW_TRIGGER_RATE_LIMIT": "1000/minute", "RQFLOW_MAX_QUEUED_RUNS_PER_USER": "10000"}
TRIGGER_ONLY = {"name": "w", "nodes": [{"key": "t", "component_type": "trigger_schedule", "config": {}}], "edges": []}


def client(base: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120)


def create(api: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    workflow = api.post("/api/v1/workflows", json=TRIGGER_ONLY)
    assert workflow.status_code == 201, workflow.text
    created = api.post("/api/v1/schedules", json={"name": "s", "workflow_id": workflow.json()["id"], **body})
    assert created.status_code == 201, created.text
    return dict(created.json())


def test_a_flood_of_bulk_work_leaves_other_schedules_on_time(stack: Stack, database_url: str) -> None:
    base = stack.start_all(web_env=FLOOD_ALLOWED)
    mallory, alice = create_user_token(stack, "mallory"), create_user_token(stack, "alice")
    bulk = Queue(f"{stack.queue}-bulk", connection=stack.redis)
    with client(base, mallory) as flood, client(base, alice) as api:
        origin = (utcnow() - timedelta(hours=BACKFILLS * BACKFILL_SIZE + 1)).replace(microsecond=0)
        hourly = create(flood, {"schedule_type": "interval", "interval_seconds": 3600, "overlap_policy": "allow",
                                "start_at": origin.isoformat()})
        for part in range(BACKFILLS):
            start = origin + timedelta(hours=part * BACKFILL_SIZE)
            end = start + timedelta(hours=BACKFILL_SIZE - 1)
            answer = flood.post(f"/api/v1/schedules/{hourly['id']}/backfill",
                                json={"start": start.isoformat(), "end": end.isoformat()})
            assert answer.status_code == 202 and answer.json()["count"] == BACKFILL_SIZE, answer.text
        for _ in range(RUN_NOW):
            assert flood.post(f"/api/v1/schedules/{hourly['id']}/trigger").status_code == 202
        flooded = bulk.count
        alices = create(api, {"schedule_type": "interval", "interval_seconds": ALICE_EVERY})

        def alice_ran() -> list[ScheduleRun]:
            stack.assert_running()
            runs = [r for r in stack.runs(alices["id"]) if r.started_at is not None]
            return runs if len(runs) >= ALICE_OCCURRENCES else []

        runs = wait_for(alice_ran, timeout=ALICE_EVERY * ALICE_OCCURRENCES + 30, interval=0.25,
                        what=f"{ALICE_OCCURRENCES} of Alice's occurrences to start")
        still_flooded = bulk.count

    late = [(r.started_at - r.scheduled_for).total_seconds() for r in runs if isinstance(r.started_at, datetime)]
    print(f"\n[{database_url.split(':')[0]}] bulk queue {flooded} jobs when Alice's schedule was created, "
          f"{still_flooded} after her {len(runs)} runs; her lateness {', '.join(f'{s:.2f} s' for s in late)}")
    assert flooded > 1000, "the flood was not on the queue"
    assert still_flooded > 0, "the flood drained before Alice's occurrences: the test proved nothing"
    assert all(seconds <= ON_TIME_SECONDS for seconds in late), late
