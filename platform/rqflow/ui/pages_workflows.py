"""Workflows: the list, one workflow's graph and runs, and one run's node runs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Request, Response

from rqflow.api.deps import SessionDep
from rqflow.models import utcnow
from rqflow.retry_policy import RetryPolicy
from rqflow.schemas.common import MAX_DB_INT
from rqflow.services import workflows as service
from rqflow.ui.graph_layout import draw_workflow
from rqflow.ui.rendering import render
from rqflow.ui.routing import ui_router
from rqflow.ui.session import UiUser

router = ui_router()

WORKFLOWS_SHOWN = 200
RUNS_SHOWN = 50
WorkflowId = Annotated[int, Path(ge=1, le=MAX_DB_INT)]
RunId = Annotated[int, Path(ge=1, le=MAX_DB_INT)]


@router.get("/workflows")
def workflows_page(request: Request, db: SessionDep, user: UiUser) -> Response:
    """The user's workflows."""
    items, total = service.list_workflows(db=db, owner=user, limit=WORKFLOWS_SHOWN, offset=0)
    return render(request, "workflows.html", {"user": user, "section": "workflows", "workflows": items,
                                              "total": total})


@router.get("/workflows/{workflow_id}")
def workflow_page(request: Request, workflow_id: WorkflowId, db: SessionDep, user: UiUser) -> Response:
    """The workflow's graph, drawn with the palette's colours, its nodes with their time limits and retry
    policies, and its latest runs."""
    workflow = service.get_workflow(db=db, owner=user, workflow_id=workflow_id)
    runs, total = service.list_workflow_runs(db=db, owner=user, workflow_id=workflow_id, limit=RUNS_SHOWN, offset=0)
    return render(request, "workflow.html", {
        "user": user, "section": "workflows", "workflow": workflow, "drawing": draw_workflow(workflow),
        "retries": {node.key: retry_text(node.retry, workflow.retry) for node in workflow.nodes},
        "runs": runs, "run_total": total, "now": utcnow(),
    })


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: RunId, db: SessionDep, user: UiUser) -> Response:
    """One workflow run: its event, and every node run's input, output and error, on the graph too."""
    run = service.get_workflow_run(db=db, owner=user, run_id=run_id)
    workflow = service.get_workflow(db=db, owner=user, workflow_id=run.workflow_id)
    statuses = {node_run.node_key: node_run.status for node_run in run.node_runs}
    return render(request, "workflow_run.html", {
        "user": user, "section": "workflows", "run": run, "workflow": workflow,
        "drawing": draw_workflow(workflow, statuses), "now": utcnow(),
    })


def retry_text(own: dict[str, Any] | None, default: dict[str, Any] | None) -> str:
    """How a node is retried: its own policy, else its workflow's (said so), else none."""
    policy = RetryPolicy.from_stored(own)
    if policy is not None:
        return policy.describe()
    fallback = RetryPolicy.from_stored(default)
    return f"{fallback.describe()} (the workflow's)" if fallback is not None else "no retry"
