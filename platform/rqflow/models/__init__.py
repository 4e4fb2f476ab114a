"""SQLAlchemy tables, one module per concept; importing this package registers them all."""

from rqflow.models.base import Base, utcnow
from rqflow.models.ledger_total import LedgerTotal
from rqflow.models.notification import NotificationAttempt, NotificationDelivery
from rqflow.models.schedule import Schedule
from rqflow.models.schedule_change import ScheduleChange
from rqflow.models.schedule_run import ScheduleRun
from rqflow.models.user import ApiToken, UiSession, UserProfile
from rqflow.models.user_spend import UserDailySpend
from rqflow.models.workflow import Workflow, WorkflowEdge, WorkflowNode
from rqflow.models.workflow_run import NodeRun, WorkflowRun

__all__ = [
    "ApiToken",
    "Base",
    "LedgerTotal",
    "NodeRun",
    "NotificationAttempt",
    "NotificationDelivery",
    "Schedule",
    "ScheduleChange",
    "ScheduleRun",
    "UiSession",
    "UserDailySpend",
    "UserProfile",
    "Workflow",
    "WorkflowEdge",
    "WorkflowNode",
    "WorkflowRun",
    "utcnow",
]
