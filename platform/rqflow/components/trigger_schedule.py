"""``trigger_schedule``: starts its workflow when a schedule fires."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from rqflow.node_types.base import Component, NodeConfig, NodeContext
from rqflow.node_types.registry import register


class TriggerScheduleConfig(NodeConfig):
    """Listen to one schedule by id, or to every schedule whose name matches a glob.

    With neither, the node listens to the schedules that target its workflow.
    """

    scheduled_job_id: str | None = Field(default=None, max_length=36)
    name_pattern: str | None = Field(default=None, max_length=255, examples=["nightly-*"])


@register("trigger_schedule")
class TriggerSchedule(Component):
    """The entry point of a scheduled workflow; its output is the schedule event."""

    config_model = TriggerScheduleConfig
    is_trigger = True
    category = "Triggers"
    label = "Schedule trigger"
    icon = "clock"
    color = "#f59e0b"

    def run(self, config: Any, context: NodeContext) -> Any:
        """Pass the event on, so later nodes can read ``nodes.<key>.output``."""
        return context.event
