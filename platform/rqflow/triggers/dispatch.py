"""``dispatch_event``: start every workflow whose trigger matches the event."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from rqflow.engine.runner import run_workflow
from rqflow.models import UserProfile, Workflow, WorkflowRun
from rqflow.services.signals import SchedulerSignals
from rqflow.triggers.resolver import TriggerResolver

log = logging.getLogger(__name__)


def dispatch_event(
    event_type: str,
    event_data: dict[str, Any],
    user_profile: UserProfile,
    db: Session,
    *,
    schedule_run_id: int | None = None,
    signals: SchedulerSignals | None = None,
) -> list[WorkflowRun]:
    """Run each matching workflow once per matching trigger node, one after the other."""
    runs = []
    for node in TriggerResolver(db).resolve(event_type, event_data, user_profile):
        workflow = db.get(Workflow, node.workflow_id)
        if workflow is None:  # deleted since the resolver looked
            continue
        log.info("event %s starts workflow %s at node %s", event_type, workflow.id, node.key)
        runs.append(
            run_workflow(
                db=db,
                workflow=workflow,
                trigger_node=node,
                event_type=event_type,
                event=event_data,
                user_profile=user_profile,
                schedule_run_id=schedule_run_id,
                signals=signals,
            )
        )
    return runs
