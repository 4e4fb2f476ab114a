"""``dispatch_schedule_event``: start every workflow whose trigger a schedule's firing matches."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from rqflow.engine.records import FinishedRun
from rqflow.engine.runner import run_workflow
from rqflow.events import ScheduleEvent
from rqflow.services.triggers import TriggerResolver
from rqflow.services.workflow_graphs import load_graph
from rqflow.signals import SchedulerSignals
from rqflow.spend import RunBudget

log = logging.getLogger(__name__)


def dispatch_schedule_event(
    event: ScheduleEvent, owner_id: int, db: Session, *, signals: SchedulerSignals | None = None,
    deadline_at: datetime | None = None, budget: RunBudget | None = None,
) -> list[FinishedRun]:
    """Run each matching workflow once per matching trigger node, one after the other.

    Each run but the last is committed as it ends, so a later one that fails outright
    cannot take an earlier one's record with it; the last rides on the caller's commit.
    """
    runs: list[FinishedRun] = []
    seen = event.as_dict()
    for node in TriggerResolver(db).started_by(event.target, owner_id):
        graph = load_graph(db, node.workflow_id)
        if graph is None:  # deleted since the resolver looked
            continue
        if runs:
            db.commit()
        log.info("schedule %s starts workflow %s at node %s", event.target.schedule_id, graph.workflow_id, node.key)
        runs.append(run_workflow(db=db, graph=graph, trigger=graph.node(node.key), event_type="schedule", event=seen,
                                 owner_id=owner_id, schedule_run_id=event.run_id, signals=signals,
                                 deadline_at=deadline_at, budget=budget))
    return runs
