"""``--notify`` on ``rqflow schedules create`` and ``rqflow schedules notifications``, against the real API."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from rqflow.db import session_scope
from rqflow.models import NotificationDelivery, Schedule, utcnow
from rqflow.settings import get_settings
from tests.integration.cli.conftest import Rqflow
from tests.integration.cli.test_cli_against_the_api import loads, ok
from tests.integration.conftest import ApiUser, make_schedule, make_workflow

HOOK = "https://hooks.example.com/rqflow"


def create(rqflow: Rqflow, alice: ApiUser, *notify: str) -> tuple[int, str, str]:
    """``schedules create`` with one --notify per line: (exit code, stdout, stderr)."""
    options = [part for line in notify for part in ("--notify", line)]
    result = rqflow("schedules", "create", "--name", "notified", "--workflow", str(make_workflow(alice)),
                    "--interval", "5m", *options, "--json")
    return result.exit_code, result.stdout, result.stderr


def created_id(stdout: str) -> str:
    return str(json.loads(stdout)["id"])


def schedules() -> int:
    with session_scope() as db:
        return db.scalar(select(func.count()).select_from(Schedule)) or 0


def test_each_notify_option_becomes_an_entry(rqflow: Rqflow, alice: ApiUser) -> None:
    code, out, err = create(rqflow, alice, f"failed,timeout {HOOK}", f" succeeded {HOOK}/ok ")
    assert code == 0, err
    created = loads(ok(rqflow("schedules", "show", created_id(out), "--json")))
    assert created["notify"] == [{"on": ["failed", "timeout"], "webhook": HOOK},
                                 {"on": ["succeeded"], "webhook": f"{HOOK}/ok"}]


def test_without_notify_the_schedule_has_no_entries(rqflow: Rqflow, alice: ApiUser) -> None:
    code, out, err = create(rqflow, alice)
    assert code == 0, err
    assert loads(ok(rqflow("schedules", "show", created_id(out), "--json")))["notify"] is None


@pytest.mark.parametrize(("line", "says"), [
    ("failed", "write the outcomes, a space, then a URL or an email address"),
    ("failed,sometimes https://hooks.example.com/x", "on.1: Input should be"),
    ("failed ftp://hooks.example.com/x", "webhook: Value error, must be an http:// or https:// URL"),
])
def test_a_bad_notify_names_the_option_and_its_line(rqflow: Rqflow, alice: ApiUser, line: str, says: str) -> None:
    code, out, err = create(rqflow, alice, f"failed {HOOK}", line)
    assert (code, out) == (1, "")
    assert err.startswith(f"rqflow: --notify {line!r}: ") and says in err and err.count("\n") == 1, err
    assert schedules() == 0


def test_an_email_entry_the_server_cannot_send_names_its_line(
    rqflow: Rqflow, alice: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RQFLOW_SMTP_URL", raising=False)
    get_settings.cache_clear()
    code, _, err = create(rqflow, alice, f"failed {HOOK}", "succeeded ops@example.com")
    assert code == 1
    assert err.startswith("rqflow: --notify 'succeeded ops@example.com': email: this server sends no email"), err
    assert schedules() == 0


def test_notifications_lists_the_deliveries_newest_first(rqflow: Rqflow, alice: ApiUser) -> None:
    schedule = make_schedule(alice, make_workflow(alice), timezone="Europe/Berlin",
                             notify=[{"on": ["failed"], "webhook": HOOK}])
    now = utcnow()
    with session_scope() as db:
        db.add(NotificationDelivery(
            scheduled_job_id=schedule.id, outcome="succeeded", channel="webhook", target=f"{HOOK}/old",
            status="delivered", attempts=1, payload={}, created_at=now - timedelta(hours=1), delivered_at=now))
        db.add(NotificationDelivery(
            scheduled_job_id=schedule.id, outcome="failed", channel="webhook", target=HOOK, status="pending",
            attempts=2, last_error="HTTP 503 from the target\nmore", next_attempt_at=now + timedelta(minutes=5),
            payload={}, created_at=now))

    table = ok(rqflow("schedules", "notifications", schedule.id)).stdout
    assert "notifications 1–2 of 2" in table
    lines = [line for line in table.splitlines() if HOOK in line]
    assert len(lines) == 2 and "pending" in lines[0] and "delivered" in lines[1], table
    assert "next try" in lines[0] and "HTTP 503 from the target" in lines[0] and "more" not in lines[0]
    assert "CE" in lines[0], "times in the schedule's zone (CET or CEST)"

    page = loads(rqflow("schedules", "notifications", schedule.id, "--limit", "1", "--json"))
    assert (page["total"], [item["target"] for item in page["items"]]) == (2, [HOOK])
    assert page["items"][0]["tries"] == [] and page["items"][0]["attempts"] == 2


def test_notifications_of_an_unknown_schedule(rqflow: Rqflow) -> None:
    # A whole id goes to the API as is (the start of one is looked up first: tests/unit/cli/test_short_ids.py).
    result = rqflow("schedules", "notifications", "00000000-0000-4000-8000-000000000000")
    assert result.exit_code == 1 and "not found" in result.stderr


def test_test_notify_queues_one_test_notification_per_entry(rqflow: Rqflow, alice: ApiUser) -> None:
    code, out, err = create(rqflow, alice, f"failed {HOOK}", f"succeeded {HOOK}/ok")
    assert code == 0, err
    sent = loads(ok(rqflow("schedules", "test-notify", created_id(out), "--json")))
    assert sent["count"] == 2
    assert [(item["outcome"], item["target"], item["status"]) for item in sent["items"]] == [
        ("test", HOOK, "pending"), ("test", f"{HOOK}/ok", "pending")]
    table = ok(rqflow("schedules", "test-notify", created_id(out)[:8])).stdout
    assert "test" in table and "pending" in table
