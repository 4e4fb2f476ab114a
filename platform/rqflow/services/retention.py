"""The retention sweep: delete old ledger rows, their workflow and node runs, old notifications and old audit rows,
in small batches.

The leading scheduler calls :func:`sweep` with a time budget on each pass of its loop, so
a backlog of millions of rows is worked off a batch at a time between its other duties,
and no transaction lasts longer than one batch (RQFLOW_RETENTION_BATCH_SIZE rows, oldest
first). Only ended rows go (``succeeded``, ``failed``, ``skipped``, ``missed``): a run
still going, waiting or queued is never touched, however old.

The ledger's totals (``ledger_totals``, which ``/metrics`` reads) were counted when each
row ended and are not touched; nor are a schedule's own counters (``run_count``,
``error_count``, ``missed_count``, ...), which live on its row.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Delete, Select, delete, select, tuple_
from sqlalchemy.orm import Session

from rqflow.models import NodeRun, NotificationDelivery, Schedule, ScheduleChange, ScheduleRun, WorkflowRun
from rqflow.models.ledger_total import ENDED_STATUSES
from rqflow.settings import get_settings

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    """What one call of :func:`sweep` deleted."""

    runs: int = 0
    workflow_runs: int = 0
    changes: int = 0
    notifications: int = 0
    by_status: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def rows(self) -> int:
        return self.runs + self.workflow_runs + self.changes + self.notifications


def sweep(db: Session, *, now: datetime, budget_seconds: float) -> SweepReport:
    """Delete what has outlived its retention, a batch per transaction, until none is left or the budget is
    spent (at least one batch of each kind is tried)."""
    report = SweepReport()
    deadline = time.monotonic() + budget_seconds
    for cutoff, retention in _ledger_cutoffs(db, now):
        after: tuple[datetime, int] | None = None
        while (after := _sweep_ledger_batch(db, cutoff, retention, after, report)) and time.monotonic() < deadline:
            continue
        if time.monotonic() >= deadline:
            return report
    settings = get_settings()
    run_cutoff = now - timedelta(days=settings.run_retention_days)
    report.workflow_runs += _drain(lambda: _sweep_orphans_batch(db, run_cutoff), deadline)
    # Notifications that are done go with the runs they told about; one still being sent stays.
    report.notifications += _drain(lambda: _old_rows_batch(db, NotificationDelivery, run_cutoff,
                                                           NotificationDelivery.status != "pending"), deadline)
    audit_cutoff = now - timedelta(days=settings.audit_retention_days)
    report.changes += _drain(lambda: _old_rows_batch(db, ScheduleChange, audit_cutoff), deadline)
    return report


def _drain(batch: Callable[[], int], deadline: float) -> int:
    """Run ``batch`` until it deletes nothing or the time budget is spent (once at least); how many rows went."""
    total = 0
    while True:
        deleted = batch()
        total += deleted
        if not deleted or time.monotonic() >= deadline:
            return total


def _ledger_cutoffs(db: Session, now: datetime) -> list[tuple[datetime, int | None]]:
    """One cutoff per retention in use: the default (None), then each schedule-set number of days."""
    kept = sorted(day for day in db.scalars(select(Schedule.run_retention_days).distinct()) if day is not None)
    db.rollback()
    default = get_settings().run_retention_days
    return [(now - timedelta(days=default), None), *((now - timedelta(days=days), days) for days in kept)]


def _old_runs(cutoff: datetime, retention: int | None,
              after: tuple[datetime, int] | None) -> Select[int, datetime, str, str]:
    """The next batch of ledger rows created before ``cutoff`` of the schedules with this retention, oldest first,
    from just past ``after``: read along the ``created_at`` index, so each row is read once a pass. The status is
    filtered by the caller (a condition on it here lets a planner sort instead, at every batch)."""
    kept = (Schedule.run_retention_days.is_(None) if retention is None else Schedule.run_retention_days == retention)
    query = (
        select(ScheduleRun.id, ScheduleRun.created_at, ScheduleRun.status, ScheduleRun.trigger_kind)
        .join(Schedule, Schedule.id == ScheduleRun.scheduled_job_id)
        .where(ScheduleRun.created_at < cutoff, kept)
        .order_by(ScheduleRun.created_at, ScheduleRun.id).limit(get_settings().retention_batch_size))
    if after is not None:
        query = query.where(tuple_(ScheduleRun.created_at, ScheduleRun.id) > tuple_(*after))
    return query


def _sweep_ledger_batch(db: Session, cutoff: datetime, retention: int | None, after: tuple[datetime, int] | None,
                        report: SweepReport) -> tuple[datetime, int] | None:
    """Delete one batch of ledger rows with everything hanging off them; where the next batch starts (None: there
    was nothing left)."""
    scanned = db.execute(_old_runs(cutoff, retention, after)).all()
    if not scanned:
        db.rollback()
        return None
    rows = [row for row in scanned if row.status in ENDED_STATUSES]  # a run still going is never swept
    ids = [row.id for row in rows]
    counts = Counter((row.status, row.trigger_kind) for row in rows)
    flows = select(WorkflowRun.id).where(WorkflowRun.schedule_run_id.in_(ids))
    db.execute(delete(NodeRun).where(NodeRun.workflow_run_id.in_(flows)))
    report.workflow_runs += _deleted(db, delete(WorkflowRun).where(WorkflowRun.schedule_run_id.in_(ids)))
    report.runs += _deleted(db, delete(ScheduleRun).where(ScheduleRun.id.in_(ids)))
    db.commit()
    report.by_status.update(counts)
    return scanned[-1].created_at, scanned[-1].id


def _sweep_orphans_batch(db: Session, cutoff: datetime) -> int:
    """Old ended workflow runs whose ledger row went with its schedule; how many."""
    ids = list(db.scalars(select(WorkflowRun.id).where(
        WorkflowRun.schedule_run_id.is_(None), WorkflowRun.started_at < cutoff,
        WorkflowRun.status.in_(("succeeded", "failed"))).order_by(WorkflowRun.started_at)
        .limit(get_settings().retention_batch_size)))
    if not ids:
        db.rollback()
        return 0
    db.execute(delete(NodeRun).where(NodeRun.workflow_run_id.in_(ids)))
    deleted = _deleted(db, delete(WorkflowRun).where(WorkflowRun.id.in_(ids)))
    db.commit()
    return deleted


def _old_rows_batch(db: Session, model: type[NotificationDelivery | ScheduleChange], cutoff: datetime,
                    *where: ColumnElement[bool]) -> int:
    """Delete the oldest batch of ``model``'s rows created before ``cutoff`` (and matching ``where``); how many."""
    ids = list(db.scalars(select(model.id).where(model.created_at < cutoff, *where)
                          .order_by(model.created_at).limit(get_settings().retention_batch_size)))
    if not ids:
        db.rollback()
        return 0
    deleted = _deleted(db, delete(model).where(model.id.in_(ids)))
    db.commit()
    return deleted


def _deleted(db: Session, statement: Delete) -> int:
    """Run a DELETE; how many rows it removed."""
    return cast(CursorResult[Any], db.execute(statement)).rowcount
