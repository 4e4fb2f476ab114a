"""Workflows: a graph of nodes (a component type plus its JSON config) joined by edges."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rqflow.models.base import Base, UTCDateTime, utcnow


class Workflow(Base):
    """A named graph that runs when one of its trigger nodes matches an event."""

    __tablename__ = "workflows"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_profile_id: Mapped[int] = mapped_column(ForeignKey("user_profiles.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    # Whether a schedule_create tool call made while this workflow runs may create a schedule that starts
    # this same workflow (each run could add another schedule); off unless the workflow's author says so.
    may_schedule_itself: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The retry policy of every node that sets none (None: a failed node fails the run).
    retry: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    nodes: Mapped[list[WorkflowNode]] = relationship(
        back_populates="workflow", cascade="all, delete-orphan", order_by="WorkflowNode.id"
    )
    edges: Mapped[list[WorkflowEdge]] = relationship(
        back_populates="workflow", cascade="all, delete-orphan", order_by="WorkflowEdge.id"
    )


class WorkflowNode(Base):
    """One step of a workflow; ``key`` is its name inside the workflow (used by edges and templates)."""

    __tablename__ = "workflow_nodes"
    __table_args__ = (UniqueConstraint("workflow_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(100))
    component_type: Mapped[str] = mapped_column(String(100), index=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The longest the node may run (None: only the job's own timeout bounds it).
    timeout_seconds: Mapped[float | None] = mapped_column(Float)
    # How a failed run of this node is tried again (rqflow.retry_policy.RetryPolicy as JSON; None: the workflow's).
    retry: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    workflow: Mapped[Workflow] = relationship(back_populates="nodes")


EDGE_KINDS = ("flow", "tool")


class WorkflowEdge(Base):
    """A dependency: ``target`` runs after ``source`` and sees its output.

    A ``tool`` edge instead hands its target (a tool node) to its source (an
    agent node) to call as a function; it does not order the run.
    """

    __tablename__ = "workflow_edges"

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"), index=True)
    source_node_id: Mapped[int] = mapped_column(ForeignKey("workflow_nodes.id", ondelete="CASCADE"))
    target_node_id: Mapped[int] = mapped_column(ForeignKey("workflow_nodes.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20), default="flow", server_default="flow")

    workflow: Mapped[Workflow] = relationship(back_populates="edges")
