"""The worker's side of an occurrence: claim it in the ledger, then record how it ended.

Exactly-once is enforced here, by the database: the claim is a compare-and-set on
the schedule's ``next_run_at`` plus an insert into ``schedule_runs``, whose unique
key ``(scheduled_job_id, scheduled_for)`` turns any second delivery of the same
occurrence (two schedulers, a restart between enqueue and remove, a retried RQ
job, a stale timer after a pause or an edit) into a no-op.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rqflow.jobs.ids import fire_job_id
from rqflow.models import ScheduledJob, ScheduleRun
from rqflow.services.schedule_rules import spec_of

log = logging.getLogger(__name__)

# At most this many missed occurrences are written to the ledger when a schedule fell far behind.
MAX_MISSED_RECORDED = 1000


@dataclass(frozen=True)
class Claim:
    """A claimed occurrence: the ledger row to finish and the next occurrence to arm."""

    run_id: int
    schedule_id: str
    next_run_at: datetime | None


def claim_occurrence(
    *, db: Session, schedule_id: str, scheduled_for: datetime, rq_job_id: str | None,
    enqueued_at: datetime | None, now: datetime,
) -> Claim | None:
    """Claim one scheduled occurrence for this worker, or return None if it must not run."""
    job = db.get(ScheduledJob, schedule_id)
    if job is None:
        log.info("occurrence %s of deleted schedule %s dropped", scheduled_for, schedule_id)
        return None
    if job.status != "active":
        _record_skip(db, job, scheduled_for, reason=f"schedule {job.status}", now=now)
        return None
    if job.next_run_at != scheduled_for:
        log.info("stale or duplicate occurrence %s of %s (expects %s)", scheduled_for, job.id, job.next_run_at)
        return None
    return _advance_and_insert(db, job, scheduled_for, rq_job_id, enqueued_at, now)


def _advance_and_insert(
    db: Session, job: ScheduledJob, scheduled_for: datetime, rq_job_id: str | None,
    enqueued_at: datetime | None, now: datetime,
) -> Claim | None:
    missed, following = _following_occurrence(job, scheduled_for, now)
    exhausted = following is None or (job.max_runs is not None and job.run_count + 1 >= job.max_runs)
    next_run_at = None if exhausted else following
    swapped = db.execute(
        update(ScheduledJob)
        .where(ScheduledJob.id == job.id, ScheduledJob.status == "active", ScheduledJob.next_run_at == scheduled_for)
        .values(
            next_run_at=next_run_at,
            status="stopped" if exhausted else "active",
            rq_job_id=fire_job_id(job.id, next_run_at) if next_run_at else None,
            run_count=ScheduledJob.run_count + 1,
            last_run_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if swapped.rowcount != 1:  # type: ignore[attr-defined]
        db.rollback()
        return None
    run = ScheduleRun(
        scheduled_job_id=job.id, scheduled_for=scheduled_for, trigger_kind="schedule", status="running",
        rq_job_id=rq_job_id, enqueued_at=enqueued_at, started_at=now,
    )
    db.add(run)
    db.add_all(ScheduleRun(scheduled_job_id=job.id, scheduled_for=t, status="missed", reason="fell behind",
                           created_at=now) for t in missed)
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
        log.info("occurrence %s of %s already claimed", scheduled_for, job.id)
        return None
    return Claim(run_id=run.id, schedule_id=job.id, next_run_at=next_run_at)


def _following_occurrence(
    job: ScheduledJob, scheduled_for: datetime, now: datetime
) -> tuple[list[datetime], datetime | None]:
    """The occurrence after this one, counted from the occurrence itself so nothing drifts.

    If the worker is so late that later occurrences are already past, those are
    returned as missed and the schedule moves on to the first one after ``now``.
    """
    spec = spec_of(job)
    following = spec.next_after(scheduled_for)
    if following is None or following > now:
        return [], following
    missed = spec.occurrences_between(scheduled_for, now, limit=MAX_MISSED_RECORDED)
    return missed, spec.next_after(now)


def claim_manual_run(*, db: Session, run_id: int, now: datetime) -> Claim | None:
    """Move a manual run from ``enqueued`` to ``running``; None if someone else already did."""
    swapped = db.execute(
        update(ScheduleRun)
        .where(ScheduleRun.id == run_id, ScheduleRun.status == "enqueued")
        .values(status="running", started_at=now)
        .execution_options(synchronize_session=False)
    )
    run = db.get(ScheduleRun, run_id)
    db.commit()
    if swapped.rowcount != 1 or run is None:  # type: ignore[attr-defined]
        return None
    return Claim(run_id=run_id, schedule_id=run.scheduled_job_id, next_run_at=None)


def finish_run(*, db: Session, run_id: int, error: str, reason: str, now: datetime) -> None:
    """Record the outcome of a claimed run and update the schedule's error counters."""
    run = db.get(ScheduleRun, run_id)
    if run is None:
        return
    run.status = "failed" if error else "succeeded"
    run.error, run.reason, run.finished_at = error, reason, now
    run.duration_seconds = (now - run.started_at).total_seconds() if run.started_at else None
    if error:
        db.execute(
            update(ScheduledJob)
            .where(ScheduledJob.id == run.scheduled_job_id)
            .values(error_count=ScheduledJob.error_count + 1, last_error=error[:4000])
            .execution_options(synchronize_session=False)
        )
    db.commit()


def _record_skip(db: Session, job: ScheduledJob, scheduled_for: datetime, *, reason: str, now: datetime) -> None:
    """Write a ``skipped`` row for an occurrence that arrived while the schedule was not active."""
    exists = db.scalar(
        select(ScheduleRun.id).where(ScheduleRun.scheduled_job_id == job.id, ScheduleRun.scheduled_for == scheduled_for)
    )
    if exists is not None:
        return
    db.add(ScheduleRun(scheduled_job_id=job.id, scheduled_for=scheduled_for, status="skipped", reason=reason,
                       started_at=now, finished_at=now))
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
