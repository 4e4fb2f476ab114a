"""The scheduler's sync, tick and lease against the real Redis and both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis
from redis.exceptions import WatchError
from rq import Queue

from rqflow.broker.lease import LEASE_KEY, Lease
from rqflow.broker.timers import SCHEDULED_SET, TIMER_INDEX, Timer, TimerOptions, arm, armed
from rqflow.db import get_sessionmaker, session_scope
from rqflow.job_ids import fire_job_id
from rqflow.models import Schedule, utcnow
from rqflow.scheduler.process import RqflowScheduler
from rqflow.scheduler.sync import reconcile, sync_schedule
from rqflow.services import upkeep
from rqflow.settings import Settings
from tests.integration.conftest import ApiUser, make_schedule, make_workflow


def _reconcile(settings: Settings, redis: Redis):  # type: ignore[no-untyped-def]
    with get_sessionmaker()() as db:
        return reconcile(db, redis, TimerOptions.from_settings(settings))


def test_reconcile_arms_every_active_schedule_once_and_cancels_the_rest(
    settings: Settings, redis: Redis, alice: ApiUser
) -> None:
    workflow_id = make_workflow(alice)
    jobs = [make_schedule(alice, workflow_id, name=f"s{i}") for i in range(20)]
    with session_scope() as db:
        db.get(Schedule, jobs[0].id).status = "paused"  # type: ignore[union-attr]
    stray = fire_job_id(jobs[0].id, utcnow() + timedelta(hours=1))
    later = utcnow() + timedelta(hours=1)
    arm(redis, [Timer(jobs[0].id, later, later)], TimerOptions.from_settings(settings))

    report = _reconcile(settings, redis)

    expected = {fire_job_id(job.id, job.next_run_at) for job in jobs[1:]}  # type: ignore[arg-type]
    assert set(armed(redis)) == expected
    assert (report.active, report.armed, report.cancelled) == (19, 19, 1)
    assert not redis.exists(f"rq:job:{stray}")
    again = _reconcile(settings, redis)
    assert (again.armed, again.cancelled) == (0, 0)


def test_reconcile_heals_a_flushed_redis(settings: Settings, redis: Redis, alice: ApiUser) -> None:
    job = make_schedule(alice, make_workflow(alice))
    _reconcile(settings, redis)
    redis.delete("rq:scheduler:scheduled_jobs", TIMER_INDEX)
    _reconcile(settings, redis)
    assert set(armed(redis)) == {fire_job_id(job.id, job.next_run_at)}  # type: ignore[arg-type]


def test_sync_schedule_follows_pause_resume_and_delete(settings: Settings, redis: Redis, alice: ApiUser) -> None:
    job = make_schedule(alice, make_workflow(alice))
    options = TimerOptions.from_settings(settings)
    sessions = get_sessionmaker()
    with sessions() as db:
        first = sync_schedule(db, redis, options, job.id)
    assert set(armed(redis)) == {first}
    with session_scope() as db:
        row = db.get(Schedule, job.id)
        assert row is not None
        row.next_run_at = row.next_run_at + timedelta(minutes=5)  # type: ignore[operator]
    with sessions() as db:
        second = sync_schedule(db, redis, options, job.id)
    assert second != first and set(armed(redis)) == {second}
    with session_scope() as db:
        db.get(Schedule, job.id).status = "paused"  # type: ignore[union-attr]
    with sessions() as db:
        assert sync_schedule(db, redis, options, job.id) is None
    assert armed(redis) == {}


def test_the_tick_moves_due_timers_to_the_queue_in_one_pass(settings: Settings, redis: Redis) -> None:
    options = TimerOptions.from_settings(settings)
    due = utcnow().replace(microsecond=0) - timedelta(seconds=1)
    arm(redis, [Timer(f"s{i}", due, due) for i in range(250)], options)
    arm(redis, [Timer("later", due + timedelta(hours=1), due + timedelta(hours=1))], options)
    scheduler = RqflowScheduler(connection=redis, settings=settings)
    assert scheduler.lease.hold()  # only the lease holder moves timers
    moved = scheduler.enqueue_jobs()
    assert len(moved) == 250
    assert Queue(settings.queue, connection=redis).count == 250
    assert list(armed(redis)) == [fire_job_id("later", due + timedelta(hours=1))]


def test_a_scheduler_that_lost_its_lease_moves_nothing(settings: Settings, redis: Redis) -> None:
    options = TimerOptions.from_settings(settings)
    due = utcnow().replace(microsecond=0) - timedelta(seconds=1)
    arm(redis, [Timer("s", due, due)], options)
    stale = RqflowScheduler(connection=redis, settings=settings)
    assert stale.lease.hold()
    redis.delete(LEASE_KEY)  # its lease expired while it was frozen; another scheduler took over
    assert Lease(redis, ttl_seconds=5).hold()

    assert stale.enqueue_jobs() == []
    assert Queue(settings.queue, connection=redis).count == 0
    assert list(armed(redis)) == [fire_job_id("s", due)], "the new leader still finds the timer"


def test_a_tick_fenced_by_a_lease_that_changes_hands_moves_nothing(settings: Settings, redis: Redis) -> None:
    scheduler = RqflowScheduler(connection=redis, settings=settings)
    assert scheduler.lease.hold()
    with redis.pipeline() as pipe:
        assert scheduler.lease.fence(pipe)
        redis.delete(LEASE_KEY)  # between the check and the write: frozen, the lease expired, another took it
        assert Lease(redis, ttl_seconds=5).hold()
        pipe.multi()
        pipe.set("rqflow:test:written", 1)
        with pytest.raises(WatchError):
            pipe.execute()
    assert not redis.exists("rqflow:test:written")


def test_only_one_lease_holder_at_a_time(redis: Redis) -> None:
    first, second = Lease(redis, ttl_seconds=5), Lease(redis, ttl_seconds=5)
    assert first.hold() and not second.hold()
    assert first.hold()  # renewing keeps it
    first.release()
    assert second.hold() and not first.hold()
    first.release()  # not the holder: must not take it from the second
    assert second.holder() == second.token


def test_jittered_timers_fire_at_the_same_delayed_instant_on_every_sync(
    settings: Settings, redis: Redis, alice: ApiUser
) -> None:
    workflow_id = make_workflow(alice)
    jobs = [make_schedule(alice, workflow_id, name=f"j{i}", interval_seconds=3600, jitter_seconds=1800)
            for i in range(20)]
    _reconcile(settings, redis)
    first = armed(redis)
    redis.delete(Queue.redis_queue_namespace_prefix)  # nothing else changes; a second pass must agree
    for job in jobs:
        with get_sessionmaker()() as db:
            sync_schedule(db, redis, TimerOptions.from_settings(settings), job.id)
    assert armed(redis) == first
    delays = []
    for job in jobs:
        assert job.next_run_at is not None
        score = first[fire_job_id(job.id, job.next_run_at)]
        delays.append(score - int(job.next_run_at.timestamp()))
    assert all(0 <= delay <= 1800 for delay in delays)
    assert len(set(delays)) > 10, f"jitter should spread schedules apart: {delays}"


def test_the_tick_leaves_other_rq_scheduler_entries_to_rq_scheduler(settings: Settings, redis: Redis) -> None:
    scheduler = RqflowScheduler(connection=redis, settings=settings)
    scheduler.lease.hold()
    past = datetime.now(UTC) - timedelta(seconds=5)
    scheduler.enqueue_at(past, "json.dumps", 1, job_id="someone-once")
    scheduler.schedule(past, "json.dumps", args=[2], interval=3600, id="someone-hourly")
    scheduler.enqueue_jobs()
    queued = Queue(settings.queue, connection=redis).job_ids
    assert sorted(queued) == ["someone-hourly", "someone-once"]
    remaining = [member.decode() for member in redis.zrange(SCHEDULED_SET, 0, -1)]
    assert remaining == ["someone-hourly"], "a recurring entry is re-armed, as rq-scheduler does"


def test_upkeep_that_fails_in_rqflow_code_leaves_timers_firing_and_the_scheduler_up(
    settings: Settings, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    due = utcnow().replace(microsecond=0) - timedelta(seconds=1)
    arm(redis, [Timer("s", due, due)], TimerOptions.from_settings(settings))

    def broken(*_args: object, **_kwargs: object) -> int:
        raise RuntimeError("a defect in upkeep")

    monkeypatch.setattr(upkeep, "catch_up_overdue", broken)
    scheduler = RqflowScheduler(connection=redis, settings=settings)
    scheduler._step()  # no exception: the process stays up
    assert Queue(settings.queue, connection=redis).job_ids == [fire_job_id("s", due)], "the due timer still fired"
    assert scheduler.last_reconcile > 0, "upkeep is retried next period, not at every poll"
