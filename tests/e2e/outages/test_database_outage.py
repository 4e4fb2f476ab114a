"""The database goes away for a while, with the whole stack running: nothing is lost, nothing runs twice.

Two ways, one per database, each ``RQFLOW_OUTAGE_SECONDS`` long (12 s by default, 30 s in
the long run):

- **PostgreSQL stopped** (``pg_ctl stop -m fast``: every connection cut) and started again,
  on a server of the test's own;
- **SQLite's write lock held** by another process (``BEGIN IMMEDIATE``).

Three 1-second interval schedules run meanwhile, one per catch-up policy (``skip``,
``latest``, ``all``), with overlap policy ``allow`` so that what becomes of each occurrence
is decided by the catch-up policy alone (the overlap policies have their own scenario).

What must hold:

- **the API answers 503**, not 500 and not a hang, to every request during the outage (a
  list, a create, ``/readyz``), each within ``ANSWER_BOUND_SECONDS`` (the API's database
  timeout of 10 s plus 5 s of slack); once the database is back it answers 200 again;
- **the scheduler and both workers stay alive** throughout: they wait (a background
  process waits up to 60 s for SQLite's lock and keeps reconnecting to PostgreSQL for up
  to 60 s) and carry on;
- **the ledger** (:mod:`tests.e2e.outages.ledger`): none lost, none duplicated, none
  stuck (every row final within ``RECOVERY_BOUND_SECONDS`` of the recovery, well inside
  the issue's bound of the job timeout, 600 s, plus one reconcile period); the
  occurrences due during the outage are caught up in one
  transaction after it, by each schedule's policy. The first occurrence after the fault
  may be claimed on its own (its claim started as the fault began); every later one
  until the end of the outage is in the catch-up batch. A run in flight when the fault
  struck may end ``failed`` (its side effect could not be written); no other may.

Why the first occurrence is exempt: the worker reads the clock *before* its claim waits
for the database (``jobs/tasks.py`` passes ``now=utcnow()`` into a transaction that has
not begun yet), so a claim that started as the fault began gets through after it with
that early instant: it sees only its own occurrence as due, runs it outside the catch-up
policy, and records the early instant as the row's ``created_at`` and ``started_at``.
Only one claim per schedule can be in that state (the next timer is armed by its
commit), and its occurrence is at most about a second after the fault.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from rqflow.models import utcnow
from tests.e2e.conftest import LiveSchedule, Stack
from tests.e2e.outages.conftest import OUTAGE_SECONDS
from tests.e2e.outages.faults import PostgresServer, SqliteLockHolder
from tests.e2e.outages.ledger import (
    Figures,
    batch_over,
    check_ledger,
    describe,
    interval_instants,
    report,
    seconds,
)
from tests.e2e.outages.probe import ANSWER_BOUND_SECONDS, HANG_SECONDS, Answer, ApiProbe, ApiUser, api_user
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

POLICIES = ("skip", "latest", "all")
WORKERS = 2
BEFORE = 2  # succeeded occurrences of each schedule before the fault
AFTER = 2  # succeeded occurrences of each schedule after it
# The first occurrence after the fault may still be claimed on its own (see the module docstring).
FIRST_SECONDS_EXEMPT = timedelta(seconds=1.5)
# After the fault is removed, the stack must be back to normal (every schedule firing, every row final) this soon.
RECOVERY_BOUND_SECONDS = 60.0


def start_stack(stack: Stack) -> tuple[str, list[LiveSchedule]]:
    """Scheduler, workers and web up; one schedule per catch-up policy, each with a few runs behind it."""
    stack.start_scheduler()
    for _ in range(WORKERS):
        stack.start_worker()
    base = stack.start_web()
    stack.wait_leader()
    stack.wait_workers(WORKERS)
    schedules = [stack.create_interval_schedule(1, catchup_policy=policy, overlap_policy="allow")
                 for policy in POLICIES]
    for schedule in schedules:
        stack.wait_succeeded(schedule, BEFORE)
    return base, schedules


def hold(stack: Stack, length: float) -> None:
    """Let ``length`` seconds pass, checking all along that every process stays up."""
    deadline = time.monotonic() + length
    while time.monotonic() < deadline:
        stack.assert_running()
        time.sleep(0.2)


def recover(stack: Stack, base: str, user: ApiUser, schedules: list[LiveSchedule],
            healed_at: datetime) -> tuple[float, float]:
    """Seconds until the API answers 200 again, and until every schedule has run an occurrence due since."""
    started = time.monotonic()
    with httpx.Client(base_url=base, headers=user.headers, timeout=HANG_SECONDS) as client:

        def api_back() -> bool:
            try:
                return client.get("/api/v1/schedules").status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(api_back, timeout=RECOVERY_BOUND_SECONDS, interval=0.2, what="the API to answer 200 again")
    api_seconds = time.monotonic() - started
    for schedule in schedules:
        stack.wait_succeeded(schedule, 1, after=healed_at, timeout=RECOVERY_BOUND_SECONDS,
                             what=f"{schedule.id} to fire again after the outage")
    return api_seconds, time.monotonic() - started


def check_answers(answers: list[Answer], healing: float) -> tuple[list[Answer], list[Answer]]:
    """503 for every request answered during the outage, 503 or success for one answered as it ended; all in time."""
    during = [a for a in answers if a.ended <= healing]
    straddling = [a for a in answers if a.ended > healing]
    assert during, "no API request was answered during the outage"
    wrong = [a for a in during if a.status != 503]
    assert not wrong, f"during the outage every request must answer 503: {wrong}"
    wrong = [a for a in straddling if a.status != 503 and not (a.status is not None and 200 <= a.status < 300)]
    assert not wrong, f"a request in flight as the outage ended must answer 503 or succeed: {wrong}"
    slow = [a for a in during + straddling if a.seconds > ANSWER_BOUND_SECONDS]
    assert not slow, f"answers slower than {ANSWER_BOUND_SECONDS} s (a hang, not a 503): {slow}"
    return during, straddling


def outage_scenario(stack: Stack, *, database: str, injected: str, inject: Callable[[], None],
                    heal: Callable[[], None]) -> None:
    """Run the stack, inject the fault for OUTAGE_SECONDS while probing the API, heal it, check everything."""
    base, schedules = start_stack(stack)
    user = api_user(stack)
    probe = ApiProbe(base, user, schedules[0].workflow_id)
    broke_at = utcnow()
    inject()
    try:
        probe.start()
        hold(stack, OUTAGE_SECONDS)
    finally:
        healing = time.monotonic()
        heal()
    healed_at = utcnow()
    during, straddling = check_answers(probe.stop(), healing)
    api_seconds, recovery_seconds = recover(stack, base, user, schedules, healed_at)
    stack.assert_running()

    for schedule in schedules:
        stack.wait_succeeded(schedule, AFTER, after=healed_at, timeout=RECOVERY_BOUND_SECONDS)
    for proc in [p for p in stack.procs if p.name.startswith("scheduler")]:
        stack.stop(proc)
    totals = Figures()
    caught_up = []
    for schedule, policy in zip(schedules, POLICIES, strict=True):
        runs = stack.quiesce(schedule.id, schedule.interval, timeout=RECOVERY_BOUND_SECONDS)
        figures = check_ledger(stack, schedule, runs, policy=policy)
        due = interval_instants(schedule, broke_at + FIRST_SECONDS_EXEMPT, healed_at)
        batch = batch_over(figures.batches, due[0], due[-1])
        in_batch = {r.scheduled_for for r in batch}
        assert set(due) <= in_batch, f"{policy}: outage occurrences outside the catch-up: {describe(batch)}"
        failed = [r for r in runs if r.status == "failed"
                  and not (r.started_at is not None and r.started_at <= broke_at + FIRST_SECONDS_EXEMPT)]
        assert not failed, f"{policy}: runs failed that were not in flight when the fault struck: {describe(failed)}"
        totals.add(figures)
        caught_up.append({"policy": policy, "batch": len(batch),
                          "batch_statuses": dict(Counter(r.status for r in batch)),
                          "caught_up_after_s": seconds(batch[0].created_at - healed_at),
                          "other_batch_sizes": [len(b) for b in figures.batches if b is not batch]})

    report(
        scenario="database outage", database=database, injected=injected, figures=totals,
        outage_seconds=OUTAGE_SECONDS,
        api_requests=len(during), api_statuses=dict(Counter(a.status for a in during)),
        api_in_flight_at_recovery=[a.status for a in straddling],
        api_slowest_answer_s=round(max(a.seconds for a in during + straddling), 2),
        api_answer_bound_s=ANSWER_BOUND_SECONDS, api_recovery_s=round(api_seconds, 2),
        recovery_s=round(recovery_seconds, 2), catch_up=caught_up,
        workers_alive=all(p.alive() for p in stack.procs if p.name.startswith("worker")),
    )


def test_postgres_stopped_then_started(stack: Stack, outage_postgres: str, postgres_server: PostgresServer) -> None:
    """PostgreSQL stopped for the outage (every connection cut), then started again."""
    outage_scenario(stack, database="postgres", injected=f"pg_ctl stop -m fast for {OUTAGE_SECONDS:g} s, then start",
                    inject=postgres_server.stop, heal=postgres_server.start)


def test_sqlite_write_lock_held_by_another_process(stack: Stack) -> None:
    """Another process holds SQLite's write lock (BEGIN IMMEDIATE) for the outage, then rolls back."""
    path = stack.database_url.removeprefix("sqlite:///")
    holders: list[SqliteLockHolder] = []

    def take() -> None:
        holders.append(SqliteLockHolder(Path(path)))

    def release() -> None:
        for holder in holders:
            holder.release()

    try:
        outage_scenario(stack, database="sqlite",
                        injected=f"BEGIN IMMEDIATE held by another process for {OUTAGE_SECONDS:g} s",
                        inject=take, heal=release)
    finally:
        for holder in holders:
            holder.kill()
