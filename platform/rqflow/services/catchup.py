"""Moving a schedule past the occurrences that came due: run some, record the rest, point at the next.

The worker claiming an occurrence, the scheduler finding an overdue schedule and a
resume all do the same thing here, under the schedule's row lock: apply the
catch-up policy (:mod:`rqflow.timing.catchup`) to the due occurrences, write one
ledger row for each of them (never silence), offer the ones to run to the overlap
policy, and move ``next_run_at`` to the first occurrence after now, stopping the
schedule when none is left.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from rqflow.job_ids import fire_job_id
from rqflow.models import Schedule, ScheduleRun
from rqflow.services import notifications
from rqflow.services.audit import record_change
from rqflow.services.overlap import Admission, admit
from rqflow.services.schedule_rules import Cadenced, spec_of
from rqflow.settings import get_settings
from rqflow.signals import SchedulerSignals
from rqflow.timing.catchup import CatchupPolicy, plan_catchup
from rqflow.timing.instants import shifted
from rqflow.timing.jitter import fire_at

log = logging.getLogger(__name__)

# At most this many due occurrences (the newest) get ledger rows in one catch-up.
MAX_DUE = 1000
CATCHUP_REASON = "catch-up"
MAX_RUNS_REASON = "max_runs reached"


@dataclass(frozen=True)
class NotRun:
    """How due occurrences that will not run are recorded: ``missed`` by default, ``skipped`` after a pause."""

    status: str = "missed"
    reason: str | None = None  # None keeps the catch-up policy's own reason


PAUSED = NotRun(status="skipped", reason="schedule was paused")


def due_occurrences(schedule: Cadenced, *, since: datetime, now: datetime, include_since: bool) -> list[datetime]:
    """The schedule's occurrences from ``since`` whose firing instant has come by ``now``; the newest MAX_DUE."""
    lower = since - timedelta(microseconds=1) if include_since else since
    found = spec_of(schedule).newest_between(lower, now, MAX_DUE)
    if found.older_left_out:
        log.warning("schedule %s: more than %d occurrences are due; those before %s get no ledger row",
                    schedule.id, MAX_DUE, found.occurrences[0], extra={"schedule_id": schedule.id})
    # An occurrence whose jittered instant is still ahead is not due yet: it stays the next one.
    return [when for when in found.occurrences if fire_at(schedule.id, when, schedule.jitter_seconds) <= now]


def next_occurrence(schedule: Cadenced, *, after: datetime) -> datetime | None:
    """The first occurrence whose firing instant (occurrence plus jitter) is after ``after``.

    Jitter is below the spacing, so firing instants keep the order of the occurrences
    and at most one occurrence at or before ``after`` can still be ahead of it.
    """
    spec = spec_of(schedule)
    jitter = schedule.jitter_seconds or 0
    candidate = spec.next_after(shifted(after, -jitter))
    while candidate is not None and fire_at(schedule.id, candidate, jitter) <= after:
        candidate = spec.next_after(candidate)
    return candidate


def advance_schedule(
    db: Session, schedule: Schedule, *, due: list[datetime], now: datetime, signals: SchedulerSignals, here: bool,
    actor: str, before: dict[str, Any], not_run: NotRun = NotRun(),
) -> Admission:
    """Record and admit the due occurrences, then point the schedule at its next one (row lock held)."""
    existing = recorded_instants(db, schedule.id, due)
    plan = plan_catchup(
        due, now=now, policy=_policy(schedule.catchup_policy), window_seconds=schedule.catchup_window_seconds,
        grace=misfire_grace(), fire_at=lambda t: fire_at(schedule.id, t, schedule.jitter_seconds),
    )
    not_run_rows = [_add_not_run(db, schedule, when, not_run.status, not_run.reason or reason, now)
                    for when, reason in plan.missed if when not in existing]
    missed = [row for row in not_run_rows if row.status == "missed"]
    if missed:
        notifications.notify_missed(db, schedule, missed, now=now, signals=signals)
    chosen = [when for when in plan.run if when not in existing]
    if schedule.max_runs is not None:
        room = max(schedule.max_runs - schedule.run_count, 0)
        for when in chosen[room:]:
            _add_not_run(db, schedule, when, "skipped", MAX_RUNS_REASON, now)
        chosen = chosen[:room]
    rows = [_waiting_row(schedule, when, now) for when in chosen]
    db.add_all(rows)
    if rows:
        schedule.run_count += len(rows)
        schedule.last_run_at = now
    # Moved on before the flush, so the schedule's row is written once (the policy below does not read it).
    set_next_run(db, schedule, after=now, actor=actor, before=before)
    db.flush()
    return admit(db, schedule, rows, now=now, signals=signals, here=here, queue=len(rows) > 1)


def set_next_run(
    db: Session, schedule: Schedule, *, after: datetime, actor: str | None = None, before: dict[str, Any] | None = None,
) -> None:
    """Point the schedule at its first occurrence firing after ``after``; with none left (or max_runs reached), stop it.

    With an ``actor``, stopping is recorded in the audit trail as that actor's ``stop``.
    """
    schedule.next_run_at = next_occurrence(schedule, after=after)
    if schedule.max_runs is not None and schedule.run_count >= schedule.max_runs:
        schedule.next_run_at = None
    due = schedule.next_run_at
    schedule.rq_job_id = fire_job_id(schedule.id, due) if due and schedule.id else None
    if schedule.next_run_at is None and schedule.status != "stopped":
        schedule.status = "stopped"
        if actor is not None:
            reason = MAX_RUNS_REASON if schedule.max_runs is not None and schedule.run_count >= schedule.max_runs else (
                "no occurrence left")
            record_change(db, schedule=schedule, action="stop", actor=actor, before=before, now=after, reason=reason)


def recorded_instants(db: Session, schedule_id: str, due: list[datetime]) -> set[datetime]:
    """The due instants that already have a ledger row (a backfill, or a stale timer's skip)."""
    if not due:
        return set()
    query = select(ScheduleRun.scheduled_for).where(
        ScheduleRun.scheduled_job_id == schedule_id, ScheduleRun.scheduled_for.between(due[0], due[-1])
    )
    return set(db.scalars(query))


def _add_not_run(db: Session, schedule: Schedule, when: datetime, status: str, reason: str,
                 now: datetime) -> ScheduleRun:
    row = ScheduleRun(scheduled_job_id=schedule.id, scheduled_for=when, trigger_kind="schedule", status=status,
                      reason=reason[:255], finished_at=now, created_at=now)
    db.add(row)
    if status == "missed":
        schedule.missed_count += 1
    return row


def _waiting_row(schedule: Schedule, when: datetime, now: datetime) -> ScheduleRun:
    late = now - fire_at(schedule.id, when, schedule.jitter_seconds) > misfire_grace()
    return ScheduleRun(scheduled_job_id=schedule.id, scheduled_for=when, trigger_kind="schedule", status="waiting",
                       reason=CATCHUP_REASON if late else "", created_at=now)


def misfire_grace() -> timedelta:
    """How late an occurrence may start and still count as on time (RQFLOW_MISFIRE_GRACE_SECONDS)."""
    return timedelta(seconds=get_settings().misfire_grace_seconds)


def _policy(value: str) -> CatchupPolicy:
    if value not in get_args(CatchupPolicy):
        raise ValueError(f"unknown catch-up policy {value!r}")
    return value  # type: ignore[return-value]
