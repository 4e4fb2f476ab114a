"""A run that waited for a retry, taken up again: the failed node's next attempt and what follows it.

The timer armed when the run began to wait (:func:`rqflow.worker.occurrence.arm_retries`)
brings it here through :func:`rqflow.jobs.tasks.execute_continuation`. The take-up
(:func:`rqflow.services.continuations.take_up`) is a compare-and-set on the workflow run's
status and attempt number, so a timer delivered twice, or re-armed by the scheduler after
Redis lost it, runs the attempt once. The run goes on with the outputs it kept, the
ledger row is settled as every run is, and a run that fails again waits for its next
timer the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session

from rqflow.components import load_components
from rqflow.db import session_scope
from rqflow.engine import records
from rqflow.engine.records import FinishedRun, Resume
from rqflow.engine.runner import continue_workflow
from rqflow.models import utcnow
from rqflow.observability.context import log_context
from rqflow.services.continuations import TakenUp, settle, take_up
from rqflow.services.workflow_graphs import load_graph
from rqflow.signals import SchedulerSignals
from rqflow.spend import RunBudget
from rqflow.worker.occurrence import Delivery, Sessions, arm_retries

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ContinuationOutcome:
    """What became of one delivery of a continuation, as the RQ job's result shows it."""

    taken_up: bool
    status: str = ""

    def as_result(self) -> dict[str, object]:
        return {"taken_up": self.taken_up, "status": self.status} if self.taken_up else {"taken_up": False}


def go_on(workflow_run_id: int, attempt: int, *, delivery: Delivery, signals: SchedulerSignals,
          sessions: Sessions = session_scope) -> ContinuationOutcome:
    """Run attempt ``attempt`` of the node a workflow run waits on, and the rest of the run, at most once."""
    with sessions() as db:
        db.connection()  # wait for the database before reading the clock
        taken = take_up(db, workflow_run_id=workflow_run_id, attempt=attempt, rq_job_id=delivery.rq_job_id,
                        now=utcnow(), signals=signals)
    if taken is None:
        return ContinuationOutcome(taken_up=False)
    with log_context(schedule_id=taken.schedule_id, run_id=taken.schedule_run_id):
        finished = _run(taken, signals=signals, sessions=sessions)
    return ContinuationOutcome(taken_up=True, status=finished.status)


def _run(taken: TakenUp, *, signals: SchedulerSignals, sessions: Sessions) -> FinishedRun:
    load_components()
    with sessions() as db:
        finished = _continue(db, taken, signals)
        db.connection()  # wait for the database before reading the clock
        settle(db, schedule_id=taken.schedule_id, schedule_run_id=taken.schedule_run_id,
               reason=finished.ledger_reason, now=utcnow(), signals=signals)
        db.commit()
    if finished.status == "retrying":
        arm_retries([finished], signals)
    return finished


def _continue(db: Session, taken: TakenUp, signals: SchedulerSignals) -> FinishedRun:
    """The workflow run from its waiting node on; a workflow deleted meanwhile fails it."""
    graph = load_graph(db, taken.workflow_id)
    trigger = next((node for node in graph.nodes if node.id == taken.trigger_node_id), None) if graph else None
    if graph is None or trigger is None:
        return _fail(db, taken, "its workflow (or trigger node) was deleted while the run waited for a retry")
    try:
        budget = RunBudget(max_usd=taken.max_budget_usd, max_tokens=taken.max_tokens,
                           spent_tokens=taken.run_spent[0], spent_usd=taken.run_spent[1])
        return continue_workflow(db=db, graph=graph, trigger=trigger, run_id=taken.workflow_run_id, event=taken.event,
                                 owner_id=taken.owner_id, resume=Resume(taken.node_key, taken.attempt, taken.outputs),
                                 signals=signals, deadline_at=taken.deadline_at, budget=budget,
                                 spent_before=taken.spent_before)
    except Exception as exc:  # recorded on the run; the worker itself carries on
        db.rollback()
        log.exception("workflow run %s failed to go on", taken.workflow_run_id)
        return _fail(db, taken, f"{type(exc).__name__}: {exc}")


def _fail(db: Session, taken: TakenUp, error: str) -> FinishedRun:
    return records.end_run(db, taken.workflow_run_id, error=error, finished_at=utcnow(), resumed=True,
                           spent=taken.spent_before)
