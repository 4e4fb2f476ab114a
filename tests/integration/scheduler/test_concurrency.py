"""RQFLOW_MAX_CONCURRENT_RUNS_PER_USER: runs past the user's limit wait, and start in order as others end.

Occurrences are claimed as a worker claims them (the claim alone, so the runs it starts stay
``running``), then ended one by one; the waiting ones must be handed to the queue in the order
their occurrences came due, never more than the limit at once, and none skipped. Another
user's runs are not held up.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from rqflow.db import session_scope
from rqflow.models import Schedule, ScheduleRun, utcnow
from rqflow.services.concurrency import CONCURRENCY_REASON
from rqflow.services.occurrences import claim_occurrence, finish_run
from rqflow.settings import Settings, get_settings
from tests.integration.conftest import ApiUser, RecordingSignals, make_schedule, make_workflow, only_run


@pytest.fixture
def limit_two(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RQFLOW_MAX_CONCURRENT_RUNS_PER_USER", "2")
    get_settings.cache_clear()


def due(user: ApiUser, workflow_id: int, seconds_ago: float) -> Schedule:
    return make_schedule(user, workflow_id, now=utcnow() - timedelta(seconds=60 + seconds_ago))


def claim(schedule: Schedule, signals: RecordingSignals) -> ScheduleRun:
    assert schedule.next_run_at is not None
    with session_scope() as db:
        claim_occurrence(db=db, schedule_id=schedule.id, scheduled_for=schedule.next_run_at, rq_job_id=None,
                         enqueued_at=None, now=utcnow(), signals=signals)
    return only_run(schedule.id)


def end(row: ScheduleRun, signals: RecordingSignals) -> None:
    with session_scope() as db:
        finish_run(db=db, run_id=row.id, schedule_id=row.scheduled_job_id, error="", reason="", now=utcnow(),
                   signals=signals)


def test_runs_past_the_limit_wait_and_start_in_order(limit_two: None, alice: ApiUser, bob: ApiUser) -> None:
    workflow_id = make_workflow(alice)
    schedules = [due(alice, workflow_id, seconds_ago=0.5 + 0.01 * (5 - i)) for i in range(5)]  # oldest first
    signals = RecordingSignals()
    rows = [claim(schedule, signals) for schedule in schedules]

    assert [row.status for row in rows] == ["running", "running", "waiting", "waiting", "waiting"]
    assert all(row.reason == CONCURRENCY_REASON for row in rows[2:])
    bobs = claim(due(bob, make_workflow(bob), seconds_ago=0.5), signals)
    assert bobs.status == "running"  # another user's runs are not held up

    end(rows[0], signals)
    assert signals.queued == [rows[2].id]  # the oldest waiting one, of another schedule
    assert only_run(schedules[2].id).status == "enqueued" and only_run(schedules[3].id).status == "waiting"
    end(rows[1], signals)
    assert signals.queued == [rows[2].id, rows[3].id]
    assert only_run(schedules[4].id).status == "waiting"  # two going: rows 2 and 3 (enqueued)


def test_without_the_setting_nothing_waits(settings: Settings, alice: ApiUser) -> None:
    workflow_id = make_workflow(alice)
    signals = RecordingSignals()
    rows = [claim(due(alice, workflow_id, seconds_ago=0.5), signals) for _ in range(4)]
    assert [row.status for row in rows] == ["running"] * 4


def test_the_users_lock_does_not_wait_for_a_foreign_keys_lock(limit_two: None, settings: Settings,
                                                                alice: ApiUser) -> None:
    """Two claims that each wrote a row referencing the user (an audit row takes a key-share lock on the user's
    row) must not wait on each other when they take the user's lock: a FOR UPDATE there deadlocked two
    workers on PostgreSQL. The second claim's key-share lock must not hold up the first."""
    from sqlalchemy import text

    from rqflow.models import ScheduleChange
    from rqflow.services.concurrency import places_left

    with session_scope() as first, session_scope() as second:
        if first.get_bind().dialect.name != "postgresql":
            pytest.skip("SQLite has one write lock, taken up front: no row locks to wait on")
        for db in (first, second):
            db.add(ScheduleChange(scheduled_job_id="x", user_profile_id=alice.id, actor="system:worker",
                                  action="update"))
            db.flush()  # the foreign key's key-share lock on alice's row
        first.execute(text("SET LOCAL lock_timeout = '2s'"))
        assert places_left(first, alice.id) == 2  # not held up by the second's key-share lock
        first.commit()
        assert places_left(second, alice.id) == 2
