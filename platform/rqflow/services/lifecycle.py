"""A schedule's status changes: pause (by hand, until an instant, or after failures), resume, stop.

Each change is recorded in the audit trail and signalled to the scheduler after
the commit. Pausing drops ``next_run_at`` (the timer is cancelled); resuming
applies the catch-up policy to the occurrences that fell in the pause, then arms
the first one after now.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from rqflow.db import on_commit
from rqflow.errors import InvalidInput, InvalidStateTransition
from rqflow.models import ScheduledJob
from rqflow.services.audit import record_change, snapshot
from rqflow.services.catchup import PAUSED, advance_schedule, due_occurrences
from rqflow.services.overlap import Admission
from rqflow.services.quotas import check_active_schedules
from rqflow.signals import SchedulerSignals


def pause(
    db: Session, job: ScheduledJob, *, now: datetime, actor: str, signals: SchedulerSignals, reason: str = "",
    until: datetime | None = None,
) -> None:
    """Stop firing until resumed (or until ``until``); pausing a paused schedule only updates reason and until."""
    if job.status == "stopped":
        raise InvalidStateTransition("a stopped schedule cannot be paused; create a new one")
    if until is not None and until <= now:
        raise InvalidInput(f"until {until.isoformat()} is not in the future", field="until")
    before = snapshot(job)
    if job.status == "active":
        job.status, job.paused_at, job.next_run_at, job.rq_job_id = "paused", now, None, None
    job.paused_reason, job.paused_until, job.updated_at = reason, until, now
    record_change(db, job=job, action="pause", actor=actor, before=before, now=now, reason=reason)
    on_commit(db, lambda: signals.schedule_changed(job.id))


def resume(
    db: Session, job: ScheduledJob, *, now: datetime, actor: str, signals: SchedulerSignals,
    enforce_limit: bool = True,
) -> Admission:
    """Fire again: the catch-up policy picks among the occurrences missed while paused; resuming twice is a no-op.

    An automatic resume (``paused_until``) does not check the per-user limit: the
    schedule was counted as active when it was created and is only coming back.
    """
    if job.status == "stopped":
        raise InvalidStateTransition("a stopped schedule cannot be resumed; create a new one")
    if job.status != "paused":
        return Admission()
    if enforce_limit:
        check_active_schedules(db, job.user_profile_id)
    before = snapshot(job)
    paused_at = job.paused_at
    job.status, job.paused_reason, job.paused_at, job.paused_until, job.updated_at = "active", "", None, None, now
    due = [] if paused_at is None else due_occurrences(job, since=paused_at, now=now, include_since=False)
    admission = advance_schedule(db, job, due=due, now=now, signals=signals, here=False, actor=actor,
                                 before=before, not_run=PAUSED)
    record_change(db, job=job, action="resume", actor=actor, before=before, now=now)
    on_commit(db, lambda: signals.schedule_changed(job.id))
    return admission


def stop(db: Session, job: ScheduledJob, *, now: datetime, actor: str, signals: SchedulerSignals, reason: str = "") -> None:
    """End the schedule for good (its ledger stays); stopping a stopped schedule changes nothing."""
    if job.status == "stopped":
        return
    before = snapshot(job)
    job.status, job.next_run_at, job.rq_job_id, job.updated_at = "stopped", None, None, now
    job.paused_until = None
    record_change(db, job=job, action="stop", actor=actor, before=before, now=now, reason=reason)
    on_commit(db, lambda: signals.schedule_changed(job.id))

