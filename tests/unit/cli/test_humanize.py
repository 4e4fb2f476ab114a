"""Times and durations in words, with ``now`` given."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from rqflow.client.humanize import duration, lateness, local_time, parse_interval, relative

NOW = datetime(2030, 1, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(("value", "words"), [
    ("2030-01-01T08:04:30Z", "in 4 min"), ("2030-01-01T05:00:00Z", "3 h ago"), ("2030-01-03T08:00:00Z", "in 2 d"),
    ("2030-01-01T08:00:00Z", "now"), (None, "—"),
])
def test_relative(value: str | None, words: str) -> None:
    assert relative(value, NOW) == words


def test_local_time_uses_the_zone_and_its_abbreviation() -> None:
    assert local_time("2030-07-01T07:00:00Z", ZoneInfo("Europe/Berlin")) == "2030-07-01 09:00 CEST"
    assert local_time("2030-07-01T07:00:05Z", None) == "2030-07-01 07:00:05 UTC"


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("5m", 300), (" 2h ", 7200), ("1d", 86400)])
def test_parse_interval(text: str, seconds: int) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["", "5 minutes", "-5", "1.5h"])
def test_parse_interval_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="not a number"):
        parse_interval(text)


def test_durations_and_lateness() -> None:
    assert [duration(0.4213), duration(3.14), duration(125), duration(None)] == ["0.42 s", "3.1 s", "2 min", "—"]
    assert lateness("2030-01-01T08:00:00Z", "2030-01-01T08:00:01.5Z") == "+1.5 s"
    assert lateness("2030-01-01T08:00:00Z", None) == "—"
