"""Workflows on the wire: a list of nodes keyed by name and edges between the keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, computed_field, model_validator

from rqflow.retry_policy import RetryPolicy
from rqflow.schemas.common import LongText, Name, StrictInput, TriggerKind, trigger_kind_of
from rqflow.settings import MAX_NODES_CEILING, MAX_RETRY_ATTEMPTS_CEILING

# The longest wait between two tries any policy may ask for: a week (the run's deadline usually ends it sooner).
MAX_RETRY_INTERVAL_SECONDS = 7 * 86400

# The node count is capped by RQFLOW_MAX_NODES_PER_WORKFLOW when the graph is saved; the schema only
# holds the ceiling no setting can raise, and room for a few edges a node.
MAX_EDGES = 5 * MAX_NODES_CEILING

NodeKey = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class RetryIn(StrictInput):
    """How a failed node is tried again (Temporal's retry policy); the waits are timers, never a sleeping worker."""

    max_attempts: int = Field(ge=1, le=MAX_RETRY_ATTEMPTS_CEILING, description=(
        "Tries in all, the first included (1: no retry); at most RQFLOW_RETRY_MAX_ATTEMPTS."))
    initial_interval_seconds: float = Field(default=1.0, ge=0.1, le=MAX_RETRY_INTERVAL_SECONDS,
                                            description="The wait before the second try.")
    backoff_coefficient: float = Field(default=2.0, ge=1.0, le=100.0,
                                       description="Each next wait is this many times the one before.")
    max_interval_seconds: float | None = Field(default=None, ge=0.1, le=MAX_RETRY_INTERVAL_SECONDS, description=(
        "The longest wait; default 100 times initial_interval_seconds."))

    @model_validator(mode="after")
    def _longest_not_below_first(self) -> RetryIn:
        if self.max_interval_seconds is not None and self.max_interval_seconds < self.initial_interval_seconds:
            raise ValueError("max_interval_seconds must not be less than initial_interval_seconds")
        return self

    def policy(self) -> RetryPolicy:
        """The policy as the engine applies it."""
        return RetryPolicy(**self.model_dump())


class NodeIn(StrictInput):
    """A node: its key (unique in the workflow, used in edges and templates), type and config."""

    key: NodeKey
    component_type: str = Field(min_length=1, max_length=100)
    config: dict[str, Any] = Field(default_factory=dict)
    timeout_seconds: float | None = Field(default=None, gt=0, le=86400, description=(
        "The longest the node may run; a node past it fails the run. Default: only the job timeout."))
    retry: RetryIn | None = Field(default=None, description=(
        "Try the node again when it fails; default: the workflow's retry (none: the first failure fails the run)."))


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
    retry: RetryIn | None = Field(default=None, description="The retry policy of every node that sets none.")
    nodes: list[NodeIn] = Field(min_length=1, max_length=MAX_NODES_CEILING)
    edges: list[EdgeIn] = Field(default_factory=list, max_length=MAX_EDGES)


class WorkflowUpdate(StrictInput):
    """Body of ``PATCH /api/v1/workflows/{id}``; ``nodes`` and ``edges`` replace the graph together."""

    name: Name | None = None
    description: LongText | None = None
    may_schedule_itself: bool | None = None
    retry: RetryIn | None = Field(default=None, description=(
        "The retry policy of every node that sets none; send null to keep it, {\"max_attempts\": 1} for none."))
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
    retry: dict[str, Any] | None = None


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
    retry: dict[str, Any] | None = None
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
    attempt: int = 1
    total_tokens: int = 0
    total_cost_usd: float = 0.0
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
    next_attempt_at: datetime | None = None
    total_tokens: int = 0
    total_cost_usd: float = 0.0
    node_runs: list[NodeRunPublic] = Field(default_factory=list)

    @computed_field(description=(  # type: ignore[prop-decorator]
        "What started the run: schedule (its own time), manual (run now) or backfill; null for an event "
        "without one. event_type is 'schedule' for all three."))
    @property
    def trigger_kind(self) -> TriggerKind | None:
        """Read from the stored event, so runs recorded before this field existed show it too."""
        return trigger_kind_of(self.event)
