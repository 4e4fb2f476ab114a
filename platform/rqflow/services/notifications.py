"""Notifications written where an outcome is recorded: one delivery per ``notify`` entry that wants it.

Each function here is called inside the transaction that records the outcome (a run's end,
a missed occurrence, a pause after failures, the user's day crossing 80 % of its budget)
and adds ``pending`` rows to ``notification_deliveries`` with the body they will carry. The
timer of each delivery's first try is armed once that transaction commits; a worker sends
it (:mod:`rqflow.worker.notification`). So a notification costs the run one insert, and a
target that is slow, down or refusing never fails or delays the run.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from rqflow.db import on_commit
from rqflow.errors import InvalidInput
from rqflow.models import NodeRun, NotificationDelivery, Schedule, ScheduleRun, UserProfile, WorkflowRun
from rqflow.models.schedule_run import BUDGET_REASON, TIMEOUT_REASON
from rqflow.schemas.json_values import bounded
from rqflow.schemas.notify import NotifyEntry
from rqflow.settings import get_settings
from rqflow.signals import SchedulerSignals

log = logging.getLogger(__name__)

# The most of a run's output a notification carries (as JSON); more is cut to a preview that says so.
OUTPUT_MAX_CHARS = 65_536
# The share of the daily budget whose crossing sends ``daily_budget``.
DAILY_BUDGET_WARNING = 0.8


def entries(notify: list[dict[str, Any]] | None) -> list[NotifyEntry]:
    """The stored entries, read back; one that no longer reads (hand-edited) is left out, not fatal."""
    parsed = []
    for raw in notify or []:
        try:
            parsed.append(NotifyEntry.model_validate(raw))
        except ValidationError:
            log.warning("ignoring a notify entry that does not read: %r", raw)
    return parsed


def wanting(notify: list[dict[str, Any]] | None, outcome: str) -> list[NotifyEntry]:
    """The entries that hear about ``outcome``."""
    return [entry for entry in entries(notify) if entry.wants(outcome)]


def wants(notify: list[dict[str, Any]] | None, outcome: str) -> bool:
    """Whether any entry hears about ``outcome``."""
    return bool(wanting(notify, outcome))


def run_outcome(run: ScheduleRun) -> str:
    """What an ended run came to, as ``notify`` entries name it."""
    if run.status == "succeeded":
        return "succeeded"
    if run.reason == TIMEOUT_REASON:
        return "timeout"
    if run.reason == BUDGET_REASON:
        return "budget_exceeded"
    return run.status  # failed, missed


def notify_run(db: Session, schedule: Schedule, run: ScheduleRun, *, now: datetime,
               signals: SchedulerSignals) -> int:
    """Write the deliveries of an ended run; how many."""
    outcome = run_outcome(run)
    chosen = wanting(schedule.notify, outcome)
    if not chosen:
        return 0
    body = {"outcome": outcome, "schedule": _schedule_part(schedule), "run": _run_part(run),
            "output": run_output(db, run.id), "sent_at": now.isoformat()}
    for entry in chosen:
        _add(db, schedule.id, run.id, entry, outcome, body, now=now, signals=signals)
    return len(chosen)


def notify_missed(db: Session, schedule: Schedule, rows: list[ScheduleRun], *, now: datetime,
                  signals: SchedulerSignals) -> int:
    """Write one delivery per entry for the occurrences one catch-up recorded ``missed`` (never one per occurrence:
    a scheduler down for a day must not send a thousand messages); how many."""
    chosen = wanting(schedule.notify, "missed")
    if not chosen:
        return 0
    db.flush()  # the rows' ids
    newest = max(rows, key=lambda row: row.scheduled_for)
    instants = sorted(row.scheduled_for.isoformat() for row in rows)
    body = {"outcome": "missed", "schedule": _schedule_part(schedule), "run": _run_part(newest),
            "missed": {"count": len(rows), "first": instants[0], "last": instants[-1], "reason": newest.reason},
            "sent_at": now.isoformat()}
    for entry in chosen:
        _add(db, schedule.id, newest.id, entry, "missed", body, now=now, signals=signals)
    return len(chosen)


def notify_auto_paused(db: Session, schedule: Schedule, *, reason: str, now: datetime,
                       signals: SchedulerSignals) -> int:
    """Write the deliveries of a schedule that paused itself after its failures; how many."""
    chosen = wanting(schedule.notify, "auto_paused")
    body = {"outcome": "auto_paused", "schedule": _schedule_part(schedule), "reason": reason,
            "last_error": schedule.last_error, "sent_at": now.isoformat()}
    for entry in chosen:
        _add(db, schedule.id, None, entry, "auto_paused", body, now=now, signals=signals)
    return len(chosen)


def notify_daily_budget(db: Session, user_id: int, *, spent_usd: float, budget_usd: float, now: datetime,
                        signals: SchedulerSignals, crossed_by: str) -> int:
    """Tell every distinct target that hears about ``daily_budget`` on the user's schedules still going, and on
    ``crossed_by`` (the schedule whose run crossed the line, stopped or not); how many deliveries.

    Each delivery is listed under the schedule whose entry asked for it.
    """
    user = db.get(UserProfile, user_id)
    schedules = db.scalars(select(Schedule).where(
        Schedule.user_profile_id == user_id, Schedule.notify.is_not(None),
        or_(Schedule.status != "stopped", Schedule.id == crossed_by)).order_by(Schedule.created_at))
    body = {"outcome": "daily_budget", "user": user.name if user else str(user_id), "day": now.date().isoformat(),
            "spent_usd": round(spent_usd, 6), "budget_usd": budget_usd,
            "message": f"{spent_usd / budget_usd:.0%} of today's budget for model calls is spent (UTC day); "
                       "new runs are skipped once all of it is", "sent_at": now.isoformat()}
    seen: set[tuple[str, str]] = set()
    for schedule in schedules:
        for entry in wanting(schedule.notify, "daily_budget"):
            if (entry.channel, entry.target) not in seen:
                seen.add((entry.channel, entry.target))
                _add(db, schedule.id, None, entry, "daily_budget", body, now=now, signals=signals)
    return len(seen)


def notify_test(db: Session, schedule: Schedule, *, now: datetime,
                signals: SchedulerSignals) -> list[NotificationDelivery]:
    """Send every entry of the schedule a test notification (a person checking a receiver or an address); the
    deliveries. A schedule without entries is refused, naming ``notify``."""
    chosen = entries(schedule.notify)
    if not chosen:
        raise InvalidInput("this schedule has no notify entries to test", field="notify")
    body = {"outcome": "test", "schedule": _schedule_part(schedule), "sent_at": now.isoformat(),
            "message": "a test notification from rqflow: this target receives the schedule's notifications"}
    return [_add(db, schedule.id, None, entry, "test", body, now=now, signals=signals) for entry in chosen]


def crossed_warning(before_usd: float, after_usd: float, budget_usd: float) -> bool:
    """Whether one run's spending took the day across the warning line (80 % of the budget)."""
    line = DAILY_BUDGET_WARNING * budget_usd
    return before_usd < line <= after_usd


