"""``schedule_runs``: the ledger, one row per occurrence.

The unique key on ``(scheduled_job_id, scheduled_for)`` is what makes every
occurrence run at most once: two schedulers, a restart between enqueue and
remove, or a retried RQ job may all deliver an occurrence twice, and the second
insert fails in the database instead of running the workflow again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rqflow.models.base import Base, UTCDateTime, utcnow

# waiting: its turn has not come (overlap buffer, catch-up or backfill queue);
# enqueued: handed to an RQ worker; retrying: a node failed and its next attempt waits for a timer
# (next_attempt_at). Enqueued, running and retrying rows hold the schedule's slot.
RUN_STATUSES = ("waiting", "enqueued", "running", "retrying", "succeeded", "failed", "skipped", "missed")
# The reason on a row that ran past its deadline (the schedule's run_timeout_seconds).
TIMEOUT_REASON = "timeout"
# The reason on a row whose model calls reached its budget (max_budget_per_run_usd, max_tokens_per_run).
BUDGET_REASON = "budget_exceeded"
TRIGGER_KINDS = ("schedule", "manual", "backfill")


class ScheduleRun(Base):
    """What happened to one occurrence of one schedule."""

    __tablename__ = "schedule_runs"
    __table_args__ = (
        # Also the index behind "runs of this schedule, newest first".
        UniqueConstraint("scheduled_job_id", "scheduled_for"),
        # The overlap check and the hand-over look for a schedule's unfinished runs.
        Index("ix_schedule_runs_scheduled_job_id_status", "scheduled_job_id", "status"),
        # The scheduler's sweep looks for runs left running or enqueued by a lost worker or queue.
        Index("ix_schedule_runs_status_started_at", "status", "started_at"),
        # The retention sweep deletes the oldest rows first.
        Index("ix_schedule_runs_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheduled_job_id: Mapped[str] = mapped_column(ForeignKey("scheduled_jobs.id", ondelete="CASCADE"))
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime())
    trigger_kind: Mapped[str] = mapped_column(String(20), default="schedule")
    status: Mapped[str] = mapped_column(String(20), default="enqueued")
    reason: Mapped[str] = mapped_column(String(255), default="")
    rq_job_id: Mapped[str | None] = mapped_column(String(100))
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When a worker last took the run up again after a retry's wait (None: it never waited); a worker that
    # dies is noticed from this instant, not from the run's start.
    resumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # While ``retrying``: when the next attempt is due.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The run fails with reason ``timeout`` if it has not ended by then (set when it starts).
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str] = mapped_column(Text, default="")
    # What its workflows' model calls used and cost, all attempts included.
    total_tokens: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    total_cost_usd: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
