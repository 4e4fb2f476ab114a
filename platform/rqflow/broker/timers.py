"""rqflow's timers inside rq-scheduler's storage, read and written in bulk.

rq-scheduler keeps a sorted set (member: job id, score: epoch seconds) plus an
ordinary RQ job hash per entry. rqflow only ever registers one-shot entries,
one per schedule, due at the schedule's next occurrence, whose id
(``rqflow-fire-<schedule id>-<epoch>``) says which occurrence it is. Writing the
hash and the score in one pipeline per batch is what makes a startup sync of
100,000 schedules take seconds instead of minutes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import NamedTuple

import redis
from redis import Redis
from redis.client import Pipeline
from redis.driver_info import DriverInfo
from redis.typing import EncodableT, FieldT
from rq.job import Job, JobStatus
from rq.utils import now, utcformat
from rq_scheduler import Scheduler

from rqflow.broker.callbacks import on_failure
from rqflow.broker.tasks import CONTINUE_TASK, FIRE_TASK, NOTIFY_TASK
from rqflow.job_ids import (
    CONTINUE_PREFIX,
    FIRE_PREFIX,
    NOTIFY_PREFIX,
    continue_job_id,
    fire_job_id,
    notify_job_id,
)
from rqflow.settings import Settings

SCHEDULED_SET = Scheduler.scheduled_jobs_key
# schedule id -> its armed job id, so one schedule's timer is found without scanning the set.
TIMER_INDEX = "rqflow:timers"
BATCH = 2000


# The timers rqflow writes whole (the tick moves them without unpickling): occurrences, retries, notifications.
RQFLOW_TIMER_PREFIXES = (FIRE_PREFIX, CONTINUE_PREFIX, NOTIFY_PREFIX)


class Continuation(NamedTuple):
    """A workflow run waiting for a retry: the attempt that comes at ``at``."""

    workflow_run_id: int
    attempt: int
    at: datetime


class NotificationTry(NamedTuple):
    """A notification whose try ``attempt`` comes at ``at``."""

    delivery_id: int
    attempt: int
    at: datetime


class Timer(NamedTuple):
    """One armed occurrence: the job id comes from the occurrence, the score from the firing instant (jitter)."""

    schedule_id: str
    occurrence: datetime
    fire_at: datetime


@dataclass(frozen=True)
class TimerOptions:
    """How armed jobs are created: which queue, and how long they may run and be kept."""

    queue_name: str
    job_timeout: int
    result_ttl: int

    @classmethod
    def from_settings(cls, settings: Settings) -> TimerOptions:
        """The options the configured queue and timeouts call for."""
        return cls(settings.queue, settings.job_timeout_seconds, settings.job_result_ttl_seconds)


def arm(connection: Redis, entries: Iterable[Timer], options: TimerOptions) -> int:
    """Register one timer per ``(schedule id, occurrence)``; re-arming the same pair overwrites it."""
    count = 0
    batch: list[Timer] = []
    for entry in entries:
        batch.append(entry)
        if len(batch) >= BATCH:
            count += _arm_batch(connection, batch, options)
            batch = []
    return count + (_arm_batch(connection, batch, options) if batch else 0)


def _arm_batch(connection: Redis, batch: list[Timer], options: TimerOptions) -> int:
    with connection.pipeline(transaction=False) as pipe:
        queue_timers(pipe, batch, options)
        pipe.execute()
    return len(batch)


def queue_timers(pipe: Pipeline, batch: list[Timer], options: TimerOptions) -> None:
    """Add the commands that arm ``batch`` to ``pipe`` (the caller executes it, with anything else it sends)."""
    template = fire_job_template(options)
    created_at = utcformat(now())
    job_ids = [fire_job_id(timer.schedule_id, timer.occurrence) for timer in batch]
    for job_id, timer in zip(job_ids, batch, strict=True):
        pipe.hset(Job.key_for(job_id), mapping=template.fields(timer, created_at))
    # One ZADD and one HSET per batch instead of one each per timer.
    pipe.zadd(SCHEDULED_SET, {job_id: int(timer.fire_at.timestamp()) for job_id, timer in zip(job_ids, batch)})
    pipe.hset(TIMER_INDEX, mapping={timer.schedule_id: job_id for job_id, timer in zip(job_ids, batch)})


@lru_cache(maxsize=8)
def fire_job_template(options: TimerOptions) -> FireJobTemplate:
    """The template of every fire job armed with ``options``, built once per process (a worker arms one
    timer per occurrence)."""
    return FireJobTemplate(options)


class FireJobTemplate:
    """The RQ job hash of a fire job, built once from RQ's own ``Job`` and filled in per timer.

    ``Job.create`` + ``to_dict`` cost about 35 µs a job, most of the time of a
    100,000-schedule startup sync; every field but the arguments, the description
    and the creation time is the same for all timers of one ``TimerOptions``. The
    data is stored uncompressed, which RQ reads as well (it falls back when
    ``zlib.decompress`` fails); ``test_timers`` checks that ``Job.fetch`` reads a
    templated job exactly as one saved by ``Job.save``.
    """

    VARYING = ("created_at", "data", "description")

    def __init__(self, options: TimerOptions) -> None:
        # Never saved, so the client never connects (its version given: no package metadata read).
        prototype = _fire_job(Redis(driver_info=DriverInfo(lib_version=redis.__version__)), "prototype", now(), options)
        # Empty fields are left out: RQ reads a missing field as an empty one.
        self.shared: dict[FieldT, EncodableT] = {key: value for key, value in prototype.to_dict().items()
                       if key not in self.VARYING and value != ""}
        self.dumps = prototype.serializer.dumps

    def fields(self, timer: Timer, created_at: str) -> dict[FieldT, EncodableT]:
        """The whole hash of ``timer``'s job."""
        args = fire_args(timer.schedule_id, timer.occurrence)
        return {**self.shared, "created_at": created_at, "data": self.dumps((FIRE_TASK, None, args, {})),
                "description": _description(*args)}


