"""The five scheduler tools: ``schedule_create``, ``schedule_pause``, ``schedule_resume``,
``schedule_stop`` and ``schedule_list``.

Each is a thin shell over the same service the REST API calls, acting as the
caller (a workflow's owner, an API user, an MCP client's token), and answers
with the schedule as the REST API shows it, so an agent can confirm what it
asked for from the cadence in words and the next runs.
"""

from __future__ import annotations

from typing import Any

from rqflow.components.tool import ToolCaller, ToolComponent
from rqflow.errors import InvalidInput
from rqflow.events import ScheduleTarget
from rqflow.models import Schedule, Workflow
from rqflow.node_types.registry import register
from rqflow.schemas.tools import (
    ScheduleCreateInput,
    ScheduleListInput,
    SchedulePauseInput,
    ScheduleResumeInput,
    ScheduleStopInput,
)
from rqflow.services import schedules as service
from rqflow.services.presenters import schedule_public
from rqflow.services.triggers import TriggerResolver

DEFAULT_LIST_LIMIT = 50


def _shown(schedule: Schedule) -> dict[str, Any]:
    return schedule_public(schedule).model_dump(mode="json")


@register("schedule_create")
class ScheduleCreateTool(ToolComponent):
    """Create a schedule for one of the caller's workflows."""

    input_model = ScheduleCreateInput
    label = "Create schedule"
    icon = "calendar-plus"

    def call(self, data: ScheduleCreateInput, caller: ToolCaller) -> Any:
        """Store the schedule, active; answer it with its cadence in words and next runs.

        Inside a workflow's run, a schedule that would start that same workflow is refused (each run
        would add one more schedule) unless the workflow says ``may_schedule_itself``.
        """
        schedule = service.create_schedule(db=caller.db, owner=caller.owner, data=data.to_create(), now=caller.clock(),
                                      signals=caller.signals)
        if caller.workflow_id is not None:
            _refuse_self_schedule(caller, schedule)
        return _shown(schedule)


def _refuse_self_schedule(caller: ToolCaller, schedule: Schedule) -> None:
    """Raise if ``schedule``'s firing would start the calling workflow, which does not allow it.

    The trigger resolver decides, exactly as when the schedule fires: by the schedule's target,
    its id, or a trigger node's name pattern matching its name.
    """
    workflow = caller.db.get(Workflow, caller.workflow_id)
    if workflow is None or workflow.may_schedule_itself:
        return
    target = ScheduleTarget(schedule.id, schedule.name, schedule.workflow_id, schedule.trigger_node_id)
    started = TriggerResolver(caller.db).started_by(target, caller.owner.id)
    if any(node.workflow_id == workflow.id for node in started):
        field = "workflow_id" if schedule.workflow_id == workflow.id else "name"
        raise InvalidInput(
            f"this schedule would start workflow {workflow.id}, the one creating it, so each of its runs could "
            "add another schedule; target another workflow, or set may_schedule_itself on the workflow",
            field=field,
        )


@register("schedule_pause")
class SchedulePauseTool(ToolComponent):
    """Pause a schedule."""

    input_model = SchedulePauseInput
    idempotent = True
    label = "Pause schedule"
    icon = "pause"

    def call(self, data: SchedulePauseInput, caller: ToolCaller) -> Any:
        """Pause it (again, harmlessly, if it already is), with the reason and until given."""
        schedule = service.pause_schedule(db=caller.db, owner=caller.owner, schedule_id=data.schedule_id,
                                     now=caller.clock(), signals=caller.signals, reason=data.reason or "",
                                     until=data.until)
        return _shown(schedule)


@register("schedule_resume")
class ScheduleResumeTool(ToolComponent):
    """Resume a paused schedule."""

    input_model = ScheduleResumeInput
    idempotent = True
    label = "Resume schedule"
    icon = "play"

    def call(self, data: ScheduleResumeInput, caller: ToolCaller) -> Any:
        """Resume it (a no-op if it is active); the catch-up policy decides about the pause's occurrences."""
        schedule = service.resume_schedule(db=caller.db, owner=caller.owner, schedule_id=data.schedule_id,
                                      now=caller.clock(), signals=caller.signals)
        return _shown(schedule)


@register("schedule_stop")
class ScheduleStopTool(ToolComponent):
    """Stop a schedule for good, deleting it."""

    input_model = ScheduleStopInput
    destructive = True
    label = "Stop schedule"
    icon = "square"

    def call(self, data: ScheduleStopInput, caller: ToolCaller) -> Any:
        """Delete the schedule and its runs (its audit trail stays); answer what was deleted."""
        schedule = service.get_schedule(db=caller.db, owner=caller.owner, schedule_id=data.schedule_id)
        name = schedule.name
        service.delete_schedule(db=caller.db, owner=caller.owner, schedule_id=data.schedule_id, now=caller.clock(),
                                signals=caller.signals)
        return {"deleted": True, "id": data.schedule_id, "name": name}


@register("schedule_list")
class ScheduleListTool(ToolComponent):
    """List the caller's schedules."""

    input_model = ScheduleListInput
    read_only = True
    label = "List schedules"
    icon = "list"

    def call(self, data: ScheduleListInput, caller: ToolCaller) -> Any:
        """One page of schedules, oldest first, with the total."""
        limit = data.limit or DEFAULT_LIST_LIMIT
        items, total = service.list_schedules(db=caller.db, owner=caller.owner, status=data.status, name=data.name,
                                              limit=limit, offset=data.offset or 0)
        return {"items": [_shown(schedule) for schedule in items], "total": total, "limit": limit,
                "offset": data.offset or 0}
