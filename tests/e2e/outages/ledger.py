"""The ledger checks every fault scenario ends with, and the one line of figures each reports.

For one interval schedule, from its first occurrence to the last one in the ledger:

- **none lost**: every occurrence has a ledger row, whether it ran or was recorded
  ``missed`` or ``skipped`` by a policy;
- **none duplicated**: the side-effect table (no unique key: :mod:`tests.e2e.side_effects`)
  holds at most one row per occurrence, one for each that succeeded, and none for
  an occurrence that did not run;
- **none stuck**: no row is left ``waiting``, ``enqueued`` or ``running`` once the
  scenario has settled (the caller bounds how long settling may take);
- **catch-up**: every group of rows written in one transaction (same ``created_at``)
  with more than one occurrence is a catch-up batch, and follows the schedule's policy
  (:mod:`rqflow.timing.catchup`).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import text

from rqflow.models import ScheduleRun
from rqflow.timing.catchup import MISSED_SKIP, MISSED_SUPERSEDED
from tests.e2e import side_effects
from tests.e2e.books import Figures, catch_up_batches, database_label, describe, report
from tests.e2e.conftest import LiveSchedule, Stack

__all__ = ["FINAL", "RAN", "Figures", "batch_over", "check_batch", "check_ledger", "database_label", "describe",
           "effect_times", "expected_instants", "interval_instants", "measure", "report", "seconds"]

FINAL = {"succeeded", "failed", "skipped", "missed"}
RAN = {"succeeded", "failed"}


def measure(stack: Stack, schedule: LiveSchedule, runs: list[ScheduleRun]) -> Figures:
    """The figures of one schedule's ledger, asserting nothing (a scenario reports them before it checks)."""
    instants = [r.scheduled_for for r in runs]
    expected = expected_instants(schedule, max(instants)) if instants else []
    effects = Counter(when for when, _pid in stack.effects(schedule.id))
    return Figures(expected=len(expected), recorded=len(set(instants)),
                         duplicated=sum(1 for count in effects.values() if count > 1),
                         lost=len(set(expected) - set(instants)), statuses=Counter(r.status for r in runs),
                         batches=catch_up_batches(runs))


def expected_instants(schedule: LiveSchedule, last: datetime) -> list[datetime]:
    """Every occurrence of the schedule from its first to ``last``."""
    count = int((last - schedule.first) / schedule.interval) + 1
    return [schedule.first + k * schedule.interval for k in range(max(count, 0))]


def check_ledger(stack: Stack, schedule: LiveSchedule, runs: list[ScheduleRun], *, policy: str,
                 allowed: set[str] = FINAL) -> Figures:
    """Assert none lost, none duplicated, none stuck, catch-up batches by ``policy``; return the figures."""
    assert runs, f"no ledger row at all for {schedule.id}"
    assert runs[0].scheduled_for == schedule.first, describe(runs[:3])
    figures = measure(stack, schedule, runs)
    instants = [r.scheduled_for for r in runs]
    expected = expected_instants(schedule, instants[-1])
    lost = sorted(set(expected) - set(instants))
    extra = sorted(set(instants) - set(expected))
    stuck = [r for r in runs if r.status not in FINAL]
    effects = Counter(when for when, _pid in stack.effects(schedule.id))
    duplicated = sorted(when for when, count in effects.items() if count > 1)
    assert not duplicated, f"side effect ran more than once for {duplicated}"
    assert not lost, f"occurrences without a ledger row: {lost[:10]} ({len(lost)} in all)"
    assert not extra, f"ledger rows off the schedule's cadence: {extra[:10]}"
    assert not stuck, f"rows still in flight: {describe(stuck)}"
    unexpected = [r for r in runs if r.status not in allowed]
    assert not unexpected, f"statuses outside {sorted(allowed)}: {describe(unexpected)}"
    by_instant = {r.scheduled_for: r for r in runs}
    not_run = sorted(when for when in effects if by_instant[when].status not in RAN)
    assert not not_run, f"side effects of occurrences that did not run: {not_run}"
    silent = [r for r in runs if r.status == "succeeded" and effects[r.scheduled_for] != 1]
    assert not silent, f"succeeded runs without their side effect: {describe(silent)}"
    skipped = [r for r in runs if r.status == "skipped" and not r.reason.startswith("overlap")]
    assert not skipped, f"skipped for a reason other than the overlap policy: {describe(skipped)}"
    for batch in figures.batches:
        check_batch(policy, batch)
    in_batches = {r.id for batch in figures.batches for r in batch}
    loose = [r for r in runs if r.status == "missed" and r.id not in in_batches]
    assert not loose, f"missed outside any catch-up batch: {describe(loose)}"
    return figures


def effect_times(url: str, schedule_id: str) -> list[tuple[datetime, datetime]]:
    """``(scheduled_for, recorded_at)`` of every side effect: when each occurrence really ran, by the worker's clock."""
    with side_effects.engine_for(url).connect() as connection:
        rows = connection.execute(
            text(f"SELECT scheduled_for, recorded_at FROM {side_effects.TABLE} WHERE scheduled_job_id = :sid"),
            {"sid": schedule_id},
        ).all()
    return sorted((datetime.fromisoformat(when), datetime.fromisoformat(at)) for when, at in rows)


def check_batch(policy: str, batch: list[ScheduleRun]) -> None:
    """The catch-up policy over one batch: ``all`` runs every one, ``latest`` the newest, ``skip`` at most the newest.

    Under ``skip`` the newest runs only if it was merely late (within the misfire
    grace); the scenarios run with the default grace of 60 s, longer than any of
    their outages, so the newest always qualifies and ``skip`` differs from
    ``latest`` only in the reason its missed rows give.
    """
    *older, newest = batch
    rows = describe(batch)
    if policy == "all":  # a backlog is an explicit queue: it waits for the slot, never skips
        assert all(r.status in RAN for r in batch), rows
        return
    reason = MISSED_SKIP if policy == "skip" else MISSED_SUPERSEDED
    assert all(r.status == "missed" and r.reason == reason for r in older), rows
    overlapped = newest.status == "skipped" and newest.reason.startswith("overlap")
    assert newest.status in RAN or overlapped, rows


def batch_over(batches: list[list[ScheduleRun]], start: datetime, end: datetime) -> list[ScheduleRun]:
    """The one catch-up batch holding every occurrence in ``[start, end]``; fails if they were split."""
    holding = [batch for batch in batches if any(start <= r.scheduled_for <= end for r in batch)]
    assert len(holding) == 1, (f"occurrences due between {start} and {end} should be caught up in one batch, "
                               f"found {[describe(b) for b in holding]}")
    [batch] = holding
    return batch


def interval_instants(schedule: LiveSchedule, start: datetime, end: datetime) -> list[datetime]:
    """The schedule's occurrences in ``[start, end]``."""
    first = max(0, -(-int((start - schedule.first).total_seconds()) // int(schedule.interval.total_seconds())))
    found = []
    when = schedule.first + first * schedule.interval
    while when <= end:
        if when >= start:
            found.append(when)
        when += schedule.interval
    return found


def seconds(delta: timedelta) -> float:
    return round(delta.total_seconds(), 2)
