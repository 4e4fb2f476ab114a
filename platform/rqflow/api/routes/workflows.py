"""``/api/v1/workflows`` and ``/api/v1/workflow-runs``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response, status

from rqflow.api.deps import CurrentUser, SessionDep
from rqflow.api.pagination import Limit, Offset
from rqflow.api.routing import SlashTolerantRouter
from rqflow.schemas.common import MAX_DB_INT, Page
from rqflow.schemas.workflow import WorkflowCreate, WorkflowPublic, WorkflowRunPublic, WorkflowUpdate
from rqflow.services import workflows as service
from rqflow.services.presenters import workflow_public, workflow_run_public

router = SlashTolerantRouter(prefix="/api/v1/workflows", tags=["workflows"])
runs_router = SlashTolerantRouter(prefix="/api/v1/workflow-runs", tags=["workflows"])

# Ids are PostgreSQL INTEGERs; a larger number would be an error on SQLite and a 404 on PostgreSQL.
WorkflowId = Annotated[int, Path(ge=1, le=MAX_DB_INT)]
RunId = Annotated[int, Path(ge=1, le=MAX_DB_INT)]


@router.get("", response_model=Page[WorkflowPublic])
def list_workflows(db: SessionDep, user: CurrentUser, limit: Limit = 50, offset: Offset = 0) -> Page[WorkflowPublic]:
    """Your workflows, oldest first."""
    items, total = service.list_workflows(db=db, owner=user, limit=limit, offset=offset)
    return Page(items=[workflow_public(w) for w in items], total=total, limit=limit, offset=offset)


@router.post("", response_model=WorkflowPublic, status_code=status.HTTP_201_CREATED)
def create_workflow(data: WorkflowCreate, db: SessionDep, user: CurrentUser) -> WorkflowPublic:
    """Create a workflow from nodes and edges."""
    return workflow_public(service.create_workflow(db=db, owner=user, data=data))


@router.get("/{workflow_id}", response_model=WorkflowPublic)
def get_workflow(workflow_id: WorkflowId, db: SessionDep, user: CurrentUser) -> WorkflowPublic:
    """One workflow with its graph."""
    return workflow_public(service.get_workflow(db=db, owner=user, workflow_id=workflow_id))


@router.patch("/{workflow_id}", response_model=WorkflowPublic)
def update_workflow(
    workflow_id: WorkflowId, data: WorkflowUpdate, db: SessionDep, user: CurrentUser
) -> WorkflowPublic:
    """Rename, or replace the graph (nodes that keep their key keep their id)."""
    return workflow_public(service.update_workflow(db=db, owner=user, workflow_id=workflow_id, data=data))


@router.delete("/{workflow_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_workflow(workflow_id: WorkflowId, db: SessionDep, user: CurrentUser) -> Response:
    """Delete the workflow, its schedules and its runs."""
    service.delete_workflow(db=db, owner=user, workflow_id=workflow_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{workflow_id}/runs", response_model=Page[WorkflowRunPublic])
def list_workflow_runs(
    workflow_id: WorkflowId, db: SessionDep, user: CurrentUser, limit: Limit = 50, offset: Offset = 0
) -> Page[WorkflowRunPublic]:
    """The workflow's runs, newest first (without node runs; fetch one run for those)."""
    items, total = service.list_workflow_runs(db=db, owner=user, workflow_id=workflow_id, limit=limit, offset=offset)
    public = [workflow_run_public(run, with_node_runs=False) for run in items]
    return Page(items=public, total=total, limit=limit, offset=offset)


@runs_router.get("/{run_id}", response_model=WorkflowRunPublic)
def get_workflow_run(run_id: RunId, db: SessionDep, user: CurrentUser) -> WorkflowRunPublic:
    """One workflow run with every node run."""
    return workflow_run_public(service.get_workflow_run(db=db, owner=user, run_id=run_id), with_node_runs=True)
