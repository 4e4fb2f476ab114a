"""Which trigger nodes a schedule's firing starts.

Only the schedule owner's workflows are candidates. A ``trigger_schedule`` node
listens to one schedule by id, to every schedule whose name matches its glob, or
(with neither) to the schedules that target its workflow (and node, if they name one).
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from rqflow.events import ScheduleTarget
from rqflow.models import Workflow, WorkflowNode

TRIGGER_TYPE = "trigger_schedule"

NODES = cast(Table, WorkflowNode.__table__)
WORKFLOWS = cast(Table, Workflow.__table__)
# Built once (it runs on every occurrence): each use only binds the owner.
CANDIDATES = (
    select(NODES.c.id, NODES.c.workflow_id, NODES.c.key, NODES.c.config)
    .join_from(NODES, WORKFLOWS, WORKFLOWS.c.id == NODES.c.workflow_id)
    .where(NODES.c.component_type == TRIGGER_TYPE, WORKFLOWS.c.user_profile_id == bindparam("owner_id"))
    .order_by(NODES.c.workflow_id, NODES.c.id)
)


@dataclass(frozen=True)
class TriggerNode:
    """A ``trigger_schedule`` node of one of the owner's workflows."""

    id: int
    workflow_id: int
    key: str
    config: dict[str, Any]


class TriggerResolver:
    """Finds the trigger nodes of a user's workflows that a schedule starts."""

    def __init__(self, db: Session) -> None:
        self.db = db

    def started_by(self, target: ScheduleTarget, owner_id: int) -> list[TriggerNode]:
        """The matching trigger nodes, in a stable order (by workflow, then node id)."""
        return [node for node in self._candidates(owner_id) if matches(node, target)]

    def _candidates(self, owner_id: int) -> list[TriggerNode]:
        rows = self.db.connection().execute(CANDIDATES, {"owner_id": owner_id})
        return [TriggerNode(row.id, row.workflow_id, row.key, dict(row.config or {})) for row in rows]


def matches(node: TriggerNode, target: ScheduleTarget) -> bool:
    """By ``scheduled_job_id``, else by a glob on the name, else by the schedule's own target."""
    config = node.config
    if config.get("scheduled_job_id"):
        return bool(config["scheduled_job_id"] == target.schedule_id)
    if config.get("name_pattern"):
        return fnmatchcase(target.schedule_name, config["name_pattern"])
    if node.workflow_id != target.workflow_id:
        return False
    return target.trigger_node_id is None or target.trigger_node_id == node.id
