"""The scheduler's wall clock jumps an hour, then comes right again (libfaketime on the scheduler process only).

**Whose clock counts.** Only the scheduler runs under libfaketime (its monotonic clock stays
real, as when a real wall clock is stepped). The workers, Redis and the database server keep
real time. rqflow never asks PostgreSQL or SQLite for the time: every instant in the ledger
is the clock of the Python process that wrote the row. So:

- a **worker** decides, by its own (real) clock, which occurrences are due when it claims one,
  and stamps ``created_at``/``started_at``/``finished_at`` of the rows it writes;
- the **scheduler** decides, by its own (jumped) clock, when a timer is due (its tick compares
  the timers' scores with ``time.time()``) and which schedule is overdue (its reconcile pass
  applies the catch-up policy to a schedule whose ``next_run_at`` is older than the misfire
  grace), and stamps the rows that pass writes;
- the lease and the reconcile period use Redis's TTLs and the monotonic clock: no jump affects them.

**What must hold**, whichever way the clock jumps, since only the scheduler's clock is wrong:

- no occurrence runs twice (the side-effect table, which has no unique key, holds each at most once);
- none is lost: every occurrence from the first to the last has a ledger row;
- none runs before its time: a side effect is recorded (by the worker's real clock) no earlier
  than its occurrence, less ``EARLY_TOLERANCE``;
- the ledger holds no row for an occurrence still in the future (by real time) at the end;
- an occurrence not run is ``missed`` only as part of a catch-up batch that follows the
  schedule's policy (``latest`` runs the newest, ``all`` runs every one);
- the schedules fire again within ``RECOVERY_BOUND_SECONDS`` of the clock coming right.

**Set back an hour**: the scheduler finds no timer due and no schedule overdue, so nothing new
fires while its clock is behind (what was already on the queue still runs). Once its clock is
right it moves the waiting timer, and the worker claiming it finds every occurrence of the
stall due: one catch-up batch, by the policy, exactly as after scheduler downtime. This holds.

**Set forward an hour**: nothing is due early, so nothing may change. The scheduler takes
"now" from the clock it shares with every other scheduler (Redis ``TIME``), not from its own,
so its timers, its overdue detection and its auto-resume ignore the jump. (Before it did,
each schedule ran ahead of real time and the reconcile pass recorded an hour of future
occurrences as ``missed``.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from rqflow.models import ScheduleRun, utcnow
from tests.e2e.conftest import FINAL_STATUSES, LiveSchedule, Stack
from tests.e2e.outages.conftest import OUTAGE_SECONDS
from tests.e2e.outages.faults import FakeClock
from tests.e2e.outages.ledger import (
    Figures,
    check_ledger,
    database_label,
    describe,
    effect_times,
    measure,
    report,
    seconds,
)

pytestmark = pytest.mark.e2e

POLICIES = ("latest", "all")
WORKERS = 2
BEFORE = 2
JUMP_SECONDS = 3600
# The clock stays jumped this long (the outage length: 12 s by default, 30 s in the long run).
HOLD_SECONDS = OUTAGE_SECONDS
# Timers are scored in whole seconds and these schedules' occurrences fall on whole seconds,
# so a run is never early by design; this much is clock noise between processes.
EARLY_TOLERANCE = timedelta(seconds=0.5)
# An occurrence may be claimed (and get its row) this long before real time reaches it.
FUTURE_TOLERANCE = timedelta(seconds=2)
RECOVERY_BOUND_SECONDS = 20.0
SETTLE_SECONDS = 20.0


@dataclass
class Ledger:
    """One schedule's ledger at the end, with the runs that came early and the rows for future occurrences."""

    schedule: LiveSchedule
    policy: str
    runs: list[ScheduleRun]
    early: list[tuple[datetime, datetime]]
    future: list[ScheduleRun]


def hold(stack: Stack, length: float) -> None:
    deadline = time.monotonic() + length
    while time.monotonic() < deadline:
        stack.assert_running()
        time.sleep(0.2)


def settle(stack: Stack, schedule: LiveSchedule, deadline: float) -> list[ScheduleRun]:
    """With the scheduler stopped, wait (until ``deadline``) for every row of the schedule to be final.

    Past the deadline the ledger is taken as it is: rows still in flight then fail the
    ledger check, after the figures are reported.
    """
    while True:
        stack.assert_running()
        runs = stack.runs(schedule.id)
        if (runs and all(r.status in FINAL_STATUSES for r in runs)) or time.monotonic() > deadline:
            return runs
        time.sleep(0.25)


