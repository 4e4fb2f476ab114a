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
from rqflow.models import Schedule, ScheduleRun, UserProfile, Workflow
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
) -> Schedule:
    """Validate and store a schedule, active, with its first occurrence computed."""
    workflow = _owned_workflow(db, owner, data.workflow_id)
    _check_trigger_node(workflow, data.trigger_node_id)
    schedule = Schedule(
        id=new_schedule_id(), user_profile_id=owner.id, status="active", run_count=0, error_count=0,
        consecutive_failures=0, missed_count=0, last_error="", paused_reason="", created_at=now, updated_at=now,
        **data.model_dump(),
    )
    check_schedule(schedule, now=now, is_new=True)
    quotas.check_active_schedules(db, owner.id)
    set_next_run(db, schedule, after=now)
    db.add(schedule)
    db.flush()
    record_change(db, schedule=schedule, action="create", actor=user_actor(owner), before=None, now=now)
    on_commit(db, lambda: signals.schedule_changed(schedule.id))
    return schedule


def get_schedule(*, db: Session, owner: UserProfile, schedule_id: str) -> Schedule:
    """The owner's schedule, or ScheduleNotFound (also for other users' schedules)."""
    schedule = db.get(Schedule, schedule_id)
    if schedule is None or schedule.user_profile_id != owner.id:
        raise ScheduleNotFound(schedule_id)
    return schedule


def list_schedules(
    *, db: Session, owner: UserProfile, status: str | None, name: str | None, limit: int, offset: int
) -> tuple[list[Schedule], int]:
    """One page of the owner's schedules, oldest first, optionally filtered; and the total."""
    where: list[Any] = [Schedule.user_profile_id == owner.id]
    if status:
        where.append(Schedule.status == status)
    if name:
        where.append(Schedule.name.contains(name, autoescape=True))
    total = db.scalar(select(func.count()).select_from(Schedule).where(*where)) or 0
    query = select(Schedule).where(*where).order_by(Schedule.created_at, Schedule.id)
    return list(db.scalars(query.limit(limit).offset(offset))), total


def update_schedule(
    *, db: Session, owner: UserProfile, schedule_id: str, data: ScheduleUpdate, now: datetime, signals: SchedulerSignals
) -> Schedule:
    """Apply the given fields; a cadence change re-computes the next occurrence at once."""
    schedule = get_schedule(db=db, owner=owner, schedule_id=schedule_id)
    before = snapshot(schedule)
    changes = data.model_dump(exclude_unset=True)
    _refuse_nulls(changes, ("name", "description", "schedule_type", "timezone", "catchup_policy", "overlap_policy",
                            "jitter_seconds"))
    if "trigger_node_id" in changes:
        _check_trigger_node(_owned_workflow(db, owner, schedule.workflow_id), changes["trigger_node_id"])
    if "schedule_type" in changes:
        _clear_other_kinds(changes)
    for field, value in changes.items():
        setattr(schedule, field, value)
    check_schedule(schedule, now=now, is_new=False)
    if schedule.status == "active" and set(changes) & set(TIMING_FIELDS):
        set_next_run(db, schedule, after=now)
    schedule.updated_at = now
    record_change(db, schedule=schedule, action="update", actor=user_actor(owner), before=before, now=now)
    on_commit(db, lambda: signals.schedule_changed(schedule.id))
    return schedule


def pause_schedule(
    *, db: Session, owner: UserProfile, schedule_id: str, now: datetime, signals: SchedulerSignals,
    reason: str = "", until: datetime | None = None,
) -> Schedule:
    """Stop firing until resumed, or until ``until``; the reason is shown on the schedule."""
    schedule = locked_schedule(db, owner, schedule_id)
    lifecycle.pause(db, schedule, now=now, actor=user_actor(owner), signals=signals, reason=reason, until=until)
    return schedule


def resume_schedule(
    *, db: Session, owner: UserProfile, schedule_id: str, now: datetime, signals: SchedulerSignals
) -> Schedule:
    """Fire again; the catch-up policy decides which occurrences missed while paused still run."""
    schedule = locked_schedule(db, owner, schedule_id)
    lifecycle.resume(db, schedule, now=now, actor=user_actor(owner), signals=signals)
    return schedule


def stop_schedule(
    *, db: Session, owner: UserProfile, schedule_id: str, now: datetime, signals: SchedulerSignals, reason: str = ""
) -> Schedule:
    """End the schedule for good; its ledger and trail stay."""
    schedule = locked_schedule(db, owner, schedule_id)
    lifecycle.stop(db, schedule, now=now, actor=user_actor(owner), signals=signals, reason=reason)
    return schedule


def delete_schedule(
    *, db: Session, owner: UserProfile, schedule_id: str, now: datetime, signals: SchedulerSignals
) -> None:
    """Delete the schedule and its ledger; its timer is cancelled and its audit trail kept."""
    schedule = locked_schedule(db, owner, schedule_id)
    record_change(db, schedule=schedule, action="delete", actor=user_actor(owner), before=snapshot(schedule), now=now)
    db.delete(schedule)
    on_commit(db, lambda: signals.schedule_changed(schedule_id))


def trigger_schedule_now(
    *, db: Session, owner: UserProfile, schedule_id: str, now: datetime, signals: SchedulerSignals
) -> ScheduleRun:
    """Record a manual run and queue it under the overlap policy; it does not move the schedule's timeline."""
    schedule = locked_schedule(db, owner, schedule_id)
    quotas.check_queued_runs(db, owner, adding=1)
    run = ScheduleRun(scheduled_job_id=schedule.id, scheduled_for=now, trigger_kind="manual", status="waiting",
                      created_at=now)
    db.add(run)
    db.flush()
    admit(db, schedule, [run], now=now, signals=signals, here=False, queue=False)
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


def upcoming(schedule: Schedule, *, count: int) -> list[datetime]:
    """The next ``count`` occurrences from ``next_run_at`` on (none while paused or stopped)."""
    if schedule.status != "active" or schedule.next_run_at is None:
        return []
    spec = spec_of(schedule)
    later = spec.occurrences(after=schedule.next_run_at, count=count - 1)
    return [schedule.next_run_at, *later]


def locked_schedule(db: Session, owner: UserProfile, schedule_id: str) -> Schedule:
    """The owner's schedule under its row lock, for changes that must not race a worker."""
    schedule = lock_schedule(db, schedule_id)
    if schedule is None or schedule.user_profile_id != owner.id:
        raise ScheduleNotFound(schedule_id)
    return schedule


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