def fire_args(schedule_id: str, occurrence: datetime) -> tuple[str, str]:
    """The arguments of a fire job, as stored in Redis: the schedule id and the occurrence in UTC, ISO 8601."""
    return schedule_id, occurrence.astimezone(UTC).isoformat()


def occurrence_of(stored: str) -> datetime:
    """The occurrence a fire job's second argument holds (the inverse of :func:`fire_args`)."""
    return datetime.fromisoformat(stored)


def _description(schedule_id: str, occurrence: str) -> str:
    return f"schedule {schedule_id} at {occurrence}"


def _fire_job(connection: Redis, schedule_id: str, when: datetime, options: TimerOptions) -> Job:
    args = fire_args(schedule_id, when)
    job = Job.create(
        FIRE_TASK,
        args=args,
        connection=connection,
        id=fire_job_id(schedule_id, when),
        timeout=options.job_timeout,
        result_ttl=options.result_ttl,
        status=JobStatus.SCHEDULED,
        description=_description(*args),
        on_failure=on_failure(),  # a run whose process dies is failed at once, not left running
    )
    job.origin = options.queue_name
    return job


def queue_continuations(pipe: Pipeline, batch: Iterable[Continuation], options: TimerOptions) -> None:
    """Add the commands that arm a retry's timer per entry to ``pipe``; re-arming the same attempt overwrites it.

    Retries are few next to occurrences, so each job is made by RQ itself (no template).
    """
    for entry in batch:
        job = Job.create(
            CONTINUE_TASK, args=(entry.workflow_run_id, entry.attempt), connection=pipe,
            id=continue_job_id(entry.workflow_run_id, entry.attempt), timeout=options.job_timeout,
            result_ttl=options.result_ttl, status=JobStatus.SCHEDULED, on_failure=on_failure(),
            description=f"workflow run {entry.workflow_run_id}, attempt {entry.attempt}",
        )
        _queue_one_shot(pipe, job, options, entry.at)


