"""A schedule's firing in, workflow runs out: the event, the trigger resolver and the dispatch."""

from rqflow.events import ScheduleEvent, ScheduleTarget
from rqflow.triggers.dispatch import dispatch_schedule_event
from rqflow.triggers.resolver import TriggerResolver

__all__ = ["ScheduleEvent", "ScheduleTarget", "TriggerResolver", "dispatch_schedule_event"]