def _add(db: Session, schedule_id: str, run_id: int | None, entry: NotifyEntry, outcome: str,
         body: dict[str, Any], *, now: datetime, signals: SchedulerSignals) -> NotificationDelivery:
    delivery = NotificationDelivery(scheduled_job_id=schedule_id, schedule_run_id=run_id, outcome=outcome,
                                    channel=entry.channel, target=entry.target, status="pending", attempts=0,
                                    next_attempt_at=now, last_error="", payload=body, created_at=now,
                                    attempt_log=[])  # none yet: read without a query
    db.add(delivery)
    db.flush()
    delivery_id = delivery.id
    on_commit(db, lambda: signals.notify_later(delivery_id=delivery_id, attempt=1, at=now))
    return delivery


def _schedule_part(schedule: Schedule) -> dict[str, Any]:
    return {"id": schedule.id, "name": schedule.name, "url": page_url(f"/ui/schedules/{schedule.id}")}


def _run_part(run: ScheduleRun) -> dict[str, Any]:
    def when(value: datetime | None) -> str | None:
        return value.isoformat() if value else None
    return {"id": run.id, "status": run.status, "reason": run.reason, "trigger_kind": run.trigger_kind,
            "scheduled_for": when(run.scheduled_for), "started_at": when(run.started_at),
            "finished_at": when(run.finished_at), "duration_seconds": run.duration_seconds, "error": run.error,
            "total_tokens": run.total_tokens or 0, "total_cost_usd": run.total_cost_usd or 0.0}


def run_output(db: Session, schedule_run_id: int) -> list[dict[str, Any]]:
    """What each workflow the run started produced: the output of its last node that succeeded, with a link."""
    flows = db.execute(select(WorkflowRun.id, WorkflowRun.workflow_id, WorkflowRun.status)
                       .where(WorkflowRun.schedule_run_id == schedule_run_id).order_by(WorkflowRun.id)).all()
    parts = []
    for flow in flows:
        last = db.execute(select(NodeRun.node_key, NodeRun.output)
                          .where(NodeRun.workflow_run_id == flow.id, NodeRun.status == "succeeded")
                          .order_by(NodeRun.finished_at.desc(), NodeRun.id.desc()).limit(1)).first()
        parts.append({"workflow_id": flow.workflow_id, "workflow_run_id": flow.id, "status": flow.status,
                      "node": last.node_key if last else None, "output": bounded(last.output if last else None, OUTPUT_MAX_CHARS),
                      "url": page_url(f"/ui/runs/{flow.id}")})
    return parts


def page_url(path: str) -> str:
    """A dashboard page's address, as people reach it (RQFLOW_PUBLIC_URL)."""
    return get_settings().public_url.rstrip("/") + path
