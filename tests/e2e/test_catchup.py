"""Downtime, then a restart: each catch-up policy leaves exactly the ledger it promises.

A 1-second interval schedule runs a few times; the scheduler is stopped (SIGTERM) and
nothing fires while several occurrences come due; a new scheduler starts. Whoever finds
the overdue schedule first (the scheduler's overdue detection on its first reconcile
pass, or a worker claiming the old timer the restart moves to the queue) handles every
due occurrence in one transaction under the schedule's row lock, so the rows of those
occurrences share one ``created_at``: the *catch-up instant*. The test finds that batch
in the ledger and checks it against the policy (:mod:`rqflow.timing.catchup`):

- ``skip``: only the future; every occurrence of the batch is ``missed``, except that the
  newest one still runs if it was merely late (within the misfire grace of the catch-up
  instant). The grace is 0.5 s here, so "late" is unambiguous and computed, not guessed.
- ``latest``: the newest occurrence of the batch runs once; the older ones are ``missed``.
- ``all``: every occurrence of the batch runs, oldest first.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime, timedelta

import pytest

from rqflow.models import ScheduleRun, utcnow
from rqflow.timing.catchup import MISSED_SKIP, MISSED_SUPERSEDED
from tests.e2e.conftest import LEASE_SECONDS, LiveSchedule, Stack, assert_contiguous, assert_effects_once
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

INTERVAL = 1
GRACE_SECONDS = 0.5
BEFORE = 3  # succeeded occurrences before the scheduler stops
STRETCH = 5  # at least this many occurrences are late when the new scheduler catches up
AFTER = 2  # succeeded occurrences after the catch-up, to show the schedule carries on
# The new scheduler starts this long after an occurrence (a fraction of the interval).
RESTART_PHASE_SECONDS = 0.2
# The statuses an occurrence outside the batch may end with: on time, claimed late, or overlapping
# a catch-up run that still held the slot (the default overlap policy skips it).
OUTSIDE_BATCH = {"succeeded", "missed", "skipped"}


def describe(runs: list[ScheduleRun]) -> list[tuple[str, str, str, str]]:
    """The rows, readable in an assertion message."""
    return [(r.scheduled_for.strftime("%H:%M:%S"), r.status, r.reason, r.created_at.strftime("%H:%M:%S.%f"))
            for r in runs]


def wait_until(instant: datetime, stack: Stack, what: str) -> None:
    """Let time pass until ``instant`` (wall clock), checking the processes that should run stay up."""
    budget = max(0.0, (instant - utcnow()).total_seconds()) + 10

    def passed() -> bool:
        stack.assert_running()
        return utcnow() >= instant

    wait_for(passed, timeout=budget, interval=0.05, what=what)


def catch_up_batch(runs: list[ScheduleRun], resumed_from: datetime) -> list[ScheduleRun]:
    """The rows written by the catch-up: the transaction that recorded ``resumed_from`` wrote them all."""
    [first] = [r for r in runs if r.scheduled_for == resumed_from]
    return [r for r in runs if r.created_at == first.created_at]


def check_batch(policy: str, batch: list[ScheduleRun], caught_up_at: datetime) -> None:
    """The catch-up policy, applied to the occurrences that were due at the catch-up instant."""
    grace = timedelta(seconds=GRACE_SECONDS)
    *older, newest = batch
    rows = describe(batch)
    if policy == "skip":
        assert all(r.status == "missed" and r.reason == MISSED_SKIP for r in older), rows
        if caught_up_at - newest.scheduled_for > grace:
            assert (newest.status, newest.reason) == ("missed", MISSED_SKIP), rows
        else:  # merely late: within the grace, so it still runs
            assert newest.status == "succeeded", rows
    elif policy == "latest":
        assert all(r.status == "missed" and r.reason == MISSED_SUPERSEDED for r in older), rows
        assert newest.status == "succeeded", rows
    else:
        assert all(r.status == "succeeded" for r in batch), rows
        started = [r.started_at for r in batch if r.started_at is not None]
        assert len(started) == len(batch), rows
        assert all(a <= b for a, b in itertools.pairwise(started)), (
            f"the backlog did not run oldest first: {[(r.scheduled_for, r.started_at) for r in batch]}")


@pytest.mark.parametrize("policy", ["skip", "latest", "all"])
def test_catchup_policy_after_scheduler_downtime(stack: Stack, database_url: str, policy: str) -> None:
    """Stop the scheduler for a stretch of occurrences, restart it, and check the ledger against ``policy``."""
    stack.env["RQFLOW_MISFIRE_GRACE_SECONDS"] = str(GRACE_SECONDS)
    scheduler = stack.start_scheduler()
    stack.start_worker()
    stack.wait_leader(scheduler)
    stack.wait_workers()
    schedule: LiveSchedule = stack.create_interval_schedule(INTERVAL, catchup_policy=policy)
    assert stack.row(schedule.id).catchup_policy == policy
    stack.wait_succeeded(schedule, BEFORE)

    # Down: nothing moves timers any more; what is on the queue finishes and arms the next timer.
    stack.stop(scheduler)
    before = stack.quiesce(schedule.id, schedule.interval)
    resumed_from = before[-1].scheduled_for + schedule.interval
    assert stack.row(schedule.id).next_run_at == resumed_from
    # STRETCH occurrences are over a second late by then, and the new scheduler (which takes about half a
    # second to start here) most likely catches up when the next one is late too. Whichever way the timing
    # falls, the checks below follow from the catch-up instant actually recorded.
    restart_at = resumed_from + STRETCH * schedule.interval + timedelta(seconds=RESTART_PHASE_SECONDS)
    wait_until(restart_at, stack, f"{STRETCH} occurrences to come due while no scheduler runs")
    assert [(r.scheduled_for, r.status) for r in stack.runs(schedule.id)] == [
        (r.scheduled_for, r.status) for r in before], "something ran while no scheduler was up"

    # Up again: the overdue schedule is caught up, then it carries on.
    restarted_at = utcnow()
    scheduler = stack.start_scheduler()
    stack.wait_leader(scheduler, timeout=LEASE_SECONDS + 30)

    def caught_up() -> datetime | None:
        stack.assert_running()
        return next((r.created_at for r in stack.runs(schedule.id) if r.scheduled_for == resumed_from), None)

    found = wait_for(caught_up, timeout=30, interval=0.1, what="the restarted stack to catch up")
    assert found is not None
    caught_up_at: datetime = found
    stack.wait_succeeded(schedule, AFTER, after=caught_up_at, what="the schedule to fire again after the restart")
    stack.stop(scheduler)
    runs = stack.quiesce(schedule.id, schedule.interval)

    # The whole ledger: one row per occurrence, from the first, and the side effects of exactly the succeeded ones.
    assert runs[0].scheduled_for == schedule.first
    assert_contiguous(runs, schedule.interval)
    assert [(r.scheduled_for, r.status) for r in runs[:len(before)]] == [
        (r.scheduled_for, r.status) for r in before]
    assert_effects_once(stack.effects(schedule.id), runs)
    missed = [r for r in runs if r.status == "missed"]
    assert stack.row(schedule.id).missed_count == len(missed), describe(runs)

    # The batch: exactly the occurrences due at the catch-up instant, from the first one after the stop.
    batch = catch_up_batch(runs, resumed_from)
    due = [r for r in runs if resumed_from <= r.scheduled_for <= caught_up_at]
    assert [r.id for r in batch] == [r.id for r in due], describe(runs)
    late = [r for r in batch if caught_up_at - r.scheduled_for > timedelta(seconds=GRACE_SECONDS)]
    assert len(late) >= STRETCH, describe(batch)
    check_batch(policy, batch, caught_up_at)

    # Outside the batch: the schedule's ordinary life (a claim that came late may be missed under skip/latest;
    # an occurrence arriving while a catch-up run holds the slot is skipped by the default overlap policy).
    in_batch = {r.id for r in batch}
    outside = [r for r in runs if r.id not in in_batch]
    assert {r.status for r in outside} <= OUTSIDE_BATCH, describe(outside)
    assert all(r.reason.startswith("overlap") for r in outside if r.status == "skipped"), describe(outside)
    if policy == "all":
        assert not missed, describe(runs)
    after = [r for r in runs if r.scheduled_for > caught_up_at]
    assert sum(r.status == "succeeded" for r in after) >= AFTER

    overdue = f"schedule {schedule.id} was overdue"
    found_by = "the scheduler's overdue detection" if overdue in scheduler.log() else "a worker's claim"
    batch_counts = Counter(r.status for r in batch)
    newest_lateness = (caught_up_at - batch[-1].scheduled_for).total_seconds()
    print(f"\n[{policy}, {database_url.split(':')[0]}] ledger {dict(Counter(r.status for r in runs))} over "
          f"{len(runs)} occurrences; before the stop {len(before)}; catch-up batch of {len(batch)} "
          f"({len(late)} late, newest {newest_lateness:.2f} s old at the catch-up): {dict(batch_counts)}; "
          f"after it {dict(Counter(r.status for r in after))}; missed_count {len(missed)}; caught up "
          f"{(caught_up_at - restarted_at).total_seconds():.2f} s after the new scheduler was started, "
          f"by {found_by}")
