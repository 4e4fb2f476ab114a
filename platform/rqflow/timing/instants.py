"""Helpers for the one time representation rqflow hands out: aware UTC, whole seconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rqflow.errors import InvalidInput

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_SECOND = timedelta(seconds=1)
# The ends of the calendar a datetime can hold; arithmetic on instants stops there instead of raising.
FIRST_INSTANT = datetime.min.replace(tzinfo=UTC)
LAST_INSTANT = datetime.max.replace(tzinfo=UTC)


def is_aware(value: datetime) -> bool:
    """Tell whether a datetime names a real instant, since naive ones are ambiguous."""
    return value.tzinfo is not None and value.utcoffset() is not None


def require_aware(value: object, field: str) -> datetime:
    """Reject anything but an aware datetime, so no instant is guessed from server time."""
    if not isinstance(value, datetime):
        raise InvalidInput(f"{field} must be a datetime, got {type(value).__name__}", field=field)
    if not is_aware(value):
        raise InvalidInput(f"{field} must be timezone-aware, got naive {value.isoformat()}", field=field)
    return value


def to_utc_second(value: datetime) -> datetime:
    """Normalise an aware instant to UTC whole seconds, the form every occurrence takes."""
    return value.astimezone(UTC).replace(microsecond=0)


def epoch_seconds(value: datetime) -> int:
    """Count whole seconds since the epoch (floored), for exact integer interval arithmetic."""
    return (value - EPOCH) // ONE_SECOND


def from_epoch_seconds(seconds: int) -> datetime:
    """Turn epoch seconds back into an aware UTC datetime without float rounding."""
    return EPOCH + timedelta(seconds=seconds)


def shifted(value: datetime, seconds: float) -> datetime:
    """Move an instant by ``seconds``, held at the calendar's ends rather than raising ``OverflowError``.

    A schedule's spans are large by design (a one-time schedule "never repeats", an interval may
    be years, a catch-up looks back a thousand spacings, jitter pushes an instant in year 9999
    past the calendar's end), and an overflow there once stopped every one-time schedule.
    Every offset of an instant by a schedule-derived amount goes through here.
    """
    try:
        return value + timedelta(seconds=seconds)
    except OverflowError:
        return LAST_INSTANT if seconds > 0 else FIRST_INSTANT
