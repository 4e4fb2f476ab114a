"""Workflows on the wire: a list of nodes keyed by name and edges between the keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from rqflow.schemas.common import LongText, Name, StrictInput
from rqflow.settings import MAX_NODES_CEILING

# The node count is capped by RQFLOW_MAX_NODES_PER_WORKFLOW when the graph is saved; the schema only
# holds the ceiling no setting can raise, and room for a few edges a node.
MAX_EDGES = 5 * MAX_NODES_CEILING

NodeKey = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class NodeIn(StrictInput):
    """A node: its key (unique in the workflow, used in edges and templates), type and config."""

    key: NodeKey
    component_type: str = Field(min_length=1, max_length=100)
    config: dict[str, Any] = Field(default_factory=dict)
    timeout_seconds: float | None = Field(default=None, gt=0, le=86400, description=(
        "The longest the node may run; a node past it fails the run. Default: only the job timeout."))


EdgeKind = Literal["flow", "tool"]


class EdgeIn(StrictInput):
    """``target`` runs after ``source``; a ``tool`` edge gives an agent node (source) a tool node (target)."""

    source: NodeKey
    target: NodeKey
    kind: EdgeKind = "flow"


class WorkflowCreate(StrictInput):
    """Body of ``POST /api/v1/workflows``."""

    name: Name
    description: LongText = ""
    may_schedule_itself: bool = Field(default=False, description=(
        "Let a schedule_create call made while this workflow runs create a schedule that starts this same "
        "workflow (each run could then add one more schedule)."))
    nodes: list[NodeIn] = Field(min_length=1, max_length=MAX_NODES_CEILING)
    edges: list[EdgeIn] = Field(default_factory=list, max_length=MAX_EDGES)


class WorkflowUpdate(StrictInput):
    """Body of ``PATCH /api/v1/workflows/{id}``; ``nodes`` and ``edges`` replace the graph together."""

    name: Name | None = None
    description: LongText | None = None
    may_schedule_itself: bool | None = None
    nodes: list[NodeIn] | None = Field(default=None, min_length=1, max_length=MAX_NODES_CEILING)
    edges: list[EdgeIn] | None = Field(default=None, max_length=MAX_EDGES)


class NodePublic(BaseModel):
    """A stored node, with the id schedules use as ``trigger_node_id``."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    component_type: str
    config: dict[str, Any]
    timeout_seconds: float | None


class EdgePublic(BaseModel):
    """A stored edge, by node keys."""

    source: str
    target: str
    kind: EdgeKind


class WorkflowPublic(BaseModel):
    """A workflow with its graph."""

    id: int
    name: str
    description: str
    may_schedule_itself: bool
    nodes: list[NodePublic]
    edges: list[EdgePublic]
    created_at: datetime
    updated_at: datetime


class NodeRunPublic(BaseModel):
    """One node's execution."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    node_id: int | None
    node_key: str
    component_type: str
    status: str
    input: dict[str, Any] | None
    output: Any | None
    error: str
    started_at: datetime
    finished_at: datetime | None


class WorkflowRunPublic(BaseModel):
    """One workflow run; ``node_runs`` is filled on the single-run route."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    workflow_id: int
    schedule_run_id: int | None
    trigger_node_id: int | None
    event_type: str
    event: dict[str, Any]
    status: str
    error: str
    started_at: datetime
    finished_at: datetime | None
    node_runs: list[NodeRunPublic] = Field(default_factory=list)
