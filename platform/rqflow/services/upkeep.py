"""What the leading scheduler repairs and finishes on its periodic pass, besides the timers.

- **Overdue schedules** (missed-run detection): an active schedule whose next
  occurrence should have started more than the misfire grace ago was not claimed
  by any worker (none running, a backlog, a lost job). Its due occurrences get
  the catch-up policy and their ledger rows now, and it moves on.
- **Lost runs**: a row ``running`` for longer than any job may run (the job timeout
  plus :data:`~rqflow.services.overlap.STALE_MARGIN`) belongs to a worker that died;
  it is failed (with the workflow runs it left ``running``) and the slot handed over.
  The pass runs every reconcile period, so no row stays ``running`` longer than the
  job timeout plus the margin plus one period, even when RQ never reports the death
  (:mod:`rqflow.jobs.failures` usually fails such a row much sooner). A schedule
  with waiting runs and a free slot (a hand-over that died with its worker) starts
  the next one.
- **Deadlines**: a run still waiting for a retry at its deadline, or still
  ``running`` a margin past it (its worker's own alarm should have ended it), is
  failed with reason ``timeout``.
- **Retries' timers**: the runs waiting for a retry are listed, so their timers are
  armed again if Redis lost them (:func:`rqflow.scheduler.sync.rearm_retries`).
- **Auto-resume**: a schedule paused ``until`` an instant resumes at that instant.

Each schedule is handled in its own short transaction under its row lock, so
the pass never holds up workers for long and a failure touches one schedule.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from rqflow.models import Schedule, ScheduleRun, WorkflowRun
from rqflow.models.schedule_run import TIMEOUT_REASON
from rqflow.services.audit import SYSTEM_SCHEDULER, snapshot
from rqflow.services.catchup import advance_schedule, due_occurrences
from rqflow.services.lifecycle import resume
from rqflow.services.occurrences import ABANDONED_REASON, end_run, fail_unclaimable
from rqflow.services.overlap import STALE_MARGIN, hand_over, last_taken_up, lock_schedule, stale_before
from rqflow.services.run_deadlines import PAST_DEADLINE_ERROR
from rqflow.settings import get_settings
from rqflow.signals import SchedulerSignals
from rqflow.timing.jitter import fire_at

log = logging.getLogger(__name__)

# One pass handles at most this many schedules of each kind; the rest wait for the next pass.
PASS_LIMIT = 500
LOST_RUN_ERROR = "worker lost: the run did not finish within the job timeout"
# An enqueued row younger than this may still be waiting for its on-commit enqueue.
REQUEUE_AFTER = timedelta(seconds=10)


@dataclass(frozen=True)
class QueuedRun:
    """An ``enqueued`` ledger row, to check against the RQ queue."""

    run_id: int
    schedule_id: str
    rq_job_id: str | None
    trigger_kind: str


def catch_up_overdue(db: Session, *, now: datetime, signals: SchedulerSignals) -> int:
    """Apply the catch-up policy to every overdue active schedule; return how many moved on."""
    cutoff = now - timedelta(seconds=get_settings().misfire_grace_seconds)
    query = (select(Schedule.id).where(Schedule.status == "active", Schedule.next_run_at < cutoff)
             .order_by(Schedule.next_run_at).limit(PASS_LIMIT))
    candidates = list(db.scalars(query))
    db.rollback()
    return sum(_catch_up_one(db, schedule_id, now=now, cutoff=cutoff, signals=signals) for schedule_id in candidates)


def _catch_up_one(db: Session, schedule_id: str, *, now: datetime, cutoff: datetime, signals: SchedulerSignals) -> bool:
    schedule = lock_schedule(db, schedule_id)
    due_at = schedule.next_run_at if schedule is not None and schedule.status == "active" else None
    if schedule is None or due_at is None or fire_at(schedule.id, due_at, schedule.jitter_seconds) >= cutoff:
        db.rollback()  # claimed or changed meanwhile
        return False
    before = snapshot(schedule)
    try:
        due = due_occurrences(schedule, since=due_at, now=now, include_since=True)
        advance_schedule(db, schedule, due=due, now=now, signals=signals, here=False, actor=SYSTEM_SCHEDULER,
                         before=before)
    except SQLAlchemyError:
        raise
    except Exception as exc:  # noqa: BLE001 - a defect fails one occurrence, never the pass
        db.rollback()
        return fail_unclaimable(db, schedule_id=schedule_id, scheduled_for=due_at, error=exc, now=now,
                                signals=signals, actor=SYSTEM_SCHEDULER) is not None
    db.commit()
    log.info("schedule %s was overdue since %s: caught up over %d occurrences", schedule_id, due_at, len(due),
             extra={"schedule_id": schedule_id})
    return True


def fail_lost_runs(db: Session, *, now: datetime, signals: SchedulerSignals) -> int:
    """Fail rows left ``running`` past the job timeout and hand their slot over; return how many."""
    stale = stale_before(now)
    query = (select(ScheduleRun.id, ScheduleRun.scheduled_job_id)
             .where(ScheduleRun.status == "running", ScheduleRun.started_at < stale, last_taken_up() < stale)
             .limit(PASS_LIMIT))
    lost = list(db.execute(query))
    db.rollback()
    for run_id, schedule_id in lost:
        _end_one(db, run_id, schedule_id, ("running",), error=LOST_RUN_ERROR, reason=ABANDONED_REASON, now=now,
                 signals=signals)
    return len(lost)


def fail_past_deadline(db: Session, *, now: datetime, signals: SchedulerSignals) -> int:
    """Fail with reason ``timeout`` the runs past their deadline: waiting for a retry, or running a margin past
    it (the worker's alarm should have ended it first); return how many."""
    past = ScheduleRun.deadline_at < now
    query = (select(ScheduleRun.id, ScheduleRun.scheduled_job_id)
             .where(((ScheduleRun.status == "retrying") & past)
                    | ((ScheduleRun.status == "running") & (ScheduleRun.deadline_at < now - STALE_MARGIN)))
             .limit(PASS_LIMIT))
    overdue = list(db.execute(query))
    db.rollback()
    for run_id, schedule_id in overdue:
        _end_one(db, run_id, schedule_id, ("running", "retrying"), error=PAST_DEADLINE_ERROR, reason=TIMEOUT_REASON,
                 now=now, signals=signals)
    return len(overdue)


def _end_one(db: Session, run_id: int, schedule_id: str, statuses: tuple[str, ...], *, error: str, reason: str,
             now: datetime, signals: SchedulerSignals) -> None:
    """End one run as failed under its schedule's lock, unless it ended meanwhile."""
    schedule = lock_schedule(db, schedule_id)
    run = db.get(ScheduleRun, run_id, populate_existing=True)
    if schedule is not None and run is not None and run.status in statuses:
        end_run(db, schedule, run, error=error, reason=reason, now=now, signals=signals)
    db.commit()


@dataclass(frozen=True)
class WaitingRetry:
    """A workflow run waiting for attempt ``attempt`` of a node, due at ``at``."""

    workflow_run_id: int
    attempt: int
    at: datetime


def waiting_for_retry(db: Session) -> list[WaitingRetry]:
    """The workflow runs waiting for a retry, soonest first (at most a pass's worth)."""
    query = (select(WorkflowRun.id, WorkflowRun.resume_attempt, WorkflowRun.next_attempt_at)
             .where(WorkflowRun.status == "retrying").order_by(WorkflowRun.next_attempt_at).limit(PASS_LIMIT * 10))
    rows = [WaitingRetry(run_id, attempt, at) for run_id, attempt, at in db.execute(query)
            if attempt is not None and at is not None]
    db.rollback()
    return rows


def hand_over_idle(db: Session, *, now: datetime, signals: SchedulerSignals) -> int:
    """Start a waiting run of every schedule whose slot is free (a hand-over lost with its worker); return how many."""
    query = (select(ScheduleRun.scheduled_job_id).where(ScheduleRun.status == "waiting").distinct()
             .limit(PASS_LIMIT))
    schedule_ids = list(db.scalars(query))
    db.rollback()
    started = 0
    for schedule_id in schedule_ids:
        schedule = lock_schedule(db, schedule_id)
        if schedule is not None:
            started += len(hand_over(db, schedule, now=now, signals=signals))
        db.commit()
    return started


def queued_runs(db: Session, *, now: datetime) -> list[QueuedRun]:
    """Rows handed to the queue a while ago and not yet started, to re-queue if Redis lost their job."""
    query = (select(ScheduleRun.id, ScheduleRun.scheduled_job_id, ScheduleRun.rq_job_id, ScheduleRun.trigger_kind)
             .where(ScheduleRun.status == "enqueued", ScheduleRun.enqueued_at < now - REQUEUE_AFTER)
             .order_by(ScheduleRun.id).limit(PASS_LIMIT))
    rows = [QueuedRun(*row) for row in db.execute(query)]
    db.rollback()
    return rows


def resume_due(db: Session, *, now: datetime, signals: SchedulerSignals) -> int:
    """Resume every schedule whose ``paused_until`` has come; return how many."""
    query = select(Schedule.id).where(Schedule.status == "paused", Schedule.paused_until <= now)
    due = list(db.scalars(query.limit(PASS_LIMIT)))
    db.rollback()
    resumed = 0
    for schedule_id in due:
        schedule = lock_schedule(db, schedule_id)
        until = schedule.paused_until if schedule is not None and schedule.status == "paused" else None
        if schedule is not None and until is not None and until <= now:
            resume(db, schedule, now=now, actor=SYSTEM_SCHEDULER, signals=signals, enforce_limit=False)
            resumed += 1
        db.commit()
    return resumed


def next_auto_resume(db: Session) -> datetime | None:
    """The earliest ``paused_until`` of any paused schedule, so the scheduler knows when to look again."""
    value = db.scalar(select(func.min(Schedule.paused_until)).where(Schedule.status == "paused"))
    db.rollback()
    return value
