"""Schedules: create, read, edit, pause, resume, stop, trigger, delete.

Every change commits the row first and then signals the scheduler (see
:func:`rqflow.db.on_commit`), so the timer in Redis always follows the database,
and every change leaves a row in the audit trail (:mod:`rqflow.services.audit`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rqflow.db import on_commit
from rqflow.errors import InvalidInput, ScheduleNotFound
from rqflow.models import ScheduledJob, ScheduleRun, UserProfile, Workflow
from rqflow.models.schedule import new_schedule_id
from rqflow.schemas.schedule import ScheduleCreate, ScheduleUpdate
from rqflow.services import lifecycle, quotas
from rqflow.services.audit import record_change, snapshot, user_actor
from rqflow.services.catchup import set_next_run
from rqflow.services.overlap import admit, lock_schedule
from rqflow.services.schedule_rules import SPACING_FIELD, check_schedule, spec_of
from rqflow.signals import SchedulerSignals

# Changing any of these moves the next occurrence (and so the timer) at once.
TIMING_FIELDS = ("schedule_type", "cron_expression", "interval_seconds", "run_at", "timezone", "start_at", "end_at",
                 "max_runs", "jitter_seconds")


def create_schedule(
    *, db: Session, owner: UserProfile, data: ScheduleCreate, now: datetime, signals: SchedulerSignals
) -> ScheduledJob:
    """Validate and store a schedule, active, with its first occurrence computed."""
    workflow = _owned_workflow(db, owner, data.workflow_id)
    _check_trigger_node(workflow, data.trigger_node_id)
    job = ScheduledJob(
        id=new_schedule_id(), user_profile_id=owner.id, status="active", run_count=0, error_count=0,
        consecutive_failures=0, missed_count=0, last_error="", paused_reason="", created_at=now, updated_at=now,
        **data.model_dump(),
    )
    check_schedule(job, now=now, is_new=True)
    quotas.check_active_schedules(db, owner.id)
    set_next_run(db, job, after=now)
    db.add(job)
    db.flush()
    record_change(db, job=job, action="create", actor=user_actor(owner), before=None, now=now)
    on_commit(db, lambda: signals.schedule_changed(job.id))
    return job


def get_schedule(*, db: Session, owner: UserProfile, schedule_id: str) -> ScheduledJob:
    """The owner's schedule, or ScheduleNotFound (also for other users' schedules)."""
    job = db.get(ScheduledJob, schedule_id)
    if job is None or job.user_profile_id != owner.id:
        raise ScheduleNotFound(schedule_id)
    return job


def list_schedules(
    *, db: Session, owner: UserProfile, status: str | None, name: str | None, limit: int, offset: int
) -> tuple[list[ScheduledJob], int]:
    """One page of the owner's schedules, oldest first, optionally filtered; and the total."""
    where: list[Any] = [ScheduledJob.user_profile_id == owner.id]
    if status:
        where.append(ScheduledJob.status == status)
    if name:
        where.append(ScheduledJob.name.contains(name, autoescape=True))
    total = db.scalar(select(func.count()).select_from(ScheduledJob).where(*where)) or 0
    query = select(ScheduledJob).where(*where).order_by(ScheduledJob.created_at, ScheduledJob.id)
    return list(db.scalars(query.limit(limit).offset(offset))), total


def update_schedule(
    *, db: Session, owner: UserProfile, schedule_id: str, data: ScheduleUpdate, now: datetime, signals: SchedulerSignals
) -> ScheduledJob:
    """Apply the given fields; a cadence change re-computes the next occurrence at once."""
    job = get_schedule(db=db, owner=owner, schedule_id=schedule_id)
    before = snapshot(job)
    changes = data.model_dump(exclude_unset=True)
    _refuse_nulls(changes, ("name", "description", "schedule_type", "timezone", "catchup_policy", "overlap_policy",
                            "jitter_seconds"))
    if "trigger_node_id" in changes:
        _check_trigger_node(_owned_workflow(db, owner, job.workflow_id), changes["trigger_node_id"])
    if "schedule_type" in changes:
        _clear_other_kinds(changes)
    for field, value in changes.items():
        setattr(job, field, value)
    check_schedule(job, now=now, is_new=False)
    if job.status == "active" and set(changes) & set(TIMING_FIELDS):
        set_next_run(db, job, after=now)
    job.updated_at = now
    record_change(db, job=job, action="update", actor=user_actor(owner), before=before, now=now)
    on_commit(db, lambda: signals.schedule_changed(job.id))
    return job


def pause_schedule(
    *, db: Session, owner: UserProfile, schedule_id: str, now: datetime, signals: SchedulerSignals,
    reason: str = "", until: datetime | None = None,
) -> ScheduledJob:
    """Stop firing until resumed, or until ``until``; the reason is shown on the schedule."""
    job = locked_schedule(db, owner, schedule_id)
    lifecycle.pause(db, job, now=now, actor=user_actor(owner), signals=signals, reason=reason, until=until)
    return job


