"""Workflow runs and their node runs: what each step received, returned and raised."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rqflow.models.base import Base, UTCDateTime, utcnow


class WorkflowRun(Base):
    """One execution of a workflow, started by an event matching one of its trigger nodes."""

    __tablename__ = "workflow_runs"
    # The scheduler finds the runs waiting for a retry, to re-arm a timer Redis lost.
    __table_args__ = (
        Index("ix_workflow_runs_status_next_attempt_at", "status", "next_attempt_at"),
        # The retention sweep finds old runs that lost their ledger row (their schedule was deleted).
        Index("ix_workflow_runs_started_at", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"), index=True)
    schedule_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("schedule_runs.id", ondelete="SET NULL"), index=True
    )
    trigger_node_id: Mapped[int | None] = mapped_column(ForeignKey("workflow_nodes.id", ondelete="SET NULL"))
    event_type: Mapped[str] = mapped_column(String(50))
    event: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="running")
    error: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # While ``retrying``: the node to try again, its attempt number, when, and the outputs of the nodes that
    # already succeeded (whole, not the stored previews), which the continuation starts from.
    resume_node_key: Mapped[str | None] = mapped_column(String(100))
    resume_attempt: Mapped[int | None] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resume_outputs: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # What its nodes' model calls used and cost, all attempts included.
    total_tokens: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    total_cost_usd: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")

    node_runs: Mapped[list[NodeRun]] = relationship(
        back_populates="workflow_run", cascade="all, delete-orphan", order_by="NodeRun.id"
    )


class NodeRun(Base):
    """One node's execution inside a workflow run."""

    __tablename__ = "node_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_run_id: Mapped[int] = mapped_column(ForeignKey("workflow_runs.id", ondelete="CASCADE"), index=True)
    node_id: Mapped[int | None] = mapped_column(ForeignKey("workflow_nodes.id", ondelete="SET NULL"))
    node_key: Mapped[str] = mapped_column(String(100))
    component_type: Mapped[str] = mapped_column(String(100))
    # 1 for the first try; each retry of the node is a row of its own with the next number.
    attempt: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # What this attempt's model calls used and cost (the agent node's; 0 for nodes that call no model).
    total_tokens: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    total_cost_usd: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    status: Mapped[str] = mapped_column(String(20), default="running")
    input: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    output: Mapped[Any | None] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    workflow_run: Mapped[WorkflowRun] = relationship(back_populates="node_runs")
