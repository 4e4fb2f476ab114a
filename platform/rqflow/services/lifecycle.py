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
from rqflow.models import Schedule
from rqflow.services.audit import record_change, snapshot
from rqflow.services.catchup import PAUSED, advance_schedule, due_occurrences
from rqflow.services.overlap import Admission
from rqflow.services.quotas import check_active_schedules
from rqflow.signals import SchedulerSignals


def pause(
    db: Session, schedule: Schedule, *, now: datetime, actor: str, signals: SchedulerSignals, reason: str = "",
    until: datetime | None = None,
) -> None:
    """Stop firing until resumed (or until ``until``); pausing a paused schedule only updates reason and until."""
    if schedule.status == "stopped":
        raise InvalidStateTransition("a stopped schedule cannot be paused; create a new one")
    if until is not None and until <= now:
        raise InvalidInput(f"until {until.isoformat()} is not in the future", field="until")
    if schedule.status == "paused":
        _pause_again(db, schedule, now=now, actor=actor, signals=signals, reason=reason, until=until)
        return
    before = snapshot(schedule)
    schedule.status, schedule.paused_at, schedule.next_run_at, schedule.rq_job_id = "paused", now, None, None
    schedule.paused_reason, schedule.paused_until, schedule.updated_at = reason, until, now
    record_change(db, schedule=schedule, action="pause", actor=actor, before=before, now=now, reason=reason)
    on_commit(db, lambda: signals.schedule_changed(schedule.id))


def _pause_again(
    db: Session, schedule: Schedule, *, now: datetime, actor: str, signals: SchedulerSignals, reason: str,
    until: datetime | None,
) -> None:
    """Keep what a repeated pause leaves out, so a retry (a second click, an agent's idempotent call)
    neither wipes the reason people read nor adds a second ``pause`` to the history; a reason or an
    ``until`` given that differs from the stored one replaces it (the other stays) and is recorded."""
    new_reason = reason or schedule.paused_reason
    new_until = until if until is not None else schedule.paused_until
    if (new_reason, new_until) == (schedule.paused_reason, schedule.paused_until):
        return
    before = snapshot(schedule)
    schedule.paused_reason, schedule.paused_until = new_reason, new_until
    schedule.updated_at = now
    record_change(db, schedule=schedule, action="pause", actor=actor, before=before, now=now,
                  reason=schedule.paused_reason)
    on_commit(db, lambda: signals.schedule_changed(schedule.id))


def resume(
    db: Session, schedule: Schedule, *, now: datetime, actor: str, signals: SchedulerSignals,
    enforce_limit: bool = True,
) -> Admission:
    """Fire again: the catch-up policy picks among the occurrences missed while paused; resuming twice is a no-op.

    An automatic resume (``paused_until``) does not check the per-user limit: the
    schedule was counted as active when it was created and is only coming back.
    """
    if schedule.status == "stopped":
        raise InvalidStateTransition("a stopped schedule cannot be resumed; create a new one")
    if schedule.status != "paused":
        return Admission()
    if enforce_limit:
        check_active_schedules(db, schedule.user_profile_id)
    before = snapshot(schedule)
    paused_at = schedule.paused_at
    schedule.status, schedule.paused_reason, schedule.paused_at = "active", "", None
    schedule.paused_until, schedule.updated_at = None, now
    due = [] if paused_at is None else due_occurrences(schedule, since=paused_at, now=now, include_since=False)
    admission = advance_schedule(db, schedule, due=due, now=now, signals=signals, here=False, actor=actor,
                                 before=before, not_run=PAUSED)
    record_change(db, schedule=schedule, action="resume", actor=actor, before=before, now=now)
    on_commit(db, lambda: signals.schedule_changed(schedule.id))
    return admission


def stop(
    db: Session, schedule: Schedule, *, now: datetime, actor: str, signals: SchedulerSignals, reason: str = "",
) -> None:
    """End the schedule for good (its ledger stays); stopping a stopped schedule changes nothing."""
    if schedule.status == "stopped":
        return
    before = snapshot(schedule)
    schedule.status, schedule.next_run_at, schedule.rq_job_id, schedule.updated_at = "stopped", None, None, now
    schedule.paused_until = None
    record_change(db, schedule=schedule, action="stop", actor=actor, before=before, now=now, reason=reason)
    on_commit(db, lambda: signals.schedule_changed(schedule.id))

