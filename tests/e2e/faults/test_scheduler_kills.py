"""The scheduler SIGKILLed at random moments, again and again, and restarted each time.

A kill may land anywhere in a scheduler's life: starting up, waiting for the lease
a killed predecessor still holds, in its first sync, mid-tick, mid-reconcile or
asleep. Two schedules run through it: one every second under the default catch-up
policy (``latest``: a backlog piled up while no scheduler led is recorded
``missed`` but for its newest occurrence), and one every two seconds under ``all``
(every occurrence of a backlog runs, oldest first).
"""

from __future__ import annotations

import random
import time
from datetime import datetime

import pytest

from rqflow.models import utcnow
from tests.e2e.conftest import LEASE_SECONDS, Stack
from tests.e2e.faults import chaos
from tests.e2e.faults.ledger import (
    close_books,
    command,
    database_label,
    ran_or_missed,
    recovery,
    report,
    skipped_by_overlap,
    spread,
    succeeded,
)

pytestmark = pytest.mark.e2e

KILLS = chaos.kills()


@pytest.mark.timeout(chaos.budget(180, 12, KILLS))
def test_scheduler_sigkilled_at_random_moments(stack: Stack, database_url: str, rng: random.Random,
                                               seed: int) -> None:
    started = time.monotonic()
    stack.start_worker()
    scheduler = stack.start_scheduler()
    stack.wait_workers()
    stack.wait_leader(scheduler)
    latest = stack.create_interval_schedule(1)
    every = stack.create_interval_schedule(2, catchup_policy="all")
    stack.wait_succeeded(latest, 2)

    kills: list[datetime] = []
    while_leading = 0
    for _ in range(KILLS):
        time.sleep(rng.uniform(0.2, 5.0))  # a random moment of this scheduler's life, from its start
        while_leading += chaos.leads(scheduler)
        kills.append(utcnow())
        stack.kill(scheduler)
        scheduler = stack.start_scheduler()

    stack.wait_leader(scheduler, timeout=LEASE_SECONDS + 30)
    restarted = utcnow()
    stack.wait_succeeded(latest, 2, after=restarted, what="runs after the last restart")
    stack.wait_succeeded(every, 1, after=restarted, what="runs of the catch-up=all schedule after the last restart")
    stack.stop(scheduler)
    stopped_at = utcnow()

    books, runs = close_books(stack, latest, allowed=[ran_or_missed], stopped_at=stopped_at)
    books.add(close_books(stack, every, allowed=[succeeded, skipped_by_overlap], stopped_at=stopped_at)[0])
    assert books.statuses["succeeded"] >= 4
    database = database_label(database_url)
    report(
        scenario="scheduler SIGKILLed at random moments", database=database,
        injected=f"SIGKILL of the scheduler {KILLS} times, each {0.2}-{5.0} s after its start (seeded), restarted",
        figures=books, faults=KILLS, kills_while_leading=while_leading, seed=seed,
        recovery_seconds=spread(recovery(kills, runs)), duration_seconds=round(time.monotonic() - started),
        command=command("test_scheduler_kills.py", database, seed, KILLS),
    )
