"""``dispatch_schedule_event``: start every workflow whose trigger a schedule's firing matches."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from rqflow.engine.runner import run_workflow
from rqflow.events import ScheduleEvent
from rqflow.models import UserProfile, Workflow, WorkflowRun
from rqflow.services.triggers import TriggerResolver
from rqflow.signals import SchedulerSignals

log = logging.getLogger(__name__)


def dispatch_schedule_event(
    event: ScheduleEvent, owner: UserProfile, db: Session, *, signals: SchedulerSignals | None = None,
) -> list[WorkflowRun]:
    """Run each matching workflow once per matching trigger node, one after the other."""
    runs = []
    seen = event.as_dict()
    for node in TriggerResolver(db).started_by(event.target, owner):
        workflow = db.get(Workflow, node.workflow_id)
        if workflow is None:  # deleted since the resolver looked
            continue
        log.info("schedule %s starts workflow %s at node %s", event.target.schedule_id, workflow.id, node.key)
        runs.append(run_workflow(db=db, workflow=workflow, trigger_node=node, event_type="schedule", event=seen,
                                 user_profile=owner, schedule_run_id=event.run_id, signals=signals))
    return runs
