"""Per-user caps: what one user may hold (schedules, workflows, nodes) and have waiting for workers.

rqflow is shared: one user's workflows run on the same workers and fill the same
database as everyone else's. Each cap is a setting; going past it is refused
with an answer that names the setting, and nothing is written. Counting locks
the user's row first, so two requests at once cannot both take the last place,
and stops at the limit, so its cost does not grow with the table.

How often a user may ask for run-now and backfill is bounded too, in Redis
(``rqflow.broker.trigger_rate``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from rqflow.errors import InvalidInput, QueuedRunLimitReached, ScheduleLimitReached, WorkflowLimitReached
from rqflow.models import Schedule, ScheduleRun, UserProfile, Workflow
from rqflow.settings import get_settings

# Runs that wait for a worker (or for their turn): what a flood of requests piles up.
QUEUED_STATUSES = ("waiting", "enqueued")


def check_active_schedules(db: Session, owner_id: int, *, adding: int = 1) -> None:
    """Refuse to go past RQFLOW_MAX_SCHEDULES_PER_USER active schedules for one user."""
    limit = get_settings().max_schedules_per_user
    active = select(Schedule.id).where(Schedule.user_profile_id == owner_id, Schedule.status == "active")
    counted = _count_up_to(db, owner_id, active, limit)
    if counted + adding > limit:
        raise ScheduleLimitReached(
            f"you have {_said(counted, limit)} active schedules; the limit is {limit} "
            "(RQFLOW_MAX_SCHEDULES_PER_USER): pause or delete one first"
        )


def check_workflows(db: Session, owner_id: int) -> None:
    """Refuse a new workflow past RQFLOW_MAX_WORKFLOWS_PER_USER."""
    limit = get_settings().max_workflows_per_user
    counted = _count_up_to(db, owner_id, select(Workflow.id).where(Workflow.user_profile_id == owner_id), limit)
    if counted + 1 > limit:
        raise WorkflowLimitReached(
            f"you have {_said(counted, limit)} workflows; the limit is {limit} (RQFLOW_MAX_WORKFLOWS_PER_USER): "
            "delete one first",
            field="name",
        )


def check_node_count(count: int) -> None:
    """Refuse a graph of more than RQFLOW_MAX_NODES_PER_WORKFLOW nodes."""
    limit = get_settings().max_nodes_per_workflow
    if count > limit:
        raise InvalidInput(
            f"the workflow has {count} nodes; the limit is {limit} (RQFLOW_MAX_NODES_PER_WORKFLOW)", field="nodes"
        )


def check_queued_runs(db: Session, owner: UserProfile, *, adding: int, field: str | None = None) -> None:
    """Refuse run-now or backfill work that would leave more than RQFLOW_MAX_QUEUED_RUNS_PER_USER runs
    queued or waiting for this user (scheduled occurrences count, but are never refused)."""
    limit = get_settings().max_queued_runs_per_user
    queued = (
        select(ScheduleRun.id)
        .join(Schedule, Schedule.id == ScheduleRun.scheduled_job_id)
        .where(Schedule.user_profile_id == owner.id, ScheduleRun.status.in_(QUEUED_STATUSES))
    )
    counted = _count_up_to(db, owner.id, queued, limit)
    if counted + adding > limit:
        raise QueuedRunLimitReached(
            f"you have {_said(counted, limit)} runs queued or waiting and ask for {adding} more; the limit is "
            f"{limit} (RQFLOW_MAX_QUEUED_RUNS_PER_USER): wait until some have run",
            field=field,
        )


def _count_up_to(db: Session, owner_id: int, rows: Select[Any], limit: int) -> int:
    """How many of ``rows`` there are, counting no further than ``limit``, under the owner's row lock (FOR NO KEY
    UPDATE: it must not wait for, nor deadlock with, the key-share lock a row referencing the user takes)."""
    db.execute(select(UserProfile.id).where(UserProfile.id == owner_id).with_for_update(key_share=True))
    return db.scalar(select(func.count()).select_from(rows.limit(limit).subquery())) or 0


def _said(counted: int, limit: int) -> str:
    return f"{counted}" if counted < limit else f"{limit} or more"
