"""The audit trail: every change to a schedule, with who made it and the old and new values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rqflow.errors import ScheduleNotFound
from rqflow.models import Schedule, ScheduleChange, UserProfile

# The fields a person can see change; counters and timer bookkeeping are left out on purpose.
AUDITED_FIELDS = (
    "name", "description", "workflow_id", "trigger_node_id", "schedule_type", "cron_expression",
    "interval_seconds", "run_at", "timezone", "start_at", "end_at", "max_runs", "trigger_payload",
    "catchup_policy", "catchup_window_seconds", "overlap_policy", "jitter_seconds", "pause_after_failures",
    "run_timeout_seconds", "run_retention_days", "max_budget_per_run_usd", "max_tokens_per_run", "notify",
    "status", "paused_reason", "paused_until",
)
SYSTEM_SCHEDULER = "system:scheduler"
SYSTEM_WORKER = "system:worker"


def user_actor(user: UserProfile) -> str:
    """How a person appears in the trail."""
    return f"user:{user.name}"


def snapshot(schedule: Schedule) -> dict[str, Any]:
    """The audited fields of a schedule, as JSON values."""
    return {name: _json(getattr(schedule, name)) for name in AUDITED_FIELDS}


def record_change(
    db: Session, *, schedule: Schedule, action: str, actor: str, before: dict[str, Any] | None, now: datetime,
    reason: str = "",
) -> ScheduleChange | None:
    """Add a trail row for the fields that differ from ``before`` (all of them on create and delete).

    An update that changed nothing leaves no row.
    """
    after = {} if action == "delete" else snapshot(schedule)
    old = before or {}
    changes = {name: {"old": old.get(name), "new": after.get(name)}
               for name in AUDITED_FIELDS if old.get(name) != after.get(name)}
    if not changes and action == "update":
        return None
    change = ScheduleChange(scheduled_job_id=schedule.id, user_profile_id=schedule.user_profile_id, actor=actor,
                            action=action, reason=reason[:1000], changes=changes, created_at=now)
    db.add(change)
    return change


def list_changes(
    *, db: Session, owner: UserProfile, schedule_id: str, limit: int, offset: int
) -> tuple[list[ScheduleChange], int]:
    """One page of a schedule's trail, oldest first; the trail outlives a deleted schedule."""
    where = [ScheduleChange.scheduled_job_id == schedule_id, ScheduleChange.user_profile_id == owner.id]
    total = db.scalar(select(func.count()).select_from(ScheduleChange).where(*where)) or 0
    if total == 0:
        schedule = db.get(Schedule, schedule_id)
        if schedule is None or schedule.user_profile_id != owner.id:
            raise ScheduleNotFound(schedule_id)
    query = select(ScheduleChange).where(*where).order_by(ScheduleChange.id).limit(limit).offset(offset)
    return list(db.scalars(query)), total


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