def recovery(stack: Stack, schedules: list[LiveSchedule], righted_at: datetime) -> dict[str, float | None]:
    """Seconds until each schedule has run an occurrence due after the clock came right (None: not in time)."""
    recovered: dict[str, float | None] = {}
    deadline = time.monotonic() + RECOVERY_BOUND_SECONDS
    while len(recovered) < len(schedules) and time.monotonic() < deadline:
        stack.assert_running()
        now = utcnow()
        for schedule in schedules:
            if schedule.id not in recovered and any(
                    righted_at + timedelta(seconds=1) < r.scheduled_for <= now for r in stack.succeeded(schedule.id)):
                recovered[schedule.id] = seconds(now - righted_at)
        time.sleep(0.25)
    return {schedule.id: recovered.get(schedule.id) for schedule in schedules}


def clock_scenario(stack: Stack, tmp_path: Path, database_url: str, offset: int) -> None:
    """Run with the scheduler's clock right, jump it by ``offset`` for HOLD_SECONDS, set it right, check."""
    clock = FakeClock(tmp_path)
    scheduler = stack.start_scheduler(env=clock.env)
    for _ in range(WORKERS):
        stack.start_worker()
    stack.wait_leader(scheduler)
    stack.wait_workers(WORKERS)
    schedules = [stack.create_interval_schedule(1, catchup_policy=policy, overlap_policy="allow")
                 for policy in POLICIES]
    for schedule in schedules:
        stack.wait_succeeded(schedule, BEFORE)

    clock.set_offset(offset)
    hold(stack, HOLD_SECONDS)
    clock.set_offset(0)
    righted_at = utcnow()
    recovered = recovery(stack, schedules, righted_at)
    stack.assert_running()
    stack.stop(scheduler)
    deadline = time.monotonic() + SETTLE_SECONDS

    totals = Figures()
    ledgers: list[Ledger] = []
    for schedule, policy in zip(schedules, POLICIES, strict=True):
        runs = settle(stack, schedule, deadline)
        totals.add(measure(stack, schedule, runs))
        now = utcnow()
        early = [(when, at) for when, at in effect_times(stack.database_url, schedule.id)
                 if at < when - EARLY_TOLERANCE]
        future = [r for r in runs if r.scheduled_for > now + FUTURE_TOLERANCE]
        ledgers.append(Ledger(schedule, policy, runs, early, future))

    direction = "forward" if offset > 0 else "back"
    report(
        scenario="scheduler clock jump", database=database_label(database_url),
        injected=f"libfaketime on the scheduler: {offset:+d} s for {HOLD_SECONDS:g} s, then right", figures=totals,
        direction=direction, early_runs=sum(len(ledger.early) for ledger in ledgers),
        future_rows=sum(len(ledger.future) for ledger in ledgers),
        recovery_s=sorted(recovered.values(), key=lambda v: v if v is not None else 1e9),
        catch_up_batch_sizes=[len(batch) for batch in totals.batches],
    )
    for ledger in ledgers:
        policy = ledger.policy
        assert not ledger.future, (f"{policy}: rows for occurrences still in the future: "
                                   f"{describe(ledger.future[:5])} ({len(ledger.future)} in all)")
        assert not ledger.early, (f"{policy}: occurrences run before their time (occurrence, recorded at): "
                                  f"{ledger.early[:5]} ({len(ledger.early)} in all)")
        check_ledger(stack, ledger.schedule, ledger.runs, policy=policy)
        assert recovered[ledger.schedule.id] is not None, (
            f"{policy}: no occurrence ran within {RECOVERY_BOUND_SECONDS} s of the clock coming right")


def test_scheduler_clock_set_back_an_hour_then_right(stack: Stack, database_url: str, tmp_path: Path) -> None:
    clock_scenario(stack, tmp_path, database_url, -JUMP_SECONDS)


def test_scheduler_clock_set_forward_an_hour_then_right(stack: Stack, database_url: str, tmp_path: Path) -> None:
    clock_scenario(stack, tmp_path, database_url, JUMP_SECONDS)
