"""Every schedule kind through every service path a worker or scheduler takes, at the edges of its range.

A one-time schedule once never ran: its claim multiplied the "never repeats" spacing
by the catch-up limit and fell off the calendar (``OverflowError``), so no ledger row
was written and the schedule stayed ``active`` for ever. These tests drive each kind
(``once``, ``interval`` up to its largest allowed size, ``cron`` down to once a year)
through the worker's claim, the scheduler's overdue detection and a resume, on both
databases, and check the ledger and the counters each time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from redis import Redis
from sqlalchemy import select

from rqflow.broker.timers import armed
from rqflow.db import session_scope
from rqflow.job_ids import fire_job_id
from rqflow.jobs.tasks import execute_scheduled_trigger
from rqflow.models import Schedule, ScheduleRun, UserProfile, utcnow
from rqflow.schemas.common import MAX_DB_INT
from rqflow.services import catchup, upkeep
from rqflow.services.lifecycle import pause, resume
from rqflow.settings import Settings
from rqflow.signals import NullSignals
from tests.integration.conftest import ApiUser, make_schedule, make_workflow
from tests.integration.ui.test_dashboard import sign_in

LARGEST_INTERVAL = 10 * 365 * 86400  # the schema's upper bound for interval_seconds


def ledger(schedule_id: str) -> list[ScheduleRun]:
    with session_scope() as db:
        query = select(ScheduleRun).where(ScheduleRun.scheduled_job_id == schedule_id).order_by(
            ScheduleRun.scheduled_for, ScheduleRun.id)
        return list(db.scalars(query))


def row(schedule_id: str) -> Schedule:
    with session_scope() as db:
        found = db.get(Schedule, schedule_id)
        assert found is not None
        return found


def once(alice: ApiUser, *, run_at: datetime, created: datetime, **fields: Any) -> Schedule:
    return make_schedule(alice, make_workflow(alice), now=created, schedule_type="once", interval_seconds=None,
                         run_at=run_at.isoformat(), **fields)


def test_a_once_schedule_runs_at_its_instant_and_stops(settings: Settings, redis: Redis, alice: ApiUser) -> None:
    run_at = utcnow().replace(microsecond=0) - timedelta(seconds=1)
    job = once(alice, run_at=run_at, created=run_at - timedelta(seconds=30))
    assert job.next_run_at == run_at

    result = execute_scheduled_trigger(job.id, run_at.isoformat())

    assert result["claimed"] and result["workflow_runs"], result
    [run] = ledger(job.id)
    assert (run.scheduled_for, run.status, run.trigger_kind) == (run_at, "succeeded", "schedule")
    stored = row(job.id)
    assert (stored.status, stored.run_count, stored.next_run_at, stored.error_count) == ("stopped", 1, None, 0)
    assert armed(redis) == {}, "a finished one-time schedule leaves no timer"


def test_a_once_schedule_far_ahead_claims_nothing_early(settings: Settings, alice: ApiUser) -> None:
    """The latest instant the API accepts: created, armed, and a stale early delivery does nothing."""
    far = datetime.fromisoformat("8999-12-31T23:59:59+00:00")
    job = once(alice, run_at=far, created=utcnow(), jitter_seconds=86400)
    assert job.next_run_at == far and job.rq_job_id == fire_job_id(job.id, far)
    assert execute_scheduled_trigger(job.id, (far - timedelta(days=1)).isoformat()) == {"claimed": False}
    assert ledger(job.id) == [] and row(job.id).status == "active"


@pytest.mark.parametrize(("policy", "status", "reason"), [
    ("skip", "missed", "catch-up policy skip: not run after downtime"),
    ("latest", "enqueued", "catch-up"),
    ("all", "enqueued", "catch-up"),
])
def test_an_overdue_once_schedule_is_caught_up_by_the_scheduler(
    settings: Settings, alice: ApiUser, policy: str, status: str, reason: str,
) -> None:
    run_at = utcnow().replace(microsecond=0) - timedelta(hours=2)
    job = once(alice, run_at=run_at, created=run_at - timedelta(hours=1), catchup_policy=policy)
    with session_scope() as db:
        assert upkeep.catch_up_overdue(db, now=utcnow(), signals=NullSignals()) == 1
    [run] = ledger(job.id)
    assert (run.scheduled_for, run.status, run.reason) == (run_at, status, reason)
    stored = row(job.id)
    assert (stored.status, stored.next_run_at) == ("stopped", None)
    assert (stored.run_count, stored.missed_count) == ((0, 1) if status == "missed" else (1, 0))


@pytest.mark.parametrize(("policy", "status"), [("skip", "skipped"), ("latest", "enqueued")])
def test_a_once_schedule_resumed_after_its_instant(
    settings: Settings, alice: ApiUser, policy: str, status: str
) -> None:
    run_at = utcnow().replace(microsecond=0) + timedelta(seconds=5)
    job = once(alice, run_at=run_at, created=utcnow(), catchup_policy=policy)
    signals = NullSignals()
    with session_scope() as db:
        locked = db.get(Schedule, job.id)
        assert locked is not None
        pause(db, locked, now=utcnow(), actor="test", signals=signals)
    with session_scope() as db:
        locked = db.get(Schedule, job.id)
        assert locked is not None
        # Resumed past the misfire grace: under skip the occurrence is over, under latest it still runs.
        resume(db, locked, now=run_at + timedelta(seconds=2 * settings.misfire_grace_seconds + 1), actor="test",
               signals=signals)
    [run] = ledger(job.id)
    assert (run.scheduled_for, run.status) == (run_at, status)
    assert (row(job.id).status, row(job.id).next_run_at) == ("stopped", None)


def test_the_largest_interval_is_claimed_and_armed_years_ahead(settings: Settings, alice: ApiUser) -> None:
    created = utcnow().replace(microsecond=0) - timedelta(seconds=LARGEST_INTERVAL + 1)
    job = make_schedule(alice, make_workflow(alice), now=created, interval_seconds=LARGEST_INTERVAL,
                        catchup_window_seconds=MAX_DB_INT)
    first = created + timedelta(seconds=LARGEST_INTERVAL)
    assert job.next_run_at == first

    result = execute_scheduled_trigger(job.id, first.isoformat())

    assert result["claimed"] and not result.get("error"), result
    assert [(r.scheduled_for, r.status) for r in ledger(job.id)] == [(first, "succeeded")]
    stored = row(job.id)
    assert (stored.status, stored.run_count) == ("active", 1)
    assert stored.next_run_at == first + timedelta(seconds=LARGEST_INTERVAL)


@pytest.mark.parametrize("cron", ["0 0 1 1 *", "0 0 29 2 *"])
def test_a_yearly_cron_line_overdue_for_years_is_caught_up(settings: Settings, alice: ApiUser, cron: str) -> None:
    job = make_schedule(alice, make_workflow(alice), schedule_type="cron", interval_seconds=None,
                        cron_expression=cron, timezone="Pacific/Auckland", catchup_policy="latest")
    first = job.next_run_at
    assert first is not None
    # Years later: every occurrence since is due at once.
    later = first + timedelta(days=365 * 9)
    with session_scope() as db:
        assert upkeep.catch_up_overdue(db, now=later, signals=NullSignals()) == 1
    runs = ledger(job.id)
    assert runs[0].scheduled_for == first and runs[-1].status == "enqueued"
    assert {r.status for r in runs[:-1]} == {"missed"}
    stored = row(job.id)
    assert stored.next_run_at is not None and stored.next_run_at > later


def test_due_occurrences_of_every_kind_at_the_calendar_edges(settings: Settings, alice: ApiUser) -> None:
    """The service's own arithmetic: no kind, spacing or instant makes it leave the calendar."""
    last = datetime.fromisoformat("9999-12-31T23:59:59+00:00")
    with session_scope() as db:
        owner = db.get(UserProfile, alice.id)
        assert owner is not None
        job = Schedule(id="edge", user_profile_id=owner.id, name="edge", schedule_type="once", run_at=last,
                           timezone="UTC", jitter_seconds=0, catchup_policy="all")
        assert catchup.due_occurrences(job, since=last, now=last, include_since=True) == [last]
        assert catchup.next_occurrence(job, after=last - timedelta(days=1)) == last
        assert catchup.next_occurrence(job, after=last) is None
        job.run_at = datetime.fromisoformat("1970-01-01T00:00:00+00:00")
        assert catchup.due_occurrences(job, since=job.run_at, now=utcnow(), include_since=True) == [job.run_at]


