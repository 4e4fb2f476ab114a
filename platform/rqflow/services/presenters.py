"""Stored rows to response models, where a response needs more than the row's columns."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from rqflow.models import Schedule, Workflow, WorkflowRun
from rqflow.schemas.schedule import SchedulePublic
from rqflow.schemas.workflow import EdgePublic, NodePublic, NodeRunPublic, WorkflowPublic, WorkflowRunPublic
from rqflow.services.schedule_rules import spec_of
from rqflow.services.schedules import upcoming
from rqflow.services.workflows import edge_keys
from rqflow.timing import describe_spec

NEXT_RUNS_SHOWN = 5


def schedule_public(schedule: Schedule) -> SchedulePublic:
    """The schedule with its cadence in words and its next runs in its own timezone."""
    zone = ZoneInfo(schedule.timezone)
    next_runs = [when.astimezone(zone) for when in upcoming(schedule, count=NEXT_RUNS_SHOWN)]
    base = {column.key: getattr(schedule, column.key) for column in Schedule.__table__.columns}
    return SchedulePublic.model_validate({**base, "cadence": describe_spec(spec_of(schedule)), "next_runs": next_runs})


def workflow_public(workflow: Workflow) -> WorkflowPublic:
    """The workflow with its edges expressed by node keys."""
    return WorkflowPublic(
        id=workflow.id,
        name=workflow.name,
        description=workflow.description,
        may_schedule_itself=workflow.may_schedule_itself,
        retry=workflow.retry,
        nodes=[NodePublic.model_validate(node) for node in workflow.nodes],
        edges=[EdgePublic.model_validate({"source": source, "target": target, "kind": kind})
               for source, target, kind in edge_keys(workflow)],
        created_at=workflow.created_at,
        updated_at=workflow.updated_at,
    )


def workflow_run_public(run: WorkflowRun, *, with_node_runs: bool) -> WorkflowRunPublic:
    """A run; its node runs only when asked, so lists don't load every node run."""
    base = {column.key: getattr(run, column.key) for column in WorkflowRun.__table__.columns}
    nodes = [NodeRunPublic.model_validate(n) for n in run.node_runs] if with_node_runs else []
    return WorkflowRunPublic.model_validate({**base, "node_runs": nodes})
