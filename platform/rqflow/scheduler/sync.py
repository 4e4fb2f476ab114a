"""Keep rq-scheduler's timers equal to what the database says, in bulk or one schedule at a time.

The database is the source of truth: every active schedule with a
``next_run_at`` must have exactly one timer, ``rqflow-fire-<id>-<epoch of
next_run_at>``, and no other rqflow timer may exist. A flushed, restarted or
tampered Redis is thereby repaired on the next pass.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from rqflow.broker.timers import (
    Continuation,
    NotificationTry,
    Timer,
    TimerOptions,
    arm,
    arm_continuations,
    arm_notifications,
    armed,
    cancel,
    cancel_schedule,
    index_missing,
    job_statuses,
)
from rqflow.job_ids import continue_job_id, fire_job_id, notify_job_id
from rqflow.models import Schedule
from rqflow.services.notification_deliveries import waiting_tries
from rqflow.services.overlap import is_bulk
from rqflow.services.upkeep import QueuedRun, waiting_for_retry
from rqflow.signals import SchedulerSignals
from rqflow.timing.jitter import fire_at

log = logging.getLogger(__name__)

# A timer missing from the set but whose job is in one of these states has already
# been moved to the queue: re-arming it would only deliver the occurrence twice.
IN_FLIGHT = {"queued", "started", "deferred"}


@dataclass(frozen=True)
class SyncReport:
    """What one reconcile pass found and did."""

    active: int
    armed: int
    cancelled: int
    in_flight: int


def desired_timers(db: Session) -> dict[str, Timer]:
    """Timer id -> timer for every active schedule with a next run."""
    rows = db.execute(
        select(Schedule.id, Schedule.next_run_at, Schedule.jitter_seconds).where(
            Schedule.status == "active", Schedule.next_run_at.is_not(None)
        )
    )
    return {fire_job_id(sid, when): Timer(sid, when, fire_at(sid, when, jitter))
            for sid, when, jitter in rows if when is not None}


def reconcile(db: Session, connection: Redis, options: TimerOptions) -> SyncReport:
    """Make Redis match the database: arm what is missing, cancel what is stale."""
    # Redis first, then the database: a worker commits its claim before arming the
    # next timer, so any timer seen here is backed by a row the later read sees.
    current = armed(connection)
    desired = desired_timers(db)
    db.rollback()  # end the read transaction before writing to Redis
    stale = [job_id for job_id in current if job_id not in desired]
    missing = [job_id for job_id in desired if job_id not in current]
    statuses = job_statuses(connection, missing)
    to_arm = [desired[job_id] for job_id in missing if statuses[job_id] not in IN_FLIGHT]
    cancel(connection, stale)
    arm(connection, to_arm, options)
    index_missing(connection, {desired[job_id].schedule_id: job_id for job_id in current if job_id in desired})
    return SyncReport(active=len(desired), armed=len(to_arm), cancelled=len(stale),
                      in_flight=len(missing) - len(to_arm))


def sync_schedule(db: Session, connection: Redis, options: TimerOptions, schedule_id: str) -> str | None:
    """Bring one schedule's timer in line with its row; return the armed timer id, if any."""
    row = db.execute(
        select(Schedule.status, Schedule.next_run_at, Schedule.jitter_seconds)
        .where(Schedule.id == schedule_id)
    ).first()
    db.rollback()
    if row is None or row.status != "active" or row.next_run_at is None:
        cancel_schedule(connection, schedule_id)
        return None
    job_id = fire_job_id(schedule_id, row.next_run_at)
    cancel_schedule(connection, schedule_id, keep=job_id)
    if job_statuses(connection, [job_id])[job_id] not in IN_FLIGHT:
        arm(connection, [Timer(schedule_id, row.next_run_at, fire_at(schedule_id, row.next_run_at, row.jitter_seconds))],
            options)
    return job_id


def rearm_retries(db: Session, connection: Redis, options: TimerOptions) -> int:
    """Arm again the timer of every run waiting for a retry whose timer Redis lost (a flush, a worker that died
    between its commit and arming it); return how many. A timer armed twice still runs its attempt once."""
    waiting = [Continuation(run.workflow_run_id, run.attempt, run.at) for run in waiting_for_retry(db)]
    ids = {continue_job_id(entry.workflow_run_id, entry.attempt): entry for entry in waiting}
    statuses = job_statuses(connection, list(ids))
    lost = [entry for job_id, entry in ids.items() if statuses[job_id] not in IN_FLIGHT | {"scheduled"}]
    return arm_continuations(connection, lost, options) if lost else 0


def rearm_notifications(db: Session, connection: Redis, options: TimerOptions) -> int:
    """Arm again the timer of every pending notification's next try whose timer Redis lost (a flush, a worker that
    died between its commit and arming it, or while sending); return how many. Its take-up sends it once."""
    tries = {notify_job_id(entry.delivery_id, entry.attempt): entry for entry in waiting_tries(db)}
    statuses = job_statuses(connection, list(tries))
    lost = [NotificationTry(entry.delivery_id, entry.attempt, entry.at)
            for job_id, entry in tries.items() if statuses[job_id] not in IN_FLIGHT | {"scheduled"}]
    return arm_notifications(connection, lost, options) if lost else 0


def requeue_lost(connection: Redis, runs: list[QueuedRun], signals: SchedulerSignals) -> int:
    """Queue again the ``enqueued`` rows whose RQ job is gone (a flushed Redis) or died before its claim."""
    statuses = job_statuses(connection, [run.rq_job_id for run in runs if run.rq_job_id])
    lost = [run for run in runs if not run.rq_job_id or statuses.get(run.rq_job_id) not in IN_FLIGHT]
    for run in lost:
        signals.run_now(schedule_id=run.schedule_id, run_id=run.run_id, bulk=is_bulk(run.trigger_kind))
    return len(lost)
