"""``notification_deliveries`` and ``notification_attempts``: each message a schedule's ``notify`` entries sent
(or are still sending), and every try at it.

A delivery is written in the transaction that records its outcome (a run's end, a missed
occurrence, an automatic pause), with the body it will carry, so a worker that dies before
sending loses nothing: the scheduler arms its timer again from ``status``/``next_attempt_at``.
``schedule_run_id`` is a plain number, not a foreign key: the retention sweep deletes ledger
rows by the million, and keeping a key here in step would cost it one more lookup per row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rqflow.models.base import Base, UTCDateTime, utcnow

DELIVERY_STATUSES = ("pending", "delivered", "failed")


class NotificationDelivery(Base):
    """One notification to one target: pending until a try succeeds, or failed once the tries are spent."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        # The scheduler re-arms pending deliveries whose timer Redis lost.
        Index("ix_notification_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        # A schedule's list, newest first.
        Index("ix_notification_deliveries_schedule_created", "scheduled_job_id", "created_at", "id"),
        # The retention sweep, oldest first.
        Index("ix_notification_deliveries_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheduled_job_id: Mapped[str] = mapped_column(ForeignKey("scheduled_jobs.id", ondelete="CASCADE"))
    schedule_run_id: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))
    target: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
    # What the notification says (the webhook's JSON body; the email is written from it).
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    attempt_log: Mapped[list[NotificationAttempt]] = relationship(
        back_populates="delivery", order_by="NotificationAttempt.attempt", cascade="all, delete-orphan",
        passive_deletes=True)


class NotificationAttempt(Base):
    """One try: when, how long, and what the target answered."""

    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("notification_deliveries.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_ms: Mapped[float] = mapped_column(Float)
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text, default="")

    delivery: Mapped[NotificationDelivery] = relationship(back_populates="attempt_log")
