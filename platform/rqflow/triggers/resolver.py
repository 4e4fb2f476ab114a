"""Which trigger nodes listen to an event.

Event types map to trigger component types (``"schedule"`` -> ``trigger_schedule``);
each trigger type has a ``_match_<event type>`` method that decides from the
node's config and the event's data.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rqflow.models import UserProfile, Workflow, WorkflowNode

EVENT_TRIGGER_TYPES = {"schedule": "trigger_schedule"}


class TriggerResolver:
    """Finds the trigger nodes of a user's workflows that match an event."""

    def __init__(self, db: Session) -> None:
        self.db = db

    def resolve(self, event_type: str, event_data: dict[str, Any], user_profile: UserProfile) -> list[WorkflowNode]:
        """The matching trigger nodes, in a stable order (by workflow, then node id)."""
        component_type = EVENT_TRIGGER_TYPES.get(event_type)
        if component_type is None:
            return []
        matcher = getattr(self, f"_match_{event_type}")
        return [node for node in self._candidates(component_type, user_profile) if matcher(node, event_data)]

    def _candidates(self, component_type: str, user_profile: UserProfile) -> list[WorkflowNode]:
        query = (
            select(WorkflowNode)
            .join(Workflow, Workflow.id == WorkflowNode.workflow_id)
            .where(WorkflowNode.component_type == component_type, Workflow.user_profile_id == user_profile.id)
            .order_by(WorkflowNode.workflow_id, WorkflowNode.id)
        )
        return list(self.db.scalars(query))

    def _match_schedule(self, node: WorkflowNode, event_data: dict[str, Any]) -> bool:
        """By ``scheduled_job_id``, else by a glob on the name, else by the schedule's own target."""
        config = node.config or {}
        if config.get("scheduled_job_id"):
            return bool(config["scheduled_job_id"] == event_data.get("scheduled_job_id"))
        if config.get("name_pattern"):
            return fnmatchcase(event_data.get("schedule_name", ""), config["name_pattern"])
        if node.workflow_id != event_data.get("workflow_id"):
            return False
        wanted = event_data.get("trigger_node_id")
        return wanted is None or wanted == node.id
