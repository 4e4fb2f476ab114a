"""Pieces every schema module uses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar, get_args

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

T = TypeVar("T")

# PostgreSQL text cannot hold NUL while SQLite can: refusing it keeps both databases' answers the same.
NO_NUL = r"^[^\x00]*$"
# PostgreSQL INTEGER columns hold at most this; SQLite holds more, so an unbounded number would be
# stored by one database and refused (a 500) by the other.
MAX_DB_INT = 2**31 - 1
# No schedule fires before the epoch; the upper end leaves centuries of room for computing occurrences
# before Python's datetime ends at year 9999.
EARLIEST_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(9000, 1, 1, tzinfo=UTC)

# What started a run: the schedule's own time, a person's "run now", or a backfill of a past range.
TriggerKind = Literal["schedule", "manual", "backfill"]

# Names are shown in tables and matched by globs: printable, trimmed, bounded.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=NO_NUL)]
LongText = Annotated[str, StringConstraints(max_length=10_000, pattern=NO_NUL)]
# The id of a stored row (a workflow, a node) given in a request body.
RowId = Annotated[int, Field(ge=1, le=MAX_DB_INT)]


def trigger_kind_of(event: dict[str, Any]) -> TriggerKind | None:
    """The trigger kind a workflow run's stored event carries (``ScheduleEvent.as_dict()``'s ``trigger_kind``).

    Every schedule firing is event type "schedule", whether it came at its time, by hand or by a backfill;
    this tells them apart. None for an event that carries no kind.
    """
    kind = event.get("trigger_kind")
    known_kinds: tuple[TriggerKind, ...] = get_args(TriggerKind)
    return next((known for known in known_kinds if known == kind), None)


def _to_utc(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value.isoformat()} is out of range") from None
    if not EARLIEST_INSTANT <= utc < LATEST_INSTANT:
        raise ValueError(f"must be from {EARLIEST_INSTANT.date()} and before {LATEST_INSTANT.date()}")
    return utc


# An instant given with any offset, kept in UTC: every answer then shows it the same way, as stored.
Instant = Annotated[AwareDatetime, AfterValidator(_to_utc)]


class StrictInput(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """One page of a list, with the total so a client can page through."""

    items: list[T]
    total: int
    limit: int
    offset: int
