"""A run that waits for a retry: its ledger row while it waits, taking it up again, and settling it.

A node that fails and may be tried again leaves its workflow run ``retrying``
(:mod:`rqflow.engine.runner`); the ledger row then waits too (``retrying``, with the
earliest ``next_attempt_at`` of its workflow runs) and keeps the schedule's slot. A
timer per waiting workflow run brings it back (:mod:`rqflow.worker.continuation`),
and the take-up is a compare-and-set on the workflow run's status and attempt number,
under the schedule's row lock, so a repeated or late delivery does nothing. The
ledger row ends, through :func:`rqflow.services.occurrences.end_run` like every run,
once none of its workflow runs is running or waiting.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rqflow.models import Schedule, ScheduleRun, WorkflowRun
from rqflow.models.schedule_run import TIMEOUT_REASON
from rqflow.services.occurrences import end_run
from rqflow.services.overlap import lock_schedule
from rqflow.services.run_deadlines import PAST_DEADLINE_ERROR
from rqflow.signals import SchedulerSignals

log = logging.getLogger(__name__)

SCHEDULE_GONE_ERROR = "not tried again: its schedule was deleted while the run waited"


@dataclass(frozen=True)
class TakenUp:
    """A workflow run a worker has taken up again after a retry's wait, with what it needs to go on."""

    workflow_run_id: int
    workflow_id: int
    trigger_node_id: int | None
    event: dict[str, Any]
    node_key: str
    attempt: int
    outputs: dict[str, Any]
    schedule_run_id: int
    schedule_id: str
    owner_id: int
    deadline_at: datetime | None
    spent_before: tuple[int, float]  # this workflow run's model calls before the wait: tokens, US dollars
    run_spent: tuple[int, float]  # the whole ledger row's so far (its budget keeps counting from there)
    max_budget_usd: float | None
    max_tokens: int | None


def wait_for_retry(db: Session, *, schedule_id: str, schedule_run_id: int, now: datetime,
                   signals: SchedulerSignals) -> None:
    """The run's workflows are done for now but some wait for a retry: settle the ledger row (not committed)."""
    settle(db, schedule_id=schedule_id, schedule_run_id=schedule_run_id, reason="", now=now, signals=signals)


def take_up(db: Session, *, workflow_run_id: int, attempt: int, rq_job_id: str | None, now: datetime,
            signals: SchedulerSignals) -> TakenUp | None:
    """Move a ``retrying`` workflow run (and its ledger row) back to ``running`` for ``attempt``, once.

    None when there is nothing to do: the run is gone, already taken up, ended meanwhile, or its
    deadline has passed (then the run ends here as ``timeout``).
    """
    found = db.execute(select(WorkflowRun.schedule_run_id, ScheduleRun.scheduled_job_id)
                       .outerjoin(ScheduleRun, ScheduleRun.id == WorkflowRun.schedule_run_id)
                       .where(WorkflowRun.id == workflow_run_id)).first()
    db.rollback()
    if found is None:
        return None
    schedule = lock_schedule(db, found.scheduled_job_id) if found.scheduled_job_id else None
    flow = db.get(WorkflowRun, workflow_run_id, populate_existing=True)
    if flow is None or flow.status != "retrying" or flow.resume_attempt != attempt:
        db.rollback()
        return None
    ledger = db.get(ScheduleRun, found.schedule_run_id, populate_existing=True) if found.schedule_run_id else None
    if schedule is None or ledger is None or ledger.status not in ("retrying", "running"):
        _give_up(flow, SCHEDULE_GONE_ERROR, now)
        db.commit()
        return None
    if ledger.deadline_at is not None and now >= ledger.deadline_at:
        end_run(db, schedule, ledger, error=PAST_DEADLINE_ERROR, reason=TIMEOUT_REASON, now=now, signals=signals)
        db.commit()
        return None
    taken = _taken_up(flow, schedule, ledger, _spent(db, ledger.id))
    flow.status = "running"
    ledger.status, ledger.resumed_at, ledger.rq_job_id, ledger.next_attempt_at = "running", now, rq_job_id, None
    db.commit()
    return taken


def settle(db: Session, *, schedule_id: str, schedule_run_id: int, reason: str, now: datetime,
           signals: SchedulerSignals) -> None:
    """After one of its workflow runs ended or began to wait: end the ledger row if none is left running or
    waiting, else leave it waiting for the earliest next attempt (not committed). ``reason`` is the ended
    run's, for a failed row (``timeout``, ``budget_exceeded``); the row carries its workflow runs' spending."""
    schedule = lock_schedule(db, schedule_id)
    ledger = db.get(ScheduleRun, schedule_run_id, populate_existing=True)
    if schedule is None or ledger is None or ledger.status not in ("running", "retrying"):
        return  # ended meanwhile (its deadline, a lost-run sweep)
    flows = list(db.execute(select(WorkflowRun.id, WorkflowRun.status, WorkflowRun.error, WorkflowRun.next_attempt_at)
                            .where(WorkflowRun.schedule_run_id == schedule_run_id).order_by(WorkflowRun.id)))
    ledger.total_tokens, ledger.total_cost_usd = _spent(db, schedule_run_id)
    if any(flow.status == "running" for flow in flows):
        return  # another worker is on one of them; it settles the row when it is done
    waiting = [flow.next_attempt_at for flow in flows if flow.status == "retrying" and flow.next_attempt_at]
    if waiting:
        ledger.status, ledger.next_attempt_at = "retrying", min(waiting)
        return
    error = "; ".join(f"workflow run {flow.id}: {flow.error}" for flow in flows if flow.status == "failed")
    end_run(db, schedule, ledger, error=error, reason=reason if error else "", now=now, signals=signals)


def _spent(db: Session, schedule_run_id: int) -> tuple[int, float]:
    """What the ledger row's workflow runs have spent so far: tokens, US dollars."""
    tokens, cost = db.execute(select(func.coalesce(func.sum(WorkflowRun.total_tokens), 0),
                                     func.coalesce(func.sum(WorkflowRun.total_cost_usd), 0.0))
                              .where(WorkflowRun.schedule_run_id == schedule_run_id)).one()
    return int(tokens), round(float(cost), 10)


def _taken_up(flow: WorkflowRun, schedule: Schedule, ledger: ScheduleRun, run_spent: tuple[int, float]) -> TakenUp:
    assert flow.resume_node_key is not None and flow.resume_attempt is not None, "a retrying run knows its node"
    return TakenUp(workflow_run_id=flow.id, workflow_id=flow.workflow_id, trigger_node_id=flow.trigger_node_id,
                   event=dict(flow.event or {}), node_key=flow.resume_node_key, attempt=flow.resume_attempt,
                   outputs=dict(flow.resume_outputs or {}), schedule_run_id=ledger.id, schedule_id=schedule.id,
                   owner_id=schedule.user_profile_id, deadline_at=ledger.deadline_at,
                   spent_before=(flow.total_tokens, flow.total_cost_usd), run_spent=run_spent,
                   max_budget_usd=schedule.max_budget_per_run_usd, max_tokens=schedule.max_tokens_per_run)


def _give_up(flow: WorkflowRun, error: str, now: datetime) -> None:
    flow.status, flow.error, flow.finished_at = "failed", f"{flow.error} ({error})", now
    flow.resume_outputs = flow.next_attempt_at = None
