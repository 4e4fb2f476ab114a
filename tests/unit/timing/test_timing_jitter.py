"""Jitter: a deterministic, bounded per-occurrence delay, and the firing instant it gives."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from rqflow.timing.jitter import fire_at, jitter_delay

MIDNIGHT = datetime(2026, 1, 5, tzinfo=UTC)
PLATFORM = Path(__file__).resolve().parents[3] / "platform"

# Pinned delays, worked out by hand as sha256("<id>:<epoch seconds>") % (max + 1) on the
# first 8 bytes. Pinned because every process must agree: a change here moves every armed
# timer on the next deploy.
GOLDEN = [
    ("nightly-report", MIDNIGHT, 3599, 2610),
    ("nightly-report", MIDNIGHT + timedelta(days=1), 3599, 557),
    ("sync-orders", MIDNIGHT, 3599, 1095),
    ("sync-orders", MIDNIGHT, 59, 15),
    ("sync-orders", MIDNIGHT, 1, 1),
]


def hourly(count: int) -> list[datetime]:
    """Consecutive hourly occurrences starting at MIDNIGHT."""
    return [MIDNIGHT + timedelta(hours=k) for k in range(count)]


def seconds(delay: timedelta) -> int:
    """A delay as whole seconds, failing the test if it carries a fraction."""
    assert delay % timedelta(seconds=1) == timedelta(0), f"{delay!r} is not whole seconds"
    return delay // timedelta(seconds=1)


@pytest.mark.parametrize("max_seconds", [0, -1, -3600])
def test_no_positive_max_gives_no_delay(max_seconds: int) -> None:
    """A zero or negative maximum means no jitter: the timer fires at the occurrence itself."""
    assert jitter_delay("nightly-report", MIDNIGHT, max_seconds) == timedelta(0)
    assert fire_at("nightly-report", MIDNIGHT, max_seconds) == MIDNIGHT


@pytest.mark.parametrize("max_seconds", [1, 3, 59, 3599])
def test_delay_is_whole_seconds_within_bounds(max_seconds: int) -> None:
    """Over many occurrences every delay is a whole number of seconds in [0, max]."""
    delays = [seconds(jitter_delay("nightly-report", t, max_seconds)) for t in hourly(500)]

    assert all(0 <= d <= max_seconds for d in delays), (min(delays), max(delays))


@pytest.mark.parametrize("max_seconds", [1, 3])
def test_both_ends_of_the_range_are_reached(max_seconds: int) -> None:
    """The range is inclusive: with a small max, 0 and max itself both turn up."""
    delays = {seconds(jitter_delay("nightly-report", t, max_seconds)) for t in hourly(500)}

    assert delays == set(range(max_seconds + 1))


@pytest.mark.parametrize(("schedule_id", "occurrence", "max_seconds", "expected"), GOLDEN)
def test_pinned_delays_and_firing_instants(
    schedule_id: str, occurrence: datetime, max_seconds: int, expected: int
) -> None:
    """Known (id, occurrence, max) triples give known delays, and fire_at adds them to the occurrence."""
    assert jitter_delay(schedule_id, occurrence, max_seconds) == timedelta(seconds=expected)
    assert fire_at(schedule_id, occurrence, max_seconds) == occurrence + timedelta(seconds=expected)


def test_same_input_same_delay() -> None:
    """Repeated calls, with equal but distinct datetime objects, agree."""
    first = [jitter_delay("nightly-report", t, 3599) for t in hourly(50)]
    again = [jitter_delay("nightly-report", t.replace(), 3599) for t in hourly(50)]

    assert first == again


def test_same_delay_in_a_fresh_process_with_another_hash_seed() -> None:
    """A new interpreter with a different PYTHONHASHSEED computes the same delay (not salted)."""
    code = (
        "from datetime import UTC, datetime;"
        "from rqflow.timing.jitter import jitter_delay;"
        "print(int(jitter_delay('nightly-report', datetime(2026, 1, 5, tzinfo=UTC), 3599).total_seconds()))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(PLATFORM)}

    out = subprocess.run(
        [sys.executable, "-c", code], check=False, env=env, capture_output=True, text=True, timeout=60
    )

    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == seconds(jitter_delay("nightly-report", MIDNIGHT, 3599)) == 2610


def test_different_schedules_spread_over_the_range() -> None:
    """At one occurrence, 200 schedules get mostly distinct delays across every quarter of an hour."""
    delays = [seconds(jitter_delay(f"schedule-{i}", MIDNIGHT, 3599)) for i in range(200)]

    assert len(set(delays)) >= 100
    assert {d // 900 for d in delays} == {0, 1, 2, 3}


@pytest.mark.parametrize("microsecond", [1, 500_000, 999_999])
def test_microseconds_of_the_occurrence_do_not_matter(microsecond: int) -> None:
    """The delay uses whole epoch seconds, so a fraction of a second does not change it."""
    occurrence = MIDNIGHT.replace(microsecond=microsecond)

    assert jitter_delay("nightly-report", occurrence, 3599) == timedelta(seconds=2610)
    assert fire_at("nightly-report", occurrence, 3599) == occurrence + timedelta(seconds=2610)


def test_same_instant_in_another_zone_same_delay() -> None:
    """The delay depends on the instant, not on the zone it is written in."""
    in_paris = datetime(2026, 1, 5, 1, 0, tzinfo=timezone(timedelta(hours=1)))

    assert jitter_delay("nightly-report", in_paris, 3599) == timedelta(seconds=2610)
