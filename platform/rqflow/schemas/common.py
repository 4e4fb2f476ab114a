"""Pieces every schema module uses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, StringConstraints

T = TypeVar("T")

# Names are shown in tables and matched by globs: printable, trimmed, bounded.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=r"^[^\x00]*$")]
LongText = Annotated[str, StringConstraints(max_length=10_000, pattern=r"^[^\x00]*$")]


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


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
