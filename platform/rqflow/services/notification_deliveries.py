"""A notification's tries: taken up once each, recorded each, retried with backoff, given up in the end.

A try's take-up is a compare-and-set on ``(status pending, attempts = try - 1)``: a timer
delivered twice, or re-armed by the scheduler after Redis lost it, sends the try once. The
take-up commits before anything is sent, moving ``next_attempt_at`` past the try's longest
time and its backoff; so if the worker dies while sending, the scheduler arms the next try
then (:func:`waiting_tries`), and nothing is lost (a receiver may see a try twice, as with
every at-least-once sender; the delivery id says so). A try past RQFLOW_NOTIFY_MAX_ATTEMPTS
only marks the delivery ``failed``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session, selectinload

from rqflow.models import NotificationAttempt, NotificationDelivery, Schedule, UserProfile
from rqflow.notify import Outgoing, SendResult
from rqflow.services.notifications import notify_test
from rqflow.services.schedules import get_schedule
from rqflow.settings import get_settings
from rqflow.signals import SchedulerSignals

# The longest wait between two tries, however many failed.
MAX_BACKOFF_SECONDS = 3600.0


@dataclass(frozen=True)
class NextTry:
    """The try a failed one leaves to come, and when."""

    delivery_id: int
    attempt: int
    at: datetime


def backoff(attempt: int) -> timedelta:
    """How long after try ``attempt`` failed the next one comes: RQFLOW_NOTIFY_RETRY_SECONDS, doubling, at most 1 h."""
    seconds = get_settings().notify_retry_seconds * 2 ** (attempt - 1)
    return timedelta(seconds=min(seconds, MAX_BACKOFF_SECONDS))


def take_up(db: Session, *, delivery_id: int, attempt: int, now: datetime) -> Outgoing | None:
    """Claim try ``attempt`` of a pending delivery and commit; what to send (None: not this try's turn, or done)."""
    settings = get_settings()
    if attempt > settings.notify_max_attempts:
        _give_up(db, delivery_id, attempt)
        return None
    # If this try is lost with its worker, the next one comes when its backoff would have.
    lost_after = now + timedelta(seconds=settings.notify_timeout_seconds * 3) + backoff(attempt)
    claimed = cast(CursorResult[Any], db.execute(
        update(NotificationDelivery)
        .where(NotificationDelivery.id == delivery_id, NotificationDelivery.status == "pending",
               NotificationDelivery.attempts == attempt - 1)
        .values(attempts=attempt, next_attempt_at=lost_after)))
    if claimed.rowcount != 1:
        db.rollback()
        return None
    delivery = db.get_one(NotificationDelivery, delivery_id)
    owner_id = db.scalar(select(Schedule.user_profile_id).where(Schedule.id == delivery.scheduled_job_id))
    secret = webhook_secret(db, owner_id) if delivery.channel == "webhook" and owner_id is not None else ""
    outgoing = Outgoing(delivery_id=delivery.id, attempt=attempt, channel=delivery.channel, target=delivery.target,
                        outcome=delivery.outcome, payload=delivery.payload, secret=secret)
    db.commit()
    return outgoing


def _give_up(db: Session, delivery_id: int, attempt: int) -> None:
    """A try past the last: the last one was lost with its worker; the delivery has failed."""
    db.execute(update(NotificationDelivery)
               .where(NotificationDelivery.id == delivery_id, NotificationDelivery.status == "pending",
                      NotificationDelivery.attempts == attempt - 1)
               .values(status="failed", next_attempt_at=None,
                       last_error=f"gave up after {attempt - 1} tries (RQFLOW_NOTIFY_MAX_ATTEMPTS); the last was "
                                  "lost with its worker"))
    db.commit()


def record(db: Session, outgoing: Outgoing, result: SendResult, *, started_at: datetime,
           now: datetime) -> NextTry | None:
    """Record a try and what it leaves: delivered, failed for good, or a next try (returned, to arm its timer)."""
    delivery = db.get(NotificationDelivery, outgoing.delivery_id, with_for_update=True)
    if delivery is None:  # its schedule was deleted meanwhile
        db.rollback()
        return None
    db.add(NotificationAttempt(delivery_id=delivery.id, attempt=outgoing.attempt, started_at=started_at,
                               duration_ms=round((now - started_at).total_seconds() * 1000, 1), ok=result.ok,
                               status_code=result.status_code, error=result.error[:4000]))
    if delivery.status != "pending" or delivery.attempts != outgoing.attempt:
        db.commit()  # a later try already decided it
        return None
    next_try = None
    if result.ok:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at, delivery.last_error = (
            "delivered", now, None, "")
    elif result.permanent or outgoing.attempt >= get_settings().notify_max_attempts:
        delivery.status, delivery.next_attempt_at, delivery.last_error = "failed", None, result.error[:4000]
    else:
        delivery.next_attempt_at, delivery.last_error = now + backoff(outgoing.attempt), result.error[:4000]
        next_try = NextTry(delivery.id, outgoing.attempt + 1, delivery.next_attempt_at)
    db.commit()
    return next_try


def waiting_tries(db: Session) -> list[NextTry]:
    """Every pending delivery's next try: what the scheduler arms again when Redis lost its timer."""
    rows = db.execute(select(NotificationDelivery.id, NotificationDelivery.attempts,
                             NotificationDelivery.next_attempt_at)
                      .where(NotificationDelivery.status == "pending")).all()
    db.rollback()
    return [NextTry(row.id, row.attempts + 1, row.next_attempt_at) for row in rows if row.next_attempt_at]


def webhook_secret(db: Session, user_id: int) -> str:
    """The user's webhook signing secret, made on first use."""
    user = db.get_one(UserProfile, user_id)
    if not user.webhook_secret:
        user.webhook_secret = new_secret()
        db.flush()
    return user.webhook_secret


def rotate_webhook_secret(db: Session, user_id: int) -> str:
    """Replace the user's secret; tries sent from now on are signed with the new one."""
    user = db.get_one(UserProfile, user_id)
    user.webhook_secret = new_secret()
    db.flush()
    return user.webhook_secret


def new_secret() -> str:
    """A random secret, printable: 232 bits, 64 characters with its prefix (the column's size)."""
    return "whsec_" + secrets.token_hex(29)


def list_deliveries(db: Session, *, owner: UserProfile, schedule_id: str, limit: int,
                    offset: int) -> tuple[list[NotificationDelivery], int]:
    """A page of the schedule's notifications, newest first, with their tries; the schedule must be the owner's."""
    get_schedule(db=db, owner=owner, schedule_id=schedule_id)
    where = NotificationDelivery.scheduled_job_id == schedule_id
    total = db.scalar(select(func.count()).select_from(NotificationDelivery).where(where)) or 0
    items = list(db.scalars(select(NotificationDelivery).where(where)
                            .order_by(NotificationDelivery.created_at.desc(), NotificationDelivery.id.desc())
                            .options(selectinload(NotificationDelivery.attempt_log)).limit(limit).offset(offset)))
    return items, total


def send_test(db: Session, *, owner: UserProfile, schedule_id: str, now: datetime,
              signals: SchedulerSignals) -> list[NotificationDelivery]:
    """Queue a test notification to each of the owner's schedule's entries (sent once this commits)."""
    return notify_test(db, get_schedule(db=db, owner=owner, schedule_id=schedule_id), now=now, signals=signals)
