"""The overlap policy at the claim and the hand-over, on both databases (service level, no worker)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from rqflow.db import session_scope
from rqflow.models import Schedule, ScheduleRun, UserProfile, utcnow
from rqflow.services import schedules as schedule_service
from rqflow.services.occurrences import Claim, claim_occurrence, claim_run, finish_run
from rqflow.services.overlap import BUFFER_FULL_REASON, OVERLAP_REASON
from rqflow.settings import Settings
from tests.integration.conftest import ApiUser, RecordingSignals, make_schedule, make_workflow


def claim_next(schedule_id: str, signals: RecordingSignals, now: datetime | None = None) -> Claim | None:
    """Deliver the schedule's current occurrence to a worker, as its timer would."""
    with session_scope() as db:
        row = db.get(Schedule, schedule_id)
        assert row is not None and row.next_run_at is not None
        when = row.next_run_at
        return claim_occurrence(db=db, schedule_id=schedule_id, scheduled_for=when, rq_job_id=None,
                                enqueued_at=None, now=now or when + timedelta(seconds=1), signals=signals)


def finish(run_id: int, signals: RecordingSignals, error: str = "") -> None:
    with session_scope() as db:
        row = db.get(ScheduleRun, run_id)
        assert row is not None
        finish_run(db=db, run_id=run_id, schedule_id=row.scheduled_job_id, error=error, reason="", now=utcnow(),
                   signals=signals)


def ledger(schedule_id: str) -> list[ScheduleRun]:
    with session_scope() as db:
        query = select(ScheduleRun).where(ScheduleRun.scheduled_job_id == schedule_id).order_by(ScheduleRun.id)
        return list(db.scalars(query))


def interval_schedule(user: ApiUser, policy: str) -> str:
    """A 60 s schedule whose first occurrence is due now, with the given overlap policy."""
    job = make_schedule(user, make_workflow(user), now=utcnow() - timedelta(seconds=61), overlap_policy=policy)
    return job.id


def test_skip_records_an_occurrence_due_while_the_previous_run_goes(settings: Settings, alice: ApiUser) -> None:
    signals = RecordingSignals()
    schedule_id = interval_schedule(alice, "skip")
    first = claim_next(schedule_id, signals)
    assert first is not None and first.run_id is not None
    second = claim_next(schedule_id, signals, now=utcnow() + timedelta(seconds=61))
    assert second is not None and second.run_id is None
    assert second.next_run_at is not None, "a skipped occurrence still moves the schedule on"
    runs = ledger(schedule_id)
    assert [(r.status, r.reason) for r in runs] == [("running", ""), ("skipped", OVERLAP_REASON)]
    finish(first.run_id, signals)
    assert signals.queued == [], "nothing waits under skip"


def test_buffer_one_keeps_one_waiting_and_hands_it_over(settings: Settings, alice: ApiUser) -> None:
    signals = RecordingSignals()
    schedule_id = interval_schedule(alice, "buffer_one")
    first = claim_next(schedule_id, signals)
    assert first is not None and first.run_id is not None
    later = utcnow() + timedelta(seconds=61)
    assert claim_next(schedule_id, signals, now=later) is not None
    assert claim_next(schedule_id, signals, now=later + timedelta(seconds=60)) is not None
    runs = ledger(schedule_id)
    assert [(r.status, r.reason) for r in runs] == [
        ("running", ""), ("waiting", ""), ("skipped", BUFFER_FULL_REASON)]

    finish(first.run_id, signals)

    runs = ledger(schedule_id)
    assert runs[1].status == "enqueued" and signals.queued == [runs[1].id]
    with session_scope() as db:
        started = claim_run(db=db, run_id=runs[1].id, now=utcnow(), signals=signals)
    assert started is not None and started.scheduled_for == runs[1].scheduled_for
    with session_scope() as db:
        assert claim_run(db=db, run_id=runs[1].id, now=utcnow(), signals=signals) is None, "claimed once"


def test_allow_runs_side_by_side(settings: Settings, alice: ApiUser) -> None:
    signals = RecordingSignals()
    schedule_id = interval_schedule(alice, "allow")
    first = claim_next(schedule_id, signals)
    second = claim_next(schedule_id, signals, now=utcnow() + timedelta(seconds=61))
    assert first is not None and second is not None and first.run_id and second.run_id
    assert [r.status for r in ledger(schedule_id)] == ["running", "running"]


@pytest.mark.parametrize(("policy", "status"), [("skip", "skipped"), ("buffer_one", "waiting"), ("allow", "enqueued")])
def test_run_now_follows_the_overlap_policy(settings: Settings, alice: ApiUser, policy: str, status: str) -> None:
    signals = RecordingSignals()
    schedule_id = interval_schedule(alice, policy)
    assert claim_next(schedule_id, signals) is not None
    with session_scope() as db:
        owner = db.get(UserProfile, alice.id)
        assert owner is not None
        run = schedule_service.trigger_schedule_now(db=db, owner=owner, schedule_id=schedule_id, now=utcnow(),
                                                    signals=signals)
        run_id, run_status = run.id, run.status
    assert run_status == status
    assert signals.queued == ([run_id] if status == "enqueued" else [])


def test_a_run_lost_past_the_job_timeout_does_not_hold_the_slot(settings: Settings, alice: ApiUser) -> None:
    signals = RecordingSignals()
    schedule_id = interval_schedule(alice, "skip")
    first = claim_next(schedule_id, signals)
    assert first is not None and first.run_id is not None
    with session_scope() as db:
        lost = db.get(ScheduleRun, first.run_id)
        assert lost is not None
        lost.started_at = utcnow() - timedelta(seconds=settings.job_timeout_seconds + 120)
    second = claim_next(schedule_id, signals, now=utcnow() + timedelta(seconds=61))
    assert second is not None and second.run_id is not None


def test_failures_in_a_row_pause_the_schedule_with_a_reason(settings: Settings, alice: ApiUser) -> None:
    signals = RecordingSignals()
    job = make_schedule(alice, make_workflow(alice), now=utcnow() - timedelta(seconds=61), pause_after_failures=2)
    claims = []
    for _ in range(3):
        claim = claim_next(job.id, signals, now=utcnow() + timedelta(seconds=61 * len(claims)))
        assert claim is not None and claim.run_id is not None
        claims.append(claim)
        finish(claim.run_id, signals, error="" if len(claims) == 1 else "boom")  # ok, then two failures
    with session_scope() as db:
        row = db.get(Schedule, job.id)
        assert row is not None
        assert row.status == "paused" and row.next_run_at is None
        assert "2 consecutive failed runs" in row.paused_reason
        assert (row.consecutive_failures, row.error_count) == (2, 2)
    assert job.id in signals.changed, "the scheduler is told to cancel the timer"
