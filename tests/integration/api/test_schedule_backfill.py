"""POST /api/v1/schedules/{id}/backfill: past occurrences without a ledger row run, in order, once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from redis import Redis
from rq import Queue, SimpleWorker

from rqflow.models import utcnow
from rqflow.settings import Settings
from tests.integration.conftest import ApiUser, make_schedule, make_workflow

API = "/api/v1/schedules"


def hourly(user: ApiUser, **overrides: Any) -> str:
    return make_schedule(user, make_workflow(user), schedule_type="cron", cron_expression="0 * * * *",
                         interval_seconds=None, **overrides).id


def whole_hour(hours_ago: int) -> datetime:
    return utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours_ago)


def backfill(client: TestClient, user: ApiUser, schedule_id: str, start: datetime, end: datetime) -> Any:
    return client.post(f"{API}/{schedule_id}/backfill", json={"start": start.isoformat(), "end": end.isoformat()},
                       headers=user.headers)


def test_backfill_runs_each_missing_occurrence_once_in_order(
    client: TestClient, alice: ApiUser, redis: Redis, settings: Settings
) -> None:
    schedule_id = hourly(alice)
    start, end = whole_hour(5), whole_hour(1)

    response = backfill(client, alice, schedule_id, start, end)

    assert response.status_code == 202, response.text
    data = response.json()
    assert data["count"] == 5
    assert [datetime.fromisoformat(run["scheduled_for"]) for run in data["runs"]] == [
        start + timedelta(hours=k) for k in range(5)]
    assert [run["status"] for run in data["runs"]] == ["enqueued"] + ["waiting"] * 4  # one at a time under skip
    assert {run["trigger_kind"] for run in data["runs"]} == {"backfill"}

    assert Queue(settings.queue, connection=redis).count == 0, "backfills go to the bulk queue"
    SimpleWorker([Queue(settings.bulk_queue, connection=redis)], connection=redis).work(burst=True)

    ledger = client.get(f"{API}/{schedule_id}/runs", params={"limit": 100}, headers=alice.headers).json()["items"]
    assert [run["status"] for run in ledger] == ["succeeded"] * 5
    by_start = sorted(ledger, key=lambda run: run["started_at"])
    assert [run["scheduled_for"] for run in by_start] == sorted(run["scheduled_for"] for run in ledger)
    schedule = client.get(f"{API}/{schedule_id}", headers=alice.headers).json()
    assert schedule["run_count"] == 0, "backfills do not count toward max_runs"
    again = backfill(client, alice, schedule_id, start - timedelta(hours=1), end)
    assert again.json()["count"] == 1, "only the occurrence without a row is added"


def test_backfill_under_allow_queues_everything_at_once(client: TestClient, alice: ApiUser) -> None:
    schedule_id = hourly(alice, overlap_policy="allow")
    data = backfill(client, alice, schedule_id, whole_hour(3), whole_hour(1)).json()
    assert [run["status"] for run in data["runs"]] == ["enqueued"] * 3


def test_backfill_refuses_bad_ranges_and_writes_nothing(client: TestClient, alice: ApiUser, bob: ApiUser) -> None:
    schedule_id = hourly(alice)
    cases = [
        (whole_hour(1), whole_hour(2), "start"),
        (whole_hour(2), utcnow() + timedelta(hours=1), "end"),
        (whole_hour(2000), whole_hour(1), "end"),  # more than 1000 occurrences
    ]
    for start, end, field in cases:
        response = backfill(client, alice, schedule_id, start, end)
        assert response.status_code == 422 and response.json()["field"] == field, response.text
    missing_end = client.post(f"{API}/{schedule_id}/backfill", json={"start": whole_hour(2).isoformat()},
                              headers=alice.headers)
    assert missing_end.status_code == 422 and missing_end.json()["field"] == "end"
    assert backfill(client, bob, schedule_id, whole_hour(3), whole_hour(1)).status_code == 404
    assert client.get(f"{API}/{schedule_id}/runs", headers=alice.headers).json()["total"] == 0
