"""``notify`` entries through the API: stored and shown as written, refused (422 naming the field) when they cannot
work on this server; a schedule's notifications listed; the webhook secret shown and rotated."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from rqflow.db import session_scope
from rqflow.models import NotificationAttempt, NotificationDelivery, Schedule, utcnow
from rqflow.settings import get_settings
from tests.integration.conftest import ApiUser, make_workflow

HOOK = "https://hooks.example.com/rqflow"


def body(workflow_id: int, notify: Any) -> dict[str, Any]:
    return {"name": "nightly", "workflow_id": workflow_id, "schedule_type": "interval", "interval_seconds": 3600,
            "notify": notify}


def test_entries_are_stored_and_shown_as_written_and_can_be_cleared(client: TestClient, alice: ApiUser) -> None:
    workflow_id = make_workflow(alice)
    entries = [{"on": ["failed", "timeout"], "webhook": HOOK}, {"on": ["succeeded"], "webhook": HOOK + "/ok"}]
    created = client.post("/api/v1/schedules", json=body(workflow_id, entries), headers=alice.headers)
    assert created.status_code == 201, created.text
    assert created.json()["notify"] == entries
    schedule_id = created.json()["id"]
    cleared = client.patch(f"/api/v1/schedules/{schedule_id}", json={"notify": []}, headers=alice.headers)
    assert cleared.status_code == 200 and cleared.json()["notify"] == []


@pytest.mark.parametrize(("notify", "field"), [
    ([{"on": ["exploded"], "webhook": HOOK}], "notify.0.on.0"),
    ([{"on": [], "webhook": HOOK}], "notify.0.on"),
    ([{"on": ["failed"]}], "notify.0"),
    ([{"on": ["failed"], "webhook": HOOK, "email": "ops@example.com"}], "notify.0"),
    ([{"on": ["failed"], "webhook": "ftp://files.example.com/x"}], "notify.0.webhook"),
    ([{"on": ["failed"], "webhook": "https://user:pw@hooks.example.com/x"}], "notify.0.webhook"),
    ([{"on": ["failed"], "email": "not an address"}], "notify.0.email"),
    ([{"on": ["failed"], "webhook": HOOK, "secret": "x"}], "notify.0.secret"),
    ([{"on": ["failed"], "webhook": HOOK}] * 11, "notify"),
    ([{"on": ["failed"], "email": "ops@example.com"}], "notify.0.email"),  # RQFLOW_SMTP_URL is not set
])
def test_an_entry_that_cannot_work_is_refused_naming_the_field_and_nothing_is_stored(
    client: TestClient, alice: ApiUser, notify: Any, field: str
) -> None:
    answer = client.post("/api/v1/schedules", json=body(make_workflow(alice), notify), headers=alice.headers)
    assert answer.status_code == 422, answer.text
    assert field in answer.text
    with session_scope() as db:
        assert db.scalar(select(func.count()).select_from(Schedule)) == 0


def test_email_goes_only_where_the_operator_allows(
    client: TestClient, alice: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RQFLOW_SMTP_URL", "smtp://127.0.0.1:2525")
    monkeypatch.setenv("RQFLOW_NOTIFY_EMAIL_ALLOW", "example.com,boss@partner.example")
    get_settings.cache_clear()
    workflow_id = make_workflow(alice)
    for address in ("ops@example.com", "Boss@partner.example"):
        answer = client.post("/api/v1/schedules", json=body(workflow_id, [{"on": ["failed"], "email": address}]),
                             headers=alice.headers)
        assert answer.status_code == 201, answer.text
    refused = client.post("/api/v1/schedules", json=body(workflow_id, [{"on": ["failed"],
                                                                        "email": "victim@elsewhere.example"}]),
                          headers=alice.headers)
    assert refused.status_code == 422 and "RQFLOW_NOTIFY_EMAIL_ALLOW" in refused.text and "notify.0.email" in refused.text


def test_a_schedules_notifications_are_listed_newest_first_with_their_tries_to_its_owner_only(
    client: TestClient, alice: ApiUser, bob: ApiUser
) -> None:
    created = client.post("/api/v1/schedules", json=body(make_workflow(alice), [{"on": ["failed"], "webhook": HOOK}]),
                          headers=alice.headers).json()
    now = utcnow()
    with session_scope() as db:
        for index, status in enumerate(("delivered", "pending")):
            delivery = NotificationDelivery(scheduled_job_id=created["id"], schedule_run_id=7, outcome="failed",
                                            channel="webhook", target=HOOK, status=status, attempts=1,
                                            last_error="" if status == "delivered" else "HTTP 500",
                                            payload={}, created_at=now + timedelta(seconds=index))
            db.add(delivery)
            db.flush()
            db.add(NotificationAttempt(delivery_id=delivery.id, attempt=1, started_at=now, duration_ms=12.5,
                                       ok=status == "delivered", status_code=200 if status == "delivered" else 500,
                                       error=delivery.last_error))
    answer = client.get(f"/api/v1/schedules/{created['id']}/notifications", headers=alice.headers)
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["total"] == 2
    assert [(item["status"], item["run_id"], item["schedule_id"]) for item in page["items"]] == [
        ("pending", 7, created["id"]), ("delivered", 7, created["id"])]
    assert [(t["attempt"], t["ok"], t["status_code"]) for t in page["items"][0]["tries"]] == [(1, False, 500)]
    assert client.get(f"/api/v1/schedules/{created['id']}/notifications", headers=bob.headers).status_code == 404


def test_the_webhook_secret_is_each_users_own_stable_until_rotated(
    client: TestClient, alice: ApiUser, bob: ApiUser
) -> None:
    first = client.get("/api/v1/webhook-secret", headers=alice.headers).json()
    assert first["secret"].startswith("whsec_") and first["signature_header"] == "X-Rqflow-Signature"
    assert client.get("/api/v1/webhook-secret", headers=alice.headers).json()["secret"] == first["secret"]
    assert client.get("/api/v1/webhook-secret", headers=bob.headers).json()["secret"] != first["secret"]
    rotated = client.post("/api/v1/webhook-secret/rotate", headers=alice.headers).json()["secret"]
    assert rotated != first["secret"]
    assert client.get("/api/v1/webhook-secret", headers=alice.headers).json()["secret"] == rotated
    assert client.get("/api/v1/webhook-secret").status_code == 401


def test_a_test_notification_goes_to_each_entry_of_the_owners_schedule_only(
    client: TestClient, alice: ApiUser, bob: ApiUser
) -> None:
    workflow_id = make_workflow(alice)
    entries = [{"on": ["failed"], "webhook": HOOK}, {"on": ["succeeded"], "webhook": HOOK + "/ok"}]
    notified = client.post("/api/v1/schedules", json=body(workflow_id, entries), headers=alice.headers).json()
    silent = client.post("/api/v1/schedules", json=body(workflow_id, None), headers=alice.headers).json()

    sent = client.post(f"/api/v1/schedules/{notified['id']}/notifications/test", headers=alice.headers)
    assert sent.status_code == 202, sent.text
    assert sent.json()["count"] == 2
    assert [(item["outcome"], item["target"], item["status"], item["run_id"]) for item in sent.json()["items"]] == [
        ("test", HOOK, "pending", None), ("test", HOOK + "/ok", "pending", None)]
    listed = client.get(f"/api/v1/schedules/{notified['id']}/notifications", headers=alice.headers).json()
    assert listed["total"] == 2

    refused = client.post(f"/api/v1/schedules/{silent['id']}/notifications/test", headers=alice.headers)
    assert refused.status_code == 422 and refused.json()["field"] == "notify"
    assert client.post(f"/api/v1/schedules/{notified['id']}/notifications/test",
                       headers=bob.headers).status_code == 404
    with session_scope() as db:
        assert db.scalar(select(func.count()).select_from(NotificationDelivery)) == 2
