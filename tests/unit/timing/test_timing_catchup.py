"""Catch-up plans: which due occurrences run after downtime, and why the others are missed.

Every table below is for an hourly schedule on 2026-01-05 (UTC). ``at("11:00:30")``
is an instant that day; the misfire grace is one minute unless a row says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from rqflow.timing.catchup import (
    MISSED_SKIP,
    MISSED_SUPERSEDED,
    MISSED_WINDOW,
    CatchupPlan,
    CatchupPolicy,
    plan_catchup,
)

POLICIES: list[CatchupPolicy] = ["skip", "latest", "all"]
GRACE = timedelta(seconds=60)


def at(clock: str) -> datetime:
    """Parse 'HH:MM' or 'HH:MM:SS' as a UTC instant on 2026-01-05."""
    return datetime.fromisoformat(f"2026-01-05T{clock}").replace(tzinfo=UTC)


def times(*clocks: str) -> list[datetime]:
    """Turn several clock readings into UTC instants, in the order given."""
    return [at(clock) for clock in clocks]


def missed(reason: str, *clocks: str) -> list[tuple[datetime, str]]:
    """Pair each clock reading with the same missed reason."""
    return [(at(clock), reason) for clock in clocks]


def plan(
    due: list[datetime], *, now: str, policy: CatchupPolicy, window_seconds: int | None = None,
    grace: timedelta = GRACE, fire_at: Callable[[datetime], datetime] | None = None,
) -> CatchupPlan:
    """Call plan_catchup with the test defaults (no window, one-minute grace, no jitter)."""
    if fire_at is None:
        return plan_catchup(due, now=at(now), policy=policy, window_seconds=window_seconds, grace=grace)
    return plan_catchup(
        due, now=at(now), policy=policy, window_seconds=window_seconds, grace=grace, fire_at=fire_at
    )


@pytest.mark.parametrize("window_seconds", [None, 3600])
@pytest.mark.parametrize("policy", POLICIES)
def test_one_on_time_occurrence_runs_under_every_policy(
    policy: CatchupPolicy, window_seconds: int | None
) -> None:
    """The normal case: one occurrence due and on time runs, whatever the policy."""
    result = plan(times("11:00"), now="11:00:30", policy=policy, window_seconds=window_seconds)

    assert result.run == times("11:00")
    assert result.missed == []


@pytest.mark.parametrize("window_seconds", [None, 3600])
@pytest.mark.parametrize("policy", POLICIES)
def test_nothing_due_plans_nothing(policy: CatchupPolicy, window_seconds: int | None) -> None:
    """With no due occurrence there is nothing to run and nothing to miss."""
    result = plan([], now="11:00:30", policy=policy, window_seconds=window_seconds)

    assert result == CatchupPlan(run=[], missed=[])


@pytest.mark.parametrize(
    ("policy", "now", "run", "missed_"),
    [
        # Back 30 s after 11:00: the newest is within grace.
        pytest.param(
            "skip", "11:00:30", times("11:00"), missed(MISSED_SKIP, "09:00", "10:00"), id="skip-newest-on-time"
        ),
        pytest.param(
            "latest", "11:00:30", times("11:00"), missed(MISSED_SUPERSEDED, "09:00", "10:00"),
            id="latest-newest-on-time",
        ),
        pytest.param("all", "11:00:30", times("09:00", "10:00", "11:00"), [], id="all-newest-on-time"),
        # Back 5 min after 11:00: the newest is later than grace too.
        pytest.param(
            "skip", "11:05", [], missed(MISSED_SKIP, "09:00", "10:00", "11:00"), id="skip-newest-late"
        ),
        pytest.param(
            "latest", "11:05", times("11:00"), missed(MISSED_SUPERSEDED, "09:00", "10:00"),
            id="latest-newest-late",
        ),
        pytest.param("all", "11:05", times("09:00", "10:00", "11:00"), [], id="all-newest-late"),
    ],
)
def test_several_due_after_downtime(
    policy: CatchupPolicy, now: str, run: list[datetime], missed_: list[tuple[datetime, str]]
) -> None:
    """Three hourly occurrences came due while down: each policy runs and misses its own share."""
    result = plan(times("09:00", "10:00", "11:00"), now=now, policy=policy)

    assert result.run == run
    assert result.missed == missed_


@pytest.mark.parametrize(
    ("policy", "now", "run", "missed_"),
    [
        # Window 2 h, back at 11:00:30: 08:00 and 09:00 are older than it, 10:00 and 11:00 are not.
        pytest.param(
            "skip", "11:00:30", times("11:00"),
            missed(MISSED_WINDOW, "08:00", "09:00") + missed(MISSED_SKIP, "10:00"),
            id="skip-newest-on-time",
        ),
        pytest.param(
            "skip", "11:05", [],
            missed(MISSED_WINDOW, "08:00", "09:00") + missed(MISSED_SKIP, "10:00", "11:00"),
            id="skip-newest-late",
        ),
        pytest.param(
            "latest", "11:00:30", times("11:00"),
            missed(MISSED_WINDOW, "08:00", "09:00") + missed(MISSED_SUPERSEDED, "10:00"),
            id="latest",
        ),
        pytest.param(
            "all", "11:00:30", times("10:00", "11:00"), missed(MISSED_WINDOW, "08:00", "09:00"), id="all"
        ),
    ],
)
def test_window_misses_older_occurrences(
    policy: CatchupPolicy, now: str, run: list[datetime], missed_: list[tuple[datetime, str]]
) -> None:
    """Occurrences older than the catch-up window are missed with the window reason, before the policy applies."""
    result = plan(times("08:00", "09:00", "10:00", "11:00"), now=now, policy=policy, window_seconds=7200)

    assert result.run == run
    assert result.missed == missed_


@pytest.mark.parametrize("policy", POLICIES)
def test_every_due_occurrence_older_than_the_window(policy: CatchupPolicy) -> None:
    """When the window excludes everything, nothing runs and all are missed with the window reason."""
    result = plan(times("08:00", "09:00"), now="12:00", policy=policy, window_seconds=3600)

    assert result.run == []
    assert result.missed == missed(MISSED_WINDOW, "08:00", "09:00")


@pytest.mark.parametrize("policy", POLICIES)
def test_occurrence_exactly_window_old_is_kept(policy: CatchupPolicy) -> None:
    """An occurrence exactly as old as the window is not older than it, so it is not window-missed."""
    result = plan(times("09:00"), now="10:00", policy=policy, window_seconds=3600, grace=timedelta(hours=2))

    assert result.run == times("09:00")
    assert result.missed == []


@pytest.mark.parametrize(
    ("now", "grace_seconds", "runs"),
    [
        pytest.param("11:00", 0, True, id="zero-grace-exactly-on-time"),
        pytest.param("11:00:01", 0, False, id="zero-grace-one-second-late"),
        pytest.param("11:00:59", 60, True, id="inside-grace"),
        pytest.param("11:01", 60, True, id="exactly-grace"),
        pytest.param("11:01:01", 60, False, id="one-second-past-grace"),
    ],
)
def test_skip_grace_boundary(now: str, grace_seconds: int, runs: bool) -> None:
    """Under skip, lateness equal to the grace is still on time; one second more is missed."""
    result = plan(times("10:00", "11:00"), now=now, policy="skip", grace=timedelta(seconds=grace_seconds))

    assert result.run == (times("11:00") if runs else [])
    expected_missed = missed(MISSED_SKIP, "10:00") + ([] if runs else missed(MISSED_SKIP, "11:00"))
    assert result.missed == expected_missed


@pytest.mark.parametrize(
    ("policy", "run", "missed_"),
    [
        pytest.param("skip", [], missed(MISSED_SKIP, "11:00"), id="skip"),
        pytest.param("latest", times("11:00"), [], id="latest"),
        pytest.param("all", times("11:00"), [], id="all"),
    ],
)
def test_single_late_occurrence(
    policy: CatchupPolicy, run: list[datetime], missed_: list[tuple[datetime, str]]
) -> None:
    """One occurrence two hours late: only skip judges lateness, latest and all still run it."""
    result = plan(times("11:00"), now="13:00", policy=policy)

    assert result.run == run
    assert result.missed == missed_


@pytest.mark.parametrize(
    ("delay", "runs"),
    [
        # now is 11:30; the jittered firing instant is 11:00 + delay.
        pytest.param(timedelta(0), False, id="no-delay-30-min-late"),
        pytest.param(timedelta(minutes=28), False, id="fires-11:28-two-min-late"),
        pytest.param(timedelta(minutes=29), True, id="fires-11:29-exactly-grace"),
        pytest.param(timedelta(minutes=29, seconds=30), True, id="fires-11:29:30-within-grace"),
    ],
)
def test_skip_judges_grace_at_the_jittered_instant(delay: timedelta, runs: bool) -> None:
    """Lateness under skip is measured from fire_at(occurrence), not from the occurrence itself."""
    seen: list[datetime] = []

    def fire_at(occurrence: datetime) -> datetime:
        seen.append(occurrence)
        return occurrence + delay

    result = plan(times("10:00", "11:00"), now="11:30", policy="skip", fire_at=fire_at)

    assert result.run == (times("11:00") if runs else [])
    assert result.missed == missed(MISSED_SKIP, "10:00") + ([] if runs else missed(MISSED_SKIP, "11:00"))
    assert set(seen) == {at("11:00")}


def test_skip_runs_newest_whose_jittered_instant_is_still_ahead() -> None:
    """A firing instant after ``now`` is not late at all (negative lateness), so skip runs it now."""
    result = plan(
        times("10:00", "11:00"), now="11:30", policy="skip", fire_at=lambda t: t + timedelta(minutes=45)
    )

    assert result.run == times("11:00")
    assert result.missed == missed(MISSED_SKIP, "10:00")


@pytest.mark.parametrize("policy", POLICIES)
def test_input_list_is_left_alone(policy: CatchupPolicy) -> None:
    """Planning neither reorders nor shortens the caller's list of due occurrences."""
    due = times("08:00", "09:00", "10:00", "11:00")

    plan(due, now="11:05", policy=policy, window_seconds=7200)

    assert due == times("08:00", "09:00", "10:00", "11:00")
