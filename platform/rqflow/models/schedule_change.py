"""``schedule_changes``: the audit trail, one row per change to a schedule.

Rows carry the owner and the schedule id without a foreign key on the schedule,
so the trail of a deleted schedule (its ``delete`` row included) survives it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from rqflow.models.base import Base, UTCDateTime, utcnow

CHANGE_ACTIONS = ("create", "update", "pause", "resume", "stop", "delete")


class ScheduleChange(Base):
    """Who changed which fields of a schedule, when, from what to what."""

    __tablename__ = "schedule_changes"
    __table_args__ = (
        Index("ix_schedule_changes_scheduled_job_id_id", "scheduled_job_id", "id"),
        # The retention sweep deletes the oldest changes first.
        Index("ix_schedule_changes_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheduled_job_id: Mapped[str] = mapped_column(String(36))
    user_profile_id: Mapped[int] = mapped_column(ForeignKey("user_profiles.id", ondelete="CASCADE"), index=True)
    # "user:<name>" for a person's request, "system:<part>" for the scheduler or a worker.
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(1000), default="")
    # {field: {"old": value, "new": value}} for every field that changed.
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
