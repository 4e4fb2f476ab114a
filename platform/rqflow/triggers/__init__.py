"""Events in, workflow runs out: the trigger resolver and ``dispatch_event``."""

from rqflow.triggers.dispatch import dispatch_event
from rqflow.triggers.resolver import TriggerResolver

__all__ = ["TriggerResolver", "dispatch_event"]
