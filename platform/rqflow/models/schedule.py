"""``scheduled_jobs``: the source of truth for every schedule (Redis only holds timers)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rqflow.models.base import Base, UTCDateTime, utcnow

SCHEDULE_STATUSES = ("active", "paused", "stopped")
# What happens to occurrences missed while the scheduler was down or the schedule paused.
CATCHUP_POLICIES = ("skip", "latest", "all")
# What happens to an occurrence due while the previous run is still going.
OVERLAP_POLICIES = ("skip", "buffer_one", "allow")


def new_schedule_id() -> str:
    """A random id; letters, digits and dashes only, so it can live inside an RQ job id."""
    return str(uuid.uuid4())


class Schedule(Base):
    """One schedule: when to fire, what to fire (a workflow), and what happened so far."""

    __tablename__ = "scheduled_jobs"
    __table_args__ = (
        # The scheduler's sync reads active rows and their next instant.
        Index("ix_scheduled_jobs_status_next_run_at", "status", "next_run_at"),
        # The scheduler's auto-resume looks for paused rows whose pause has run out.
        Index("ix_scheduled_jobs_status_paused_until", "status", "paused_until"),
        # A user's list, in its order (a page of 100 of 100,000 rows without sorting them all).
        Index("ix_scheduled_jobs_owner_created", "user_profile_id", "created_at", "id"),
        # The per-user limit counts a user's active schedules.
        Index("ix_scheduled_jobs_owner_status", "user_profile_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_schedule_id)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")

    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"), index=True)
    trigger_node_id: Mapped[int | None] = mapped_column(ForeignKey("workflow_nodes.id", ondelete="SET NULL"))
    user_profile_id: Mapped[int] = mapped_column(ForeignKey("user_profiles.id", ondelete="CASCADE"), index=True)

    schedule_type: Mapped[str] = mapped_column(String(20))
    cron_expression: Mapped[str | None] = mapped_column(String(100))
    interval_seconds: Mapped[int | None] = mapped_column(Integer)
    run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    start_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    max_runs: Mapped[int | None] = mapped_column(Integer)

    trigger_payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    catchup_policy: Mapped[str] = mapped_column(String(20), default="latest", server_default="latest")
    catchup_window_seconds: Mapped[int | None] = mapped_column(Integer)
    overlap_policy: Mapped[str] = mapped_column(String(20), default="skip", server_default="skip")
    jitter_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pause_after_failures: Mapped[int | None] = mapped_column(Integer)
    # The longest one run may take from its start to its end, retries' waits included (None: the operator's
    # RQFLOW_RUN_TIMEOUT_SECONDS); past it the run fails with reason ``timeout``.
    run_timeout_seconds: Mapped[int | None] = mapped_column(Integer)
    # How many days its ledger rows (and their workflow and node runs) are kept (None: RQFLOW_RUN_RETENTION_DAYS).
    run_retention_days: Mapped[int | None] = mapped_column(Integer)
    # The most one run may spend on model calls (US dollars, tokens); None: no limit but the operator's ceiling.
    max_budget_per_run_usd: Mapped[float | None] = mapped_column(Float)
    max_tokens_per_run: Mapped[int | None] = mapped_column(Integer)
    # Who hears about which outcomes: a list of {on: [...], webhook: URL} / {on: [...], email: address}.
    notify: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    status: Mapped[str] = mapped_column(String(20), default="active")
    # The rq-scheduler entry armed for next_run_at (informational; Redis is rebuilt from next_run_at).
    rq_job_id: Mapped[str | None] = mapped_column(String(100))

    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    run_count: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    missed_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    paused_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
