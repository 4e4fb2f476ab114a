"""ScheduleSpec.validate and resolve_timezone: the right error class, field and hint."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from rqflow.errors import (
    InvalidCronExpression,
    InvalidInput,
    NeverFires,
    RqflowError,
    UnknownTimezone,
)
from rqflow.timing import ScheduleSpec, resolve_timezone

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
T1 = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
NAIVE = datetime(2026, 6, 1, 9, 0)


@pytest.mark.parametrize(
    ("expression", "hint"),
    [
        ("0 0 * * * *", "expected 5 cron fields, got 6"),
        ("0 0 0 * * * 2026", "expected 5 cron fields, got 7"),
        ("0 0 * *", "expected 5 cron fields, got 4"),
        ("61 * * * *", "minute value 61 out of range 0-59"),
        ("* 24 * * *", "hour value 24 out of range 0-23"),
        ("* * 0 * *", "day-of-month value 0 out of range 1-31"),
        ("* * 32 * *", "day-of-month value 32 out of range 1-31"),
        ("* * * 13 *", "month value 13 out of range 1-12"),
        ("* * * * 8", "day-of-week value 8 out of range 0-7"),
        ("0-60 * * * *", "minute value 60 out of range 0-59"),
        ("*/0 * * * *", "minute step must be at least 1, got 0"),
        ("0 */0 * * *", "hour step must be at least 1, got 0"),
        ("*/x * * * *", "minute step 'x' is not a whole number"),
        ("30-10 * * * *", "minute range 30-10 is reversed"),
        ("1,,2 * * * *", "minute field has an empty list item"),
        ("a * * * *", "minute field has an invalid value 'a'"),
        ("0 0 L * *", "day-of-month field has an invalid value 'L'"),
        ("0 0 * * MON#1", "day-of-week field has an invalid value 'MON#1'"),
        ("0 0 ? * *", "day-of-month field has an invalid value '?'"),
        ("", "cron expression is empty"),
        ("   ", "cron expression is empty"),
        ("@reboot", "@reboot is not supported"),
        ("@every 5m", "unknown cron macro '@every 5m'"),
    ],
)
def test_bad_cron_expressions_name_the_problem(expression: str, hint: str) -> None:
    spec = ScheduleSpec(kind="cron", cron_expression=expression)
    with pytest.raises(InvalidCronExpression) as caught:
        spec.validate()
    assert caught.value.field == "cron_expression"
    assert hint in caught.value.message
    assert repr(expression) in caught.value.message


@pytest.mark.parametrize(
    "expression",
    [
        "* * * * *",
        "0 9 * * 1-5",
        "0 9 * * MON-FRI",
        "0 0 1 jan *",
        "0 0 * * 7",
        "5/15 * * * *",
        "0-59/15 2 * * *",
        "0 0 29 2 *",
        "0 0 31 * *",
        "0 0 30 1,2 *",
        "  0   9 * *  1  ",
        "@hourly",
        "@daily",
        "@midnight",
        "@weekly",
        "@monthly",
        "@yearly",
        "@annually",
        "@DAILY",
    ],
)
def test_good_cron_expressions_validate(expression: str) -> None:
    ScheduleSpec(kind="cron", timezone="Europe/Berlin", cron_expression=expression).validate()


@pytest.mark.parametrize("expression", ["0 0 31 2 *", "0 0 30,31 2 *", "0 0 31 4,6,9,11 *", "0 0 30 2 */2"])
def test_cron_lines_that_never_fire_are_refused(expression: str) -> None:
    with pytest.raises(NeverFires) as caught:
        ScheduleSpec(kind="cron", cron_expression=expression).validate()
    assert caught.value.field == "cron_expression"
    assert "never fires" in caught.value.message


BAD_SPECS: list[tuple[dict[str, Any], type[RqflowError], str, str]] = [
    ({"kind": "weekly"}, InvalidInput, "kind", "kind must be one of"),
    ({"kind": "cron"}, InvalidCronExpression, "cron_expression", "cron_expression is required"),
    ({"kind": "cron", "cron_expression": 5}, InvalidCronExpression, "cron_expression", "must be a string"),
    (
        {"kind": "cron", "cron_expression": "* * * * *", "timezone": "Mars/Olympus"},
        UnknownTimezone,
        "timezone",
        "'Mars/Olympus'",
    ),
    ({"kind": "interval", "start_at": T0}, InvalidInput, "interval_seconds", "positive whole number"),
    ({"kind": "interval", "interval_seconds": 0, "start_at": T0}, InvalidInput, "interval_seconds", "got 0"),
    (
        {"kind": "interval", "interval_seconds": -5, "start_at": T0},
        InvalidInput,
        "interval_seconds",
        "got -5",
    ),
    (
        {"kind": "interval", "interval_seconds": 1.5, "start_at": T0},
        InvalidInput,
        "interval_seconds",
        "got 1.5",
    ),
    (
        {"kind": "interval", "interval_seconds": True, "start_at": T0},
        InvalidInput,
        "interval_seconds",
        "got True",
    ),
    ({"kind": "interval", "interval_seconds": 60}, InvalidInput, "anchor", "start_at or anchor"),
    ({"kind": "once"}, InvalidInput, "run_at", "run_at is required"),
    ({"kind": "once", "run_at": NAIVE}, InvalidInput, "run_at", "timezone-aware"),
    (
        {"kind": "interval", "interval_seconds": 60, "start_at": NAIVE},
        InvalidInput,
        "start_at",
        "timezone-aware",
    ),
    ({"kind": "interval", "interval_seconds": 60, "anchor": NAIVE}, InvalidInput, "anchor", "timezone-aware"),
    (
        {"kind": "cron", "cron_expression": "* * * * *", "end_at": NAIVE},
        InvalidInput,
        "end_at",
        "timezone-aware",
    ),
    (
        {"kind": "cron", "cron_expression": "* * * * *", "start_at": T1, "end_at": T0},
        InvalidInput,
        "end_at",
        "must be after start_at",
    ),
    (
        {"kind": "cron", "cron_expression": "* * * * *", "start_at": T0, "end_at": T0},
        InvalidInput,
        "end_at",
        "must be after start_at",
    ),
    ({"kind": "once", "run_at": T0, "start_at": T1}, NeverFires, "run_at", "outside"),
    ({"kind": "once", "run_at": T1, "end_at": T0}, NeverFires, "run_at", "outside"),
]


@pytest.mark.parametrize(("fields", "error", "field", "fragment"), BAD_SPECS)
def test_invalid_specs_raise_with_field_and_message(
    fields: dict[str, Any], error: type[RqflowError], field: str, fragment: str
) -> None:
    with pytest.raises(error) as caught:
        ScheduleSpec(**fields).validate()
    assert isinstance(caught.value, InvalidInput)
    assert caught.value.field == field
    assert fragment in caught.value.message


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "interval", "interval_seconds": 1, "anchor": T0},
        {"kind": "interval", "interval_seconds": 90, "start_at": T0, "end_at": T1},
        {"kind": "once", "run_at": T0, "timezone": "Asia/Kolkata"},
        {"kind": "once", "run_at": T0, "start_at": T0, "end_at": T1},
        {"kind": "cron", "cron_expression": "0 9 * * 1-5", "start_at": T0, "end_at": T1},
    ],
)
def test_valid_specs_pass(fields: dict[str, Any]) -> None:
    ScheduleSpec(**fields).validate()


@pytest.mark.parametrize(
    "name", ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Etc/GMT+5"]
)
def test_known_timezones_resolve(name: str) -> None:
    assert resolve_timezone(name) == ZoneInfo(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "..",
        "../etc/passwd",
        "Europe/../UTC",
        "/etc/localtime",
        "/usr/share/zoneinfo/UTC",
        "Europe",
        "Mars/Olympus",
        "utc",
        " UTC",
        "localtime",
        "zone.tab",
        "Europe/Berlin\x00",
    ],
)
def test_unknown_or_unsafe_timezone_names_are_refused(name: str) -> None:
    with pytest.raises(UnknownTimezone) as caught:
        resolve_timezone(name)
    assert caught.value.field == "timezone"
    assert repr(name) in caught.value.message


@pytest.mark.parametrize("value", [None, 5, b"UTC", ["UTC"]])
def test_non_string_timezones_are_refused(value: object) -> None:
    with pytest.raises(UnknownTimezone) as caught:
        resolve_timezone(value)
    assert caught.value.field == "timezone"
    assert repr(value) in caught.value.message


@pytest.mark.parametrize("method", ["next_after", "occurrences_between"])
def test_naive_after_is_refused(method: str) -> None:
    spec = ScheduleSpec(kind="cron", cron_expression="* * * * *")
    call = getattr(spec, method)
    with pytest.raises(InvalidInput) as caught:
        call(NAIVE) if method == "next_after" else call(NAIVE, T1)
    assert caught.value.field in {"after", "start"}


def test_methods_refuse_an_invalid_spec() -> None:
    with pytest.raises(InvalidInput):
        ScheduleSpec(kind="interval", interval_seconds=0, anchor=T0).next_after(T0)
