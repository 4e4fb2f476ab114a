"""Ledger figures the dashboard shows that the services have no call for: the last run of each listed schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from rqflow.models import ScheduleRun


@dataclass(frozen=True)
class LastRun:
    """A schedule's latest ledger row: what became of it, and the occurrence it was for."""

    status: str
    scheduled_for: datetime


def last_runs(db: Session, schedule_ids: list[str]) -> dict[str, LastRun]:
    """Each schedule's latest ledger row (by occurrence), in one query for a whole page.

    A status alone does not say whether it is from a minute or a month ago; the occurrence does.
    Callers pass ids they got from the owner-checked ``list_schedules``, so this never widens access.
    """
    if not schedule_ids:
        return {}
    latest = (select(ScheduleRun.scheduled_job_id, func.max(ScheduleRun.scheduled_for).label("at"))
              .where(ScheduleRun.scheduled_job_id.in_(schedule_ids))
              .group_by(ScheduleRun.scheduled_job_id).subquery())
    # (scheduled_job_id, scheduled_for) is unique, so the join finds exactly one row per schedule.
    query = select(ScheduleRun.scheduled_job_id, ScheduleRun.status, ScheduleRun.scheduled_for).join(
        latest, and_(ScheduleRun.scheduled_job_id == latest.c.scheduled_job_id,
                     ScheduleRun.scheduled_for == latest.c.at))
    return {schedule_id: LastRun(status, at) for schedule_id, status, at in db.execute(query)}
