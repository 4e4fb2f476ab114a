"""Timers written from a template read back through RQ exactly as jobs saved by RQ itself (real Redis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis import Redis
from rq.job import Job, JobStatus

from rqflow.broker.timers import SCHEDULED_SET, TIMER_INDEX, Timer, TimerOptions, _fire_job, arm
from rqflow.job_ids import fire_job_id

OPTIONS = TimerOptions(queue_name="timers-test", job_timeout=321, result_ttl=654)
COMPARED = ("func_name", "args", "kwargs", "origin", "timeout", "result_ttl", "description", "failure_callback",
            "success_callback", "meta", "dependency_ids", "ttl", "failure_ttl", "failure_callback_timeout")


def _reference(redis: Redis, timer: Timer) -> Job:
    """The same job saved the slow way, by RQ's own ``Job.save``, under another key."""
    job = _fire_job(redis, timer.schedule_id, timer.occurrence, OPTIONS)
    job.save()
    return Job.fetch(job.id, connection=redis)


def test_a_templated_timer_reads_back_like_a_job_rq_saved(redis: Redis) -> None:
    occurrence = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    timer = Timer("schedule-a", occurrence, occurrence + timedelta(seconds=7))

    arm(redis, [timer], OPTIONS)
    ours = Job.fetch(fire_job_id("schedule-a", occurrence), connection=redis)
    redis.delete(ours.key)
    reference = _reference(redis, timer)

    for attribute in COMPARED:
        assert getattr(ours, attribute) == getattr(reference, attribute), attribute
    assert ours.get_status() == reference.get_status() == JobStatus.SCHEDULED
    assert ours.args == ("schedule-a", "2026-11-24T09:30:00+00:00")


def test_arm_writes_score_and_index_for_every_timer_of_a_batch(redis: Redis) -> None:
    start = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    timers = [Timer(f"s{i}", start + timedelta(minutes=i), start + timedelta(minutes=i, seconds=i % 5))
              for i in range(2500)]  # more than one batch

    assert arm(redis, timers, OPTIONS) == 2500

    scores = dict(redis.zrange(SCHEDULED_SET, 0, -1, withscores=True))
    index = redis.hgetall(TIMER_INDEX)
    for timer in timers:
        job_id = fire_job_id(timer.schedule_id, timer.occurrence)
        assert scores[job_id.encode()] == int(timer.fire_at.timestamp())
        assert index[timer.schedule_id.encode()] == job_id.encode()