def queue_notifications(pipe: Pipeline, batch: Iterable[NotificationTry], options: TimerOptions) -> None:
    """Add the commands that arm each notification try's timer to ``pipe``; re-arming the same try overwrites it.

    No failure callback: a try whose process dies is tried again from the database, not failed.
    """
    for entry in batch:
        job = Job.create(
            NOTIFY_TASK, args=(entry.delivery_id, entry.attempt), connection=pipe,
            id=notify_job_id(entry.delivery_id, entry.attempt), timeout=options.job_timeout,
            result_ttl=options.result_ttl, status=JobStatus.SCHEDULED,
            description=f"notification {entry.delivery_id}, try {entry.attempt}",
        )
        _queue_one_shot(pipe, job, options, entry.at)


def _queue_one_shot(pipe: Pipeline, job: Job, options: TimerOptions, at: datetime) -> None:
    job.origin = options.queue_name
    job.save(pipeline=pipe)
    pipe.zadd(SCHEDULED_SET, {job.id: int(at.timestamp())})


def arm_continuations(connection: Redis, batch: list[Continuation], options: TimerOptions) -> int:
    """Arm retries' timers in one round trip; how many."""
    with connection.pipeline(transaction=False) as pipe:
        queue_continuations(pipe, batch, options)
        pipe.execute()
    return len(batch)


def arm_notifications(connection: Redis, batch: list[NotificationTry], options: TimerOptions) -> int:
    """Arm notification tries' timers in one round trip; how many."""
    with connection.pipeline(transaction=False) as pipe:
        queue_notifications(pipe, batch, options)
        pipe.execute()
    return len(batch)


def cancel(connection: Redis, job_ids: Iterable[str]) -> int:
    """Remove timers and their job hashes (rq-scheduler's own cancel leaks the hash)."""
    ids = list(job_ids)
    with connection.pipeline(transaction=False) as pipe:
        for start in range(0, len(ids), BATCH):
            chunk = ids[start:start + BATCH]
            pipe.zrem(SCHEDULED_SET, *chunk)
            pipe.delete(*(Job.key_for(job_id) for job_id in chunk))
        pipe.execute()
    return len(ids)


def cancel_schedule(connection: Redis, schedule_id: str, *, keep: str | None = None) -> str | None:
    """Cancel the timer indexed for ``schedule_id`` unless it is ``keep``; return the cancelled id."""
    current = connection.hget(TIMER_INDEX, schedule_id)
    job_id = as_text(current) if current else None
    if job_id is None or job_id == keep:
        return None
    cancel(connection, [job_id])
    if keep is None:
        connection.hdel(TIMER_INDEX, schedule_id)
    return job_id


def index_missing(connection: Redis, timers: dict[str, str]) -> None:
    """Add ``schedule id -> timer id`` entries the index lacks (a flushed index), keeping newer ones."""
    items = list(timers.items())
    with connection.pipeline(transaction=False) as pipe:
        for schedule_id, job_id in items:
            pipe.hsetnx(TIMER_INDEX, schedule_id, job_id)
        pipe.execute()


def armed(connection: Redis) -> dict[str, int]:
    """Every rqflow timer now in rq-scheduler's set: job id -> epoch seconds."""
    pairs = connection.zrange(SCHEDULED_SET, 0, -1, withscores=True)
    members = ((as_text(member), int(score)) for member, score in pairs)  # type: ignore[str-unpack]
    return {member: score for member, score in members if member.startswith(FIRE_PREFIX)}


def job_statuses(connection: Redis, job_ids: list[str]) -> dict[str, str | None]:
    """The RQ status of each job hash (None where no hash exists), in one round trip per batch."""
    result: dict[str, str | None] = {}
    for start in range(0, len(job_ids), BATCH):
        chunk = job_ids[start:start + BATCH]
        with connection.pipeline(transaction=False) as pipe:
            for job_id in chunk:
                pipe.hget(Job.key_for(job_id), "status")
            values = pipe.execute()
        result.update({job_id: as_text(v) if v else None for job_id, v in zip(chunk, values, strict=True)})
    return result


def as_text(value: object) -> str:
    """A Redis reply as text (redis-py returns bytes unless decode_responses is set)."""
    return value.decode() if isinstance(value, bytes) else str(value)
