"""Pause (reason, until), resume with catch-up, stop, the per-user limit and the audit trail, over the API."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rqflow.db import session_scope
from rqflow.models import UserProfile, utcnow
from rqflow.services import schedules as schedule_service
from rqflow.settings import get_settings
from rqflow.signals import NullSignals
from tests.integration.conftest import ApiUser, in_future, make_schedule, make_workflow

API = "/api/v1/schedules"


def pause_at(user: ApiUser, schedule_id: str, when: datetime) -> None:
    """Pause through the service as if it happened at ``when`` (the API always uses the clock)."""
    with session_scope() as db:
        owner = db.get(UserProfile, user.id)
        assert owner is not None
        schedule_service.pause_schedule(db=db, owner=owner, schedule_id=schedule_id, now=when, signals=NullSignals())


def runs(client: TestClient, user: ApiUser, schedule_id: str) -> list[dict[str, Any]]:
    page = client.get(f"{API}/{schedule_id}/runs", params={"limit": 500}, headers=user.headers).json()
    return sorted(page["items"], key=lambda run: run["scheduled_for"])


def test_pause_shows_reason_and_until_and_refuses_a_past_until(client: TestClient, alice: ApiUser) -> None:
    job = make_schedule(alice, make_workflow(alice))
    until = in_future(3600)
    paused = client.post(f"{API}/{job.id}/pause", json={"reason": "maintenance", "until": until},
                         headers=alice.headers)
    assert paused.status_code == 200, paused.text
    data = paused.json()
    assert (data["status"], data["paused_reason"]) == ("paused", "maintenance")
    assert datetime.fromisoformat(data["paused_until"]) == datetime.fromisoformat(until)
    assert data["paused_at"] is not None and data["next_run_at"] is None
    past = client.post(f"{API}/{job.id}/pause", json={"until": (utcnow() - timedelta(seconds=5)).isoformat()},
                       headers=alice.headers)
    assert past.status_code == 422 and past.json()["field"] == "until"
    assert client.get(f"{API}/{job.id}", headers=alice.headers).json()["paused_reason"] == "maintenance"
    resumed = client.post(f"{API}/{job.id}/resume", headers=alice.headers).json()
    assert (resumed["status"], resumed["paused_reason"], resumed["paused_until"]) == ("active", "", None)


@pytest.mark.parametrize(("policy", "window", "expected"), [
    # Ten occurrences fell in the pause; the newest is less than a minute old.
    ("latest", None, {"enqueued": 1, "skipped": 9}),
    ("all", None, {"enqueued": 1, "waiting": 9}),
    ("all", 150, {"enqueued": 1, "waiting": 1, "skipped": 8}),
    ("skip", None, {"skipped": 10}),
])
def test_resume_applies_the_catchup_policy_to_the_pause(
    client: TestClient, alice: ApiUser, monkeypatch: pytest.MonkeyPatch, policy: str, window: int | None,
    expected: dict[str, int],
) -> None:
    monkeypatch.setenv("RQFLOW_MISFIRE_GRACE_SECONDS", "0")  # under skip, nothing in the past counts as on time
    get_settings.cache_clear()
    created = utcnow() - timedelta(seconds=10 * 60 + 30)
    job = make_schedule(alice, make_workflow(alice), now=created, catchup_policy=policy,
                        catchup_window_seconds=window)
    pause_at(alice, job.id, created + timedelta(seconds=30))

    resumed = client.post(f"{API}/{job.id}/resume", headers=alice.headers)

    assert resumed.status_code == 200, resumed.text
    ledger = runs(client, alice, job.id)
    assert Counter(run["status"] for run in ledger) == expected
    instants = [datetime.fromisoformat(run["scheduled_for"]) for run in ledger]
    assert instants == [created.replace(microsecond=0) + timedelta(seconds=60 * k) for k in range(1, 11)]
    assert all(run["reason"] == "schedule was paused" for run in ledger if run["status"] == "skipped")
    started = [run for run in ledger if run["status"] in ("enqueued", "waiting")]
    assert all(run["trigger_kind"] == "schedule" for run in started)
    if policy == "latest":
        assert ledger[-1]["status"] == "enqueued"
    data = resumed.json()
    assert data["missed_count"] == 0  # a deliberate pause is not a miss
    assert datetime.fromisoformat(data["next_run_at"]) > utcnow() - timedelta(seconds=1)


def test_stop_is_final(client: TestClient, alice: ApiUser) -> None:
    job = make_schedule(alice, make_workflow(alice))
    stopped = client.post(f"{API}/{job.id}/stop", headers=alice.headers)
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
    assert stopped.json()["next_run_at"] is None
    for action in ("resume", "pause"):
        refused = client.post(f"{API}/{job.id}/{action}", headers=alice.headers)
        assert refused.status_code == 409 and refused.json()["field"] == "status", refused.text


def test_the_active_schedule_limit_names_its_setting(
    client: TestClient, alice: ApiUser, bob: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RQFLOW_MAX_SCHEDULES_PER_USER", "2")
    get_settings.cache_clear()
    workflow_id = make_workflow(alice)
    body = {"name": "n", "workflow_id": workflow_id, "schedule_type": "interval", "interval_seconds": 60}
    first, second = (client.post(API, json=body, headers=alice.headers).json() for _ in range(2))
    refused = client.post(API, json=body, headers=alice.headers)
    assert refused.status_code == 409 and "RQFLOW_MAX_SCHEDULES_PER_USER" in refused.json()["message"]
    assert client.get(API, headers=alice.headers).json()["total"] == 2  # nothing written
    client.post(f"{API}/{first['id']}/pause", headers=alice.headers)
    assert client.post(API, json=body, headers=alice.headers).status_code == 201
    assert client.post(f"{API}/{first['id']}/resume", headers=alice.headers).status_code == 409
    assert client.get(f"{API}/{first['id']}", headers=alice.headers).json()["status"] == "paused"
    other = client.post(API, json={**body, "workflow_id": make_workflow(bob)}, headers=bob.headers)
    assert other.status_code == 201, "the limit is per user"
    assert second["status"] == "active"


def test_jitter_must_stay_below_the_spacing(client: TestClient, alice: ApiUser) -> None:
    workflow_id = make_workflow(alice)
    body = {"name": "j", "workflow_id": workflow_id, "schedule_type": "interval", "interval_seconds": 60}
    assert client.post(API, json={**body, "jitter_seconds": 59}, headers=alice.headers).status_code == 201
    refused = client.post(API, json={**body, "jitter_seconds": 60}, headers=alice.headers)
    assert refused.status_code == 422 and refused.json()["field"] == "jitter_seconds"
    cron = {**body, "schedule_type": "cron", "interval_seconds": None, "cron_expression": "*/5 * * * *"}
    refused = client.post(API, json={**cron, "jitter_seconds": 300}, headers=alice.headers)
    assert refused.status_code == 422 and refused.json()["field"] == "jitter_seconds"


def test_every_change_is_in_the_history_even_after_delete(
    client: TestClient, alice: ApiUser, bob: ApiUser
) -> None:
    workflow_id = make_workflow(alice)
    created = client.post(API, json={"name": "audited", "workflow_id": workflow_id, "schedule_type": "interval",
                                     "interval_seconds": 60}, headers=alice.headers).json()
    schedule_id = created["id"]
    client.patch(f"{API}/{schedule_id}", json={"interval_seconds": 120, "name": "audited"}, headers=alice.headers)
    client.patch(f"{API}/{schedule_id}", json={"name": "audited"}, headers=alice.headers)  # no change, no row
    client.post(f"{API}/{schedule_id}/pause", json={"reason": "holiday"}, headers=alice.headers)
    client.post(f"{API}/{schedule_id}/resume", headers=alice.headers)
    client.delete(f"{API}/{schedule_id}", headers=alice.headers)

    history = client.get(f"{API}/{schedule_id}/history", headers=alice.headers)

    assert history.status_code == 200, history.text
    items = history.json()["items"]
    assert [item["action"] for item in items] == ["create", "update", "pause", "resume", "delete"]
    assert all(item["actor"] == "user:alice" for item in items)
    assert items[0]["changes"]["interval_seconds"] == {"old": None, "new": 60}
    assert items[1]["changes"] == {"interval_seconds": {"old": 60, "new": 120}}
    assert items[2]["reason"] == "holiday"
    assert items[2]["changes"]["status"] == {"old": "active", "new": "paused"}
    assert items[3]["changes"]["status"] == {"old": "paused", "new": "active"}
    assert items[4]["changes"]["name"] == {"old": "audited", "new": None}
    assert client.get(f"{API}/{schedule_id}/history", headers=bob.headers).status_code == 404
    assert client.get(f"{API}/no-such-id/history", headers=alice.headers).status_code == 404
