"""Schedulers that die or compete: no occurrence runs twice, none is lost.

"Lost" means an occurrence between the first and the last ledger row without a
row of its own: an occurrence that could not run in time must still be in the
ledger, as ``missed``.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta

import pytest

from rqflow.models import utcnow
from tests.e2e.conftest import (
    LEASE_SECONDS,
    Stack,
    assert_contiguous,
    settle_and_check,
)

pytestmark = pytest.mark.e2e

KILLS = 5


def test_sigkilled_schedulers_neither_duplicate_nor_lose_occurrences(stack: Stack) -> None:
    seed = int(time.time())
    rng = random.Random(seed)
    print(f"\nrandom seed {seed}")
    stack.start_worker()
    scheduler = stack.start_scheduler()
    stack.wait_workers()
    stack.wait_leader(scheduler)
    schedule = stack.create_interval_schedule(1)
    stack.wait_succeeded(schedule, 2)

    for _ in range(KILLS):
        time.sleep(rng.uniform(0.1, 2.5))  # a random moment of the leader's life
        stack.kill(scheduler)
        scheduler = stack.start_scheduler()
        stack.wait_leader(scheduler, timeout=LEASE_SECONDS + 20)

    restarted = utcnow()
    stack.wait_succeeded(schedule, 2, after=restarted, what="occurrences to run after the last restart")
    stack.stop(scheduler)
    runs = settle_and_check(stack, schedule)
    assert sum(r.status == "succeeded" for r in runs) >= 4  # two before the kills, two after the last restart


def test_two_schedulers_then_the_leader_dies(stack: Stack) -> None:
    first, second = stack.start_scheduler(), stack.start_scheduler()
    stack.start_worker()
    stack.wait_workers()
    stack.wait_leader()
    schedule = stack.create_interval_schedule(1)
    stack.wait_succeeded(schedule, 6)

    leaders = [p for p in (first, second) if "is now the leader" in p.log()]
    assert len(leaders) == 1, "exactly one of two schedulers should lead"
    [leader] = leaders
    standby = second if leader is first else first
    assert_contiguous(stack.runs(schedule.id), schedule.interval)
    instants = [when for when, _pid in stack.effects(schedule.id)]
    assert len(instants) == len(set(instants)), f"side effects repeated while two schedulers ran: {instants}"

    stack.kill(leader)
    killed_at = utcnow()
    stack.wait_leader(standby, timeout=LEASE_SECONDS + 10)
    resumed = stack.wait_succeeded(
        schedule, 3, after=killed_at + timedelta(seconds=LEASE_SECONDS),
        what="the standby scheduler to keep the schedule firing after the lease expired",
    )
    assert resumed[0].started_at is not None
    takeover = (resumed[0].started_at - killed_at).total_seconds()
    print(f"\nfirst run after the leader was killed started {takeover:.1f} s after the kill")
    stack.stop(standby)
    settle_and_check(stack, schedule)
