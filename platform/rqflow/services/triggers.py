"""Which trigger nodes a schedule's firing starts.

Only the schedule owner's workflows are candidates. A ``trigger_schedule`` node
listens to one schedule by id, to every schedule whose name matches its glob, or
(with neither) to the schedules that target its workflow (and node, if they name one).
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from sqlalchemy import select
from sqlalchemy.orm import Session

from rqflow.events import ScheduleTarget
from rqflow.models import UserProfile, Workflow, WorkflowNode

TRIGGER_TYPE = "trigger_schedule"


class TriggerResolver:
    """Finds the trigger nodes of a user's workflows that a schedule starts."""

    def __init__(self, db: Session) -> None:
        self.db = db

    def started_by(self, target: ScheduleTarget, owner: UserProfile) -> list[WorkflowNode]:
        """The matching trigger nodes, in a stable order (by workflow, then node id)."""
        return [node for node in self._candidates(owner) if matches(node, target)]

    def _candidates(self, owner: UserProfile) -> list[WorkflowNode]:
        query = (
            select(WorkflowNode)
            .join(Workflow, Workflow.id == WorkflowNode.workflow_id)
            .where(WorkflowNode.component_type == TRIGGER_TYPE, Workflow.user_profile_id == owner.id)
            .order_by(WorkflowNode.workflow_id, WorkflowNode.id)
        )
        return list(self.db.scalars(query))


def matches(node: WorkflowNode, target: ScheduleTarget) -> bool:
    """By ``scheduled_job_id``, else by a glob on the name, else by the schedule's own target."""
    config = node.config or {}
    if config.get("scheduled_job_id"):
        return bool(config["scheduled_job_id"] == target.schedule_id)
    if config.get("name_pattern"):
        return fnmatchcase(target.schedule_name, config["name_pattern"])
    if node.workflow_id != target.workflow_id:
        return False
    return target.trigger_node_id is None or target.trigger_node_id == node.id
