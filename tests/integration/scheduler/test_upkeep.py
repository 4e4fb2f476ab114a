"""The leading scheduler's upkeep pass: overdue schedules, lost runs, lost queue jobs, auto-resume."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from redis import Redis
from rq import Queue
from sqlalchemy import select

from rqflow.broker.signals import RedisSignals
from rqflow.db import session_scope
from rqflow.models import Schedule, ScheduleChange, ScheduleRun, UserProfile, utcnow
from rqflow.scheduler.sync import requeue_lost
from rqflow.services import schedules as schedule_service
from rqflow.services import upkeep
from rqflow.settings import Settings
from rqflow.signals import NullSignals
from tests.integration.conftest import ApiUser, RecordingSignals, make_schedule, make_workflow


def ledger(schedule_id: str) -> list[ScheduleRun]:
    with session_scope() as db:
        query = select(ScheduleRun).where(ScheduleRun.scheduled_job_id == schedule_id)
        return sorted(db.scalars(query), key=lambda run: run.scheduled_for)


def row(schedule_id: str) -> Schedule:
    with session_scope() as db:
        found = db.get(Schedule, schedule_id)
        assert found is not None
        return found


def test_an_overdue_schedule_is_caught_up_and_its_misses_recorded(settings: Settings, alice: ApiUser) -> None:
    signals = RecordingSignals()
    created = utcnow() - timedelta(seconds=5 * 60 + 30)  # five occurrences due, no worker ever claimed one
    job = make_schedule(alice, make_workflow(alice), now=created)
    fresh = make_schedule(alice, make_workflow(alice))  # not overdue: left alone

    with session_scope() as db:
        moved = upkeep.catch_up_overdue(db, now=utcnow(), signals=signals)

    assert moved == 1
    runs = ledger(job.id)
    assert [r.status for r in runs] == ["missed"] * 4 + ["enqueued"]
    assert signals.queued == [runs[-1].id]
    after = row(job.id)
    assert after.missed_count == 4 and after.next_run_at is not None and after.next_run_at > utcnow()
    assert ledger(fresh.id) == [] and row(fresh.id).next_run_at == fresh.next_run_at
    with session_scope() as db:
        assert upkeep.catch_up_overdue(db, now=utcnow(), signals=signals) == 0, "a second pass finds nothing"


def test_a_run_left_running_past_the_timeout_is_failed_and_the_slot_handed_over(
    settings: Settings, alice: ApiUser
) -> None:
    signals = RecordingSignals()
    job = make_schedule(alice, make_workflow(alice))
    long_ago = utcnow() - timedelta(seconds=settings.job_timeout_seconds + 300)
    with session_scope() as db:
        db.add(ScheduleRun(scheduled_job_id=job.id, scheduled_for=long_ago, status="running", started_at=long_ago))
        db.add(ScheduleRun(scheduled_job_id=job.id, scheduled_for=long_ago + timedelta(seconds=1),
                           trigger_kind="manual", status="waiting"))

    with session_scope() as db:
        assert upkeep.fail_lost_runs(db, now=utcnow(), signals=signals) == 1

    lost, waiting = ledger(job.id)
    assert (lost.status, lost.error) == ("failed", upkeep.LOST_RUN_ERROR)
    assert waiting.status == "enqueued" and signals.queued == [waiting.id]
    assert row(job.id).error_count == 1


def test_runs_whose_queue_job_redis_lost_are_queued_again(
    settings: Settings, alice: ApiUser, redis: Redis
) -> None:
    job = make_schedule(alice, make_workflow(alice))
    with session_scope() as db:
        owner = db.get(UserProfile, alice.id)
        assert owner is not None
        run = schedule_service.trigger_schedule_now(db=db, owner=owner, schedule_id=job.id,
                                                    now=utcnow() - timedelta(seconds=60), signals=NullSignals())
        run_id = run.id
    queue = Queue(settings.bulk_queue, connection=redis)  # a manual run goes back where it belongs
    assert queue.count == 0, "NullSignals queued nothing: the job is 'lost'"

    with session_scope() as db:
        requeued = requeue_lost(redis, upkeep.queued_runs(db, now=utcnow()), RedisSignals(redis))

    assert requeued == 1 and queue.count == 1 and Queue(settings.queue, connection=redis).count == 0
    with session_scope() as db:
        assert requeue_lost(redis, upkeep.queued_runs(db, now=utcnow()), RedisSignals(redis)) == 0, (
            "a job already on the queue is left alone")
    assert [r.id for r in ledger(job.id)] == [run_id]


def test_a_pause_with_until_resumes_by_itself(settings: Settings, alice: ApiUser) -> None:
    signals = RecordingSignals()
    job = make_schedule(alice, make_workflow(alice))
    start = utcnow()
    with session_scope() as db:
        owner = db.get(UserProfile, alice.id)
        assert owner is not None
        schedule_service.pause_schedule(db=db, owner=owner, schedule_id=job.id, now=start, signals=signals,
                                        reason="deploy", until=start + timedelta(seconds=30))
    with session_scope() as db:
        assert upkeep.next_auto_resume(db) == start + timedelta(seconds=30)
        assert upkeep.resume_due(db, now=start + timedelta(seconds=29), signals=signals) == 0
        assert upkeep.resume_due(db, now=start + timedelta(seconds=31), signals=signals) == 1
        assert upkeep.next_auto_resume(db) is None

    resumed = row(job.id)
    assert (resumed.status, resumed.paused_until, resumed.paused_reason) == ("active", None, "")
    assert resumed.next_run_at is not None
    with session_scope() as db:
        changes = list(db.scalars(select(ScheduleChange).where(ScheduleChange.scheduled_job_id == job.id)
                                  .order_by(ScheduleChange.id)))
    assert [(c.action, c.actor) for c in changes] == [
        ("create", "user:alice"), ("pause", "user:alice"), ("resume", "system:scheduler")]
    assert Counter(signals.changed)[job.id] >= 2, "pause and resume both re-sync the timer"


def test_a_waiting_run_with_a_free_slot_is_started(settings: Settings, alice: ApiUser) -> None:
    signals = RecordingSignals()
    job = make_schedule(alice, make_workflow(alice))
    busy = make_schedule(alice, make_workflow(alice))
    with session_scope() as db:
        db.add(ScheduleRun(scheduled_job_id=job.id, scheduled_for=utcnow(), trigger_kind="manual", status="waiting"))
        db.add(ScheduleRun(scheduled_job_id=busy.id, scheduled_for=utcnow(), status="running", started_at=utcnow()))
        db.add(ScheduleRun(scheduled_job_id=busy.id, scheduled_for=utcnow() + timedelta(seconds=1),
                           trigger_kind="manual", status="waiting"))

    with session_scope() as db:
        assert upkeep.hand_over_idle(db, now=utcnow(), signals=signals) == 1

    [started] = ledger(job.id)
    assert started.status == "enqueued" and signals.queued == [started.id]
    assert [r.status for r in ledger(busy.id)] == ["running", "waiting"], "a taken slot is left alone"