# -- a claim that rqflow's own code cannot make ------------------------------------------------------


def corrupt(schedule_id: str, **columns: Any) -> None:
    """Write values no service would accept, as a defect or a hand edit of the database might."""
    with session_scope() as db:
        found = db.get(Schedule, schedule_id)
        assert found is not None
        for name, value in columns.items():
            setattr(found, name, value)


def test_a_claim_that_fails_records_the_occurrence_and_arms_the_next(
    settings: Settings, redis: Redis, alice: ApiUser
) -> None:
    job = make_schedule(alice, make_workflow(alice), now=utcnow() - timedelta(seconds=61))
    occurrence = job.next_run_at
    assert occurrence is not None
    corrupt(job.id, catchup_policy="bogus")  # the claim's catch-up step raises ValueError

    result = execute_scheduled_trigger(job.id, occurrence.isoformat())

    assert result == {"claimed": True, "started": False}
    [run] = ledger(job.id)
    assert (run.scheduled_for, run.status, run.trigger_kind, run.reason) == (
        occurrence, "failed", "schedule", "claim failed")
    assert "ValueError: unknown catch-up policy 'bogus'" in run.error
    stored = row(job.id)
    assert stored.status == "active" and stored.last_error == run.error
    assert (stored.error_count, stored.run_count, stored.consecutive_failures) == (1, 1, 1)
    assert stored.next_run_at == occurrence + timedelta(seconds=60)
    assert set(armed(redis)) == {fire_job_id(job.id, stored.next_run_at)}, "the next occurrence is armed"
    # A second delivery of the failed occurrence is a duplicate like any other.
    assert execute_scheduled_trigger(job.id, occurrence.isoformat()) == {"claimed": False}


