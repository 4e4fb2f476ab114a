"""Parsing one field of a five-field cron line into the set of values it allows."""

from __future__ import annotations

from dataclasses import dataclass


class CronSyntaxError(ValueError):
    """A cron line is malformed; the message is a short hint naming what is wrong."""


@dataclass(frozen=True)
class CronField:
    """The name, value range and symbolic names of one cron field."""

    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    name_base: int = 0


MINUTE = CronField("minute", 0, 59)
HOUR = CronField("hour", 0, 23)
DAY_OF_MONTH = CronField("day-of-month", 1, 31)
MONTH = CronField(
    "month",
    1,
    12,
    names=("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
    name_base=1,
)
DAY_OF_WEEK = CronField("day-of-week", 0, 7, names=("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))
FIELDS = (MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK)


def parse_field(field: CronField, text: str) -> frozenset[int]:
    """Expand a field's comma list into values, so matching is a set lookup."""
    values: set[int] = set()
    for item in text.split(","):
        values.update(_parse_item(field, item))
    return frozenset(values)


def _parse_item(field: CronField, item: str) -> range:
    """Expand one list item: `*`, `n`, `a-b`, each optionally followed by `/step`."""
    if not item:
        raise CronSyntaxError(f"{field.name} field has an empty list item")
    base, slash, step_text = item.partition("/")
    step = _parse_step(field, step_text) if slash else 1
    low, high = _parse_base(field, base, stepped=bool(slash))
    return range(low, high + 1, step)


def _parse_base(field: CronField, base: str, *, stepped: bool) -> tuple[int, int]:
    """Read the range part of an item; a lone `n/step` runs from n to the field's end."""
    if base == "*":
        return field.low, field.high
    low_text, dash, high_text = base.partition("-")
    low = _parse_value(field, low_text)
    if not dash:
        return (low, field.high) if stepped else (low, low)
    high = _parse_value(field, high_text)
    if high < low:
        raise CronSyntaxError(f"{field.name} range {base} is reversed (start after end)")
    return low, high


def _parse_step(field: CronField, text: str) -> int:
    """Read a `/step` suffix, refusing 0, which would never advance."""
    if not (text.isascii() and text.isdigit()):
        raise CronSyntaxError(f"{field.name} step {text!r} is not a whole number")
    step = int(text)
    if step < 1:
        raise CronSyntaxError(f"{field.name} step must be at least 1, got {step}")
    return step


def _parse_value(field: CronField, text: str) -> int:
    """Read a number or a name (JAN, MON) and check it lies in the field's range."""
    if text.upper() in field.names:
        return field.names.index(text.upper()) + field.name_base
    if not (text.isascii() and text.isdigit()):
        raise CronSyntaxError(f"{field.name} field has an invalid value {text!r}")
    value = int(text)
    if not field.low <= value <= field.high:
        raise CronSyntaxError(f"{field.name} value {value} out of range {field.low}-{field.high}")
    return value
