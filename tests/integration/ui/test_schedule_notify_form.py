"""A schedule's notify entries through the dashboard: one line each in the form, deliveries on its page."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from rqflow.db import session_scope
from rqflow.models import NotificationAttempt, NotificationDelivery, utcnow
from rqflow.settings import get_settings
from tests.integration.conftest import ApiUser, make_schedule, make_workflow
from tests.integration.ui.test_dashboard import ORIGIN, schedule_count, schedule_row, sign_in

HOOK = "https://hooks.example.com/rqflow"
OTHER_HOOK = "https://hooks.example.com/other"


def form(workflow_id: int | None = None, **changes: str) -> dict[str, str]:
    """The schedule form as a browser posts it (every minute), with ``changes``."""
    fields = {"name": "notified", "schedule_type": "interval", "interval_seconds": "60", "timezone": "UTC",
              "catchup_policy": "latest", "overlap_policy": "skip"}
    if workflow_id is not None:
        fields["workflow_id"] = str(workflow_id)
    return {**fields, **changes}


def field_error(page: str, field: str) -> str:
    """The text shown under ``field`` (unescaped), failing if there is none."""
    found = re.search(rf'<p class="field-error" id="{field}-error"[^>]*>([^<]+)</p>', page)
    assert found is not None, page[:3000]
    return html.unescape(found.group(1))


def textarea(page: str) -> str:
    found = re.search(r'<textarea id="notify"[^>]*>([^<]*)</textarea>', page)
    assert found is not None
    return html.unescape(found.group(1))


def test_two_lines_become_two_entries(client: TestClient, alice: ApiUser) -> None:
    sign_in(client, alice)
    lines = f"failed,timeout {HOOK}\r\n\r\n  succeeded,missed {OTHER_HOOK}  \r\n"
    page = client.post("/ui/schedules/new", headers=ORIGIN, data=form(make_workflow(alice), notify=lines))
    assert page.status_code == 200, page.text[:2000]
    schedule = schedule_row(page.url.path.rsplit("/", 1)[1])
    assert schedule.notify == [{"on": ["failed", "timeout"], "webhook": HOOK},
                               {"on": ["succeeded", "missed"], "webhook": OTHER_HOOK}]
    entries = page.text[page.text.index('id="notify-entries"'):]
    assert f"failed,timeout {HOOK}" in entries and f"succeeded,missed {OTHER_HOOK}" in entries
    assert "No notifications sent yet." in page.text


def test_a_blank_textarea_sends_no_entries(client: TestClient, alice: ApiUser) -> None:
    sign_in(client, alice)
    page = client.post("/ui/schedules/new", headers=ORIGIN, data=form(make_workflow(alice), notify=" \r\n "))
    assert page.status_code == 200, page.text[:2000]
    assert schedule_row(page.url.path.rsplit("/", 1)[1]).notify is None
    assert 'id="notify-entries"' not in page.text and "this schedule notifies no one" in page.text


@pytest.mark.parametrize(("line", "says"), [
    ("failed,sometimes https://hooks.example.com/x", "on.1"),
    ("failed", "write the outcomes, a space, then a URL or an email address"),
    ("failed ftp://hooks.example.com/x", "http:// or https://"),
])
def test_a_bad_line_is_named_under_the_field_and_nothing_is_stored(
    client: TestClient, alice: ApiUser, line: str, says: str
) -> None:
    sign_in(client, alice)
    typed = f"failed {HOOK}\n{line}"
    page = client.post("/ui/schedules/new", headers=ORIGIN, data=form(make_workflow(alice), notify=typed))
    assert page.status_code == 422
    error = field_error(page.text, "notify")
    assert error.startswith("notify: ") and repr(line) in error and says in error
    assert textarea(page.text) == typed, "what was typed stays"
    assert re.search(r'<details id="notify-section" open>', page.text), "the section opens on its error"
    assert 'aria-invalid="true" aria-describedby="notify-error"' in page.text
    assert schedule_count() == 0


def test_more_than_ten_entries_are_refused(client: TestClient, alice: ApiUser) -> None:
    sign_in(client, alice)
    typed = "\n".join(f"failed {HOOK}/{number}" for number in range(11))
    page = client.post("/ui/schedules/new", headers=ORIGIN, data=form(make_workflow(alice), notify=typed))
    assert page.status_code == 422 and "at most 10 entries" in field_error(page.text, "notify")
    assert schedule_count() == 0


def test_editing_fills_in_the_lines_and_clearing_them_removes_the_entries(
    client: TestClient, alice: ApiUser
) -> None:
    schedule = make_schedule(alice, make_workflow(alice), notify=[
        {"on": ["failed", "timeout"], "webhook": HOOK}, {"on": ["auto_paused"], "webhook": OTHER_HOOK}])
    sign_in(client, alice)
    edit = client.get(f"/ui/schedules/{schedule.id}/edit").text
    assert textarea(edit) == f"failed,timeout {HOOK}\nauto_paused {OTHER_HOOK}"
    assert '<details id="notify-section" open>' in edit, "entries are shown, not folded away"

    changed = client.post(f"/ui/schedules/{schedule.id}/edit", headers=ORIGIN,
                          data=form(notify=f"failed,timeout {HOOK}\ndaily_budget {OTHER_HOOK}"))
    assert changed.status_code == 200, changed.text[:2000]
    assert schedule_row(schedule.id).notify == [{"on": ["failed", "timeout"], "webhook": HOOK},
                                                {"on": ["daily_budget"], "webhook": OTHER_HOOK}]

    cleared = client.post(f"/ui/schedules/{schedule.id}/edit", headers=ORIGIN, data=form(notify=""))
    assert cleared.status_code == 200, cleared.text[:2000]
    assert not schedule_row(schedule.id).notify
    assert textarea(client.get(f"/ui/schedules/{schedule.id}/edit").text) == ""


def test_a_bad_line_on_edit_keeps_the_stored_entries(client: TestClient, alice: ApiUser) -> None:
    schedule = make_schedule(alice, make_workflow(alice), notify=[{"on": ["failed"], "webhook": HOOK}])
    sign_in(client, alice)
    page = client.post(f"/ui/schedules/{schedule.id}/edit", headers=ORIGIN, data=form(notify="failed nobody"))
    assert page.status_code == 422 and "'failed nobody'" in field_error(page.text, "notify")
    assert schedule_row(schedule.id).notify == [{"on": ["failed"], "webhook": HOOK}]


def test_an_email_entry_without_smtp_is_refused_under_the_field(
    client: TestClient, alice: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RQFLOW_SMTP_URL", raising=False)
    get_settings.cache_clear()
    sign_in(client, alice)
    typed = f"failed {HOOK}\nsucceeded ops@example.com"
    page = client.post("/ui/schedules/new", headers=ORIGIN, data=form(make_workflow(alice), notify=typed))
    assert page.status_code == 422
    error = field_error(page.text, "notify")
    assert "'succeeded ops@example.com'" in error and "RQFLOW_SMTP_URL" in error
    assert schedule_count() == 0


def test_an_email_entry_with_smtp_is_stored(
    client: TestClient, alice: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RQFLOW_SMTP_URL", "smtp://127.0.0.1:2525")
    get_settings.cache_clear()
    sign_in(client, alice)
    page = client.post("/ui/schedules/new", headers=ORIGIN,
                       data=form(make_workflow(alice), notify="succeeded ops@example.com"))
    get_settings.cache_clear()
    assert page.status_code == 200, page.text[:2000]
    assert schedule_row(page.url.path.rsplit("/", 1)[1]).notify == [{"on": ["succeeded"],
                                                                       "email": "ops@example.com"}]


def test_the_schedule_page_lists_its_deliveries(client: TestClient, alice: ApiUser) -> None:
    schedule = make_schedule(alice, make_workflow(alice), notify=[{"on": ["failed"], "webhook": HOOK}])
    now = utcnow()
    with session_scope() as db:
        db.add(NotificationDelivery(
            scheduled_job_id=schedule.id, outcome="succeeded", channel="webhook", target=OTHER_HOOK,
            status="delivered", attempts=1, payload={}, created_at=now - timedelta(minutes=5), delivered_at=now))
        pending = NotificationDelivery(
            scheduled_job_id=schedule.id, outcome="failed", channel="webhook", target=HOOK, status="pending",
            attempts=1, last_error="HTTP 503 <b>busy</b>", next_attempt_at=now + timedelta(minutes=2, seconds=30),
            payload={}, created_at=now)
        pending.attempt_log.append(NotificationAttempt(attempt=1, started_at=now, duration_ms=12.0, ok=False,
                                                       status_code=503, error="HTTP 503 <b>busy</b>"))
        db.add(pending)
    sign_in(client, alice)
    page = client.get(f"/ui/schedules/{schedule.id}").text
    table = page[page.index('id="notifications"'):page.index("</table>", page.index('id="notifications"'))]
    rows = table.split("<tr data-status=")[1:]
    assert [row.split('"')[1] for row in rows] == ["pending", "delivered"], "newest first"
    assert HOOK in rows[0] and "HTTP 503 &lt;b&gt;busy&lt;/b&gt;" in rows[0] and "in 2 min" in rows[0]
    assert OTHER_HOOK in rows[1] and "badge-delivered" in rows[1] and "5 min ago" in rows[1]
    assert "(2 of 2)" in page


def test_a_test_notification_is_sent_from_the_schedules_page(client: TestClient, alice: ApiUser) -> None:
    workflow_id = make_workflow(alice)
    notified = make_schedule(alice, workflow_id, notify=[{"on": ["failed"], "webhook": HOOK}])
    silent = make_schedule(alice, workflow_id, name="silent")
    sign_in(client, alice)
    assert "Send a test notification" in client.get(f"/ui/schedules/{notified.id}").text
    assert "Send a test notification" not in client.get(f"/ui/schedules/{silent.id}").text

    page = client.post(f"/ui/schedules/{notified.id}/notifications/test", headers=ORIGIN).text
    assert "Sending a test notification to 1 target." in page
    with session_scope() as db:
        [delivery] = db.query(NotificationDelivery).all()
        assert (delivery.outcome, delivery.target, delivery.scheduled_job_id) == ("test", HOOK, notified.id)
    refused = client.post(f"/ui/schedules/{silent.id}/notifications/test", headers=ORIGIN).text
    assert "flash-error" in refused and "no notify entries" in refused