def test_a_failed_claim_counts_toward_pause_after_failures(settings: Settings, alice: ApiUser) -> None:
    job = make_schedule(alice, make_workflow(alice), now=utcnow() - timedelta(seconds=61), pause_after_failures=1)
    corrupt(job.id, catchup_policy="bogus")
    execute_scheduled_trigger(job.id, job.next_run_at.isoformat())  # type: ignore[union-attr]
    stored = row(job.id)
    assert (stored.status, stored.next_run_at) == ("paused", None)
    assert "pause_after_failures=1" in stored.paused_reason


def test_a_schedule_whose_next_occurrence_cannot_be_computed_is_paused_with_the_reason(
    settings: Settings, redis: Redis, alice: ApiUser
) -> None:
    job = make_schedule(alice, make_workflow(alice), now=utcnow() - timedelta(seconds=61))
    corrupt(job.id, schedule_type="cron", interval_seconds=None, cron_expression="0 0 * * *", timezone="Mars/Olympus")

    execute_scheduled_trigger(job.id, job.next_run_at.isoformat())  # type: ignore[union-attr]

    [run] = ledger(job.id)
    assert run.status == "failed" and "Mars/Olympus" in run.error
    stored = row(job.id)
    assert (stored.status, stored.next_run_at) == ("paused", None)
    assert "could not compute the next occurrence" in stored.paused_reason and "Mars/Olympus" in stored.paused_reason
    assert armed(redis) == {}


def test_the_overdue_pass_fails_a_broken_schedule_and_catches_up_the_others(
    settings: Settings, alice: ApiUser
) -> None:
    created = utcnow() - timedelta(minutes=10)
    broken = make_schedule(alice, make_workflow(alice), now=created, name="broken")
    healthy = make_schedule(alice, make_workflow(alice), now=created, name="healthy")
    corrupt(broken.id, catchup_policy="bogus")
    with session_scope() as db:
        assert upkeep.catch_up_overdue(db, now=utcnow(), signals=NullSignals()) == 2
    [failed] = ledger(broken.id)
    assert (failed.scheduled_for, failed.status) == (broken.next_run_at, "failed")
    assert row(broken.id).next_run_at > utcnow()  # type: ignore[operator]
    assert {r.status for r in ledger(healthy.id)} == {"missed", "enqueued"}


@pytest.mark.parametrize("body", [
    {"schedule_type": "once", "run_at": "8999-12-31T23:59:59Z", "jitter_seconds": 86400},
    {"schedule_type": "interval", "interval_seconds": LARGEST_INTERVAL, "start_at": "8999-01-01T00:00:00Z",
     "end_at": "8999-12-31T00:00:00Z", "catchup_window_seconds": MAX_DB_INT},
    {"schedule_type": "cron", "cron_expression": "0 0 29 2 *", "timezone": "Pacific/Kiritimati",
     "start_at": "8996-01-01T00:00:00Z"},
], ids=["once in 8999", "largest interval in 8999", "leap day from 8996"])
def test_the_api_answers_for_schedules_at_the_edges(client: Any, alice: ApiUser, body: dict[str, Any]) -> None:
    """Create, read, preview, list runs and show the dashboard page of schedules at the far end of the range."""
    workflow_id = make_workflow(alice)
    created = client.post("/api/v1/schedules", headers=alice.headers,
                          json={"name": "edge", "workflow_id": workflow_id, **body})
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert schedule["next_run_at"].startswith("899") and schedule["next_runs"]
    assert client.get(f"/api/v1/schedules/{schedule['id']}", headers=alice.headers).status_code == 200
    cadence = {key: value for key, value in body.items() if key not in ("jitter_seconds", "catchup_window_seconds")}
    preview = client.post("/api/v1/schedules/preview", headers=alice.headers, json={**cadence, "count": 5})
    assert preview.status_code == 200, preview.text
    assert client.get(f"/api/v1/schedules/{schedule['id']}/runs", headers=alice.headers).status_code == 200
    paused = client.post(f"/api/v1/schedules/{schedule['id']}/pause", headers=alice.headers, json={})
    resumed = client.post(f"/api/v1/schedules/{schedule['id']}/resume", headers=alice.headers)
    assert (paused.status_code, resumed.status_code) == (200, 200), resumed.text
    assert resumed.json()["next_run_at"] == schedule["next_run_at"]
    sign_in(client, alice)
    for page in ("/ui/schedules", f"/ui/schedules/{schedule['id']}"):
        assert client.get(page).status_code == 200, page
