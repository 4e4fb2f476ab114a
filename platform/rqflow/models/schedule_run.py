"""``schedule_runs``: the ledger, one row per occurrence.

The unique key on ``(scheduled_job_id, scheduled_for)`` is what makes every
occurrence run at most once: two schedulers, a restart between enqueue and
remove, or a retried RQ job may all deliver an occurrence twice, and the second
insert fails in the database instead of running the workflow again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rqflow.models.base import Base, UTCDateTime, utcnow

RUN_STATUSES = ("enqueued", "running", "succeeded", "failed", "skipped", "missed")
TRIGGER_KINDS = ("schedule", "manual")


class ScheduleRun(Base):
    """What happened to one occurrence of one schedule."""

    __tablename__ = "schedule_runs"
    __table_args__ = (
        # Also the index behind "runs of this schedule, newest first".
        UniqueConstraint("scheduled_job_id", "scheduled_for"),
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
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
