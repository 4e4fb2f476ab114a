"""One try at a notification, when its timer comes: take it up, send it, record it, arm the next if it failed.

The take-up commits before the send and the record comes after it, so no database
transaction is open while a webhook or an SMTP server takes its time; the run the
notification is about ended long before, and nothing here can change it.
"""

from __future__ import annotations

import logging

from rqflow.db import session_scope
from rqflow.models import utcnow
from rqflow.notify import SendResult, send
from rqflow.services.notification_deliveries import NextTry, record, take_up
from rqflow.signals import SchedulerSignals
from rqflow.worker.occurrence import Sessions

log = logging.getLogger(__name__)


def deliver(delivery_id: int, attempt: int, *, signals: SchedulerSignals,
            sessions: Sessions = session_scope) -> dict[str, object]:
    """Make try ``attempt`` of a notification, at most once; what came of it (the RQ job's result)."""
    with sessions() as db:
        db.connection()  # wait for the database before reading the clock
        outgoing = take_up(db, delivery_id=delivery_id, attempt=attempt, now=utcnow())
    if outgoing is None:
        return {"taken_up": False}
    started_at = utcnow()
    try:
        result = send(outgoing)
    except Exception as exc:  # a bug in sending is this try's failure, recorded like any other
        log.exception("notification %s, try %s, failed to send", delivery_id, attempt)
        result = SendResult(ok=False, error=f"{type(exc).__name__}: {exc}")
    with sessions() as db:
        next_try = record(db, outgoing, result, started_at=started_at, now=utcnow())
    if next_try is not None:
        _arm(next_try, signals)
    log.info("notification %s (%s to %s), try %s: %s", delivery_id, outgoing.outcome, outgoing.channel, attempt,
             "delivered" if result.ok else result.error, extra={"delivery_id": delivery_id})
    return {"taken_up": True, "ok": result.ok, "status_code": result.status_code, "error": result.error}


def _arm(next_try: NextTry, signals: SchedulerSignals) -> None:
    signals.notify_later(delivery_id=next_try.delivery_id, attempt=next_try.attempt, at=next_try.at)