def resume_schedule(
    *, db: Session, owner: UserProfile, schedule_id: str, now: datetime, signals: SchedulerSignals
) -> ScheduledJob:
    """Fire again; the catch-up policy decides which occurrences missed while paused still run."""
    job = locked_schedule(db, owner, schedule_id)
    lifecycle.resume(db, job, now=now, actor=user_actor(owner), signals=signals)
    return job


def stop_schedule(
    *, db: Session, owner: UserProfile, schedule_id: str, now: datetime, signals: SchedulerSignals, reason: str = ""
) -> ScheduledJob:
    """End the schedule for good; its ledger and trail stay."""
    job = locked_schedule(db, owner, schedule_id)
    lifecycle.stop(db, job, now=now, actor=user_actor(owner), signals=signals, reason=reason)
    return job


def delete_schedule(
    *, db: Session, owner: UserProfile, schedule_id: str, now: datetime, signals: SchedulerSignals
) -> None:
    """Delete the schedule and its ledger; its timer is cancelled and its audit trail kept."""
    job = locked_schedule(db, owner, schedule_id)
    record_change(db, job=job, action="delete", actor=user_actor(owner), before=snapshot(job), now=now)
    db.delete(job)
    on_commit(db, lambda: signals.schedule_changed(schedule_id))


def trigger_schedule_now(
    *, db: Session, owner: UserProfile, schedule_id: str, now: datetime, signals: SchedulerSignals
) -> ScheduleRun:
    """Record a manual run and queue it under the overlap policy; it does not move the schedule's timeline."""
    job = locked_schedule(db, owner, schedule_id)
    quotas.check_queued_runs(db, owner, adding=1)
    run = ScheduleRun(scheduled_job_id=job.id, scheduled_for=now, trigger_kind="manual", status="waiting",
                      created_at=now)
    db.add(run)
    db.flush()
    admit(db, job, [run], now=now, signals=signals, here=False, queue=False)
    return run


def list_runs(
    *, db: Session, owner: UserProfile, schedule_id: str, status: str | None, limit: int, offset: int
) -> tuple[list[ScheduleRun], int]:
    """One page of a schedule's ledger, newest occurrence first."""
    get_schedule(db=db, owner=owner, schedule_id=schedule_id)
    where: list[Any] = [ScheduleRun.scheduled_job_id == schedule_id]
    if status:
        where.append(ScheduleRun.status == status)
    total = db.scalar(select(func.count()).select_from(ScheduleRun).where(*where)) or 0
    query = select(ScheduleRun).where(*where).order_by(ScheduleRun.scheduled_for.desc(), ScheduleRun.id.desc())
    return list(db.scalars(query.limit(limit).offset(offset))), total


def upcoming(job: ScheduledJob, *, count: int) -> list[datetime]:
    """The next ``count`` occurrences from ``next_run_at`` on (none while paused or stopped)."""
    if job.status != "active" or job.next_run_at is None:
        return []
    spec = spec_of(job)
    later = spec.occurrences(after=job.next_run_at, count=count - 1)
    return [job.next_run_at, *later]


def locked_schedule(db: Session, owner: UserProfile, schedule_id: str) -> ScheduledJob:
    """The owner's schedule under its row lock, for changes that must not race a worker."""
    job = lock_schedule(db, schedule_id)
    if job is None or job.user_profile_id != owner.id:
        raise ScheduleNotFound(schedule_id)
    return job


def _owned_workflow(db: Session, owner: UserProfile, workflow_id: int) -> Workflow:
    workflow = db.get(Workflow, workflow_id)
    if workflow is None or workflow.user_profile_id != owner.id:
        raise InvalidInput(f"workflow {workflow_id} not found", field="workflow_id")
    return workflow


def _check_trigger_node(workflow: Workflow, node_id: int | None) -> None:
    """A named trigger node must be one of the workflow's ``trigger_schedule`` nodes."""
    if node_id is None:
        return
    node = next((n for n in workflow.nodes if n.id == node_id), None)
    if node is None or node.component_type != "trigger_schedule":
        raise InvalidInput(
            f"node {node_id} is not a trigger_schedule node of workflow {workflow.id}", field="trigger_node_id"
        )


def _clear_other_kinds(changes: dict[str, Any]) -> None:
    """Switching kind drops the old kind's field unless the request sets it explicitly."""
    for kind, field in SPACING_FIELD.items():
        if kind != changes["schedule_type"]:
            changes.setdefault(field, None)


def _refuse_nulls(changes: dict[str, Any], fields: tuple[str, ...]) -> None:
    for field in fields:
        if field in changes and changes[field] is None:
            raise InvalidInput(f"{field} cannot be null", field=field)
