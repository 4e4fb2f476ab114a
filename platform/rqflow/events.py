"""The ``"schedule"`` event: what a firing tells the workflows it starts, built once per run.

The trigger resolver matches on its fields; the workflow sees it as a plain dict
(``event`` in templates, the first argument of a ``python_call``), whose keys are
part of rqflow's public surface and do not change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ScheduleTarget:
    """What decides which workflows a schedule starts: its id, its name, and the workflow (node) it targets."""

    schedule_id: str
    schedule_name: str
    workflow_id: int
    trigger_node_id: int | None = None


@dataclass(frozen=True)
class ScheduleEvent:
    """One run of a schedule, as the workflows it starts see it."""

    target: ScheduleTarget
    scheduled_for: datetime
    fired_at: datetime
    trigger_kind: str
    run_id: int
    payload: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The event as workflows read it (``event.scheduled_job_id``, ``event.payload.x``, ...)."""
        return {
            "scheduled_job_id": self.target.schedule_id,
            "schedule_name": self.target.schedule_name,
            "workflow_id": self.target.workflow_id,
            "trigger_node_id": self.target.trigger_node_id,
            "scheduled_for": self.scheduled_for.isoformat(),
            "fired_at": self.fired_at.isoformat(),
            "trigger_kind": self.trigger_kind,
            "run_id": self.run_id,
            "payload": dict(self.payload),
        }
