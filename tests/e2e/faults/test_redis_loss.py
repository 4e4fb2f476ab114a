"""Redis loses everything: restarted without persistence (SIGKILL, started again empty on the same port), or FLUSHALL.

Redis only holds timers and queued jobs; the database is the source of truth. Besides
one schedule firing every second, twenty idle schedules (hourly, so no worker ever
arms their timers) sit in the database: only the scheduler's reconcile pass can
bring their timers back. Every active schedule must be re-armed within one
reconcile period (plus a poll and a second of slack) of Redis coming back, the
busy schedule must fire again, and the books must close as always. A fault lands
at a random phase of the reconcile period (seeded).
"""

from __future__ import annotations

import random
import time
from datetime import datetime

import pytest

from rqflow.broker.timers import armed
from rqflow.job_ids import fire_job_id
from rqflow.models import utcnow
from tests.e2e.conftest import POLL_SECONDS, RECONCILE_SECONDS, LiveSchedule, Stack
from tests.e2e.faults import chaos
from tests.e2e.faults.chaos import RedisServer
from tests.e2e.faults.ledger import (
    close_books,
    command,
    database_label,
    ran_or_missed,
    recovery,
    report,
    spread,
)
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

FAULTS = chaos.scaled(10)
IDLE_SCHEDULES = 20
# Beyond one reconcile period: a poll, the scheduler's one-second back-off after a failed pass, slack.
SLACK_SECONDS = POLL_SECONDS + 1.0 + 1.0


def all_armed(stack: Stack, idle: list[LiveSchedule]) -> bool:
    """Every idle schedule's timer is back in rq-scheduler's set (their next occurrence never moves)."""
    timers = armed(stack.redis)
    return all(fire_job_id(s.id, s.first) in timers for s in idle)


def lose_redis(kind: str, stack: Stack, server: RedisServer) -> None:
    """Take everything Redis held away."""
    if kind == "restart":
        server.crash()
        server.start()
    else:
        stack.redis.flushall()


@pytest.mark.parametrize("kind", ["restart", "flushall"])
@pytest.mark.timeout(chaos.budget(120, 30, FAULTS))
def test_every_active_schedule_is_rearmed_within_one_reconcile_period(
    stack: Stack, database_url: str, redis_server: RedisServer, kind: str, rng: random.Random, seed: int
) -> None:
    began = time.monotonic()
    scheduler = stack.start_scheduler()
    stack.start_worker()
    stack.wait_leader(scheduler)
    stack.wait_workers()
    busy = stack.create_interval_schedule(1)
    idle = [stack.create_interval_schedule(3600) for _ in range(IDLE_SCHEDULES)]
    wait_for(lambda: all_armed(stack, idle), timeout=RECONCILE_SECONDS + SLACK_SECONDS, what="idle timers armed")
    stack.wait_succeeded(busy, 3)

    back: list[datetime] = []
    rearmed: list[float] = []
    for _ in range(FAULTS):
        time.sleep(rng.uniform(0.0, RECONCILE_SECONDS))  # a random phase of the reconcile period
        lose_redis(kind, stack, redis_server)
        back_at = utcnow()
        back.append(back_at)
        assert not all_armed(stack, idle)
        wait_for(lambda: all_armed(stack, idle), timeout=RECONCILE_SECONDS + SLACK_SECONDS, interval=0.05,
                 what=f"all {IDLE_SCHEDULES} idle schedules re-armed within one reconcile period")
        rearmed.append((utcnow() - back_at).total_seconds())
        stack.wait_succeeded(busy, 2, after=back_at, timeout=RECONCILE_SECONDS + SLACK_SECONDS + 10,
                             what="the busy schedule to fire again")

    stack.stop(scheduler)
    books, runs = close_books(stack, busy, allowed=[ran_or_missed], stopped_at=utcnow())
    assert all(stack.row(s.id).next_run_at == s.first for s in idle), "idle schedules never moved"
    database = database_label(database_url)
    injected = ("redis-server SIGKILLed (no persistence) and started again empty on the same port"
                if kind == "restart" else "FLUSHALL")
    report(
        scenario=f"Redis {'restarted without persistence' if kind == 'restart' else 'FLUSHALL'}",
        database=database, injected=f"{injected} at a random phase of the reconcile period, {FAULTS} times",
        figures=books, faults=FAULTS, active_schedules=IDLE_SCHEDULES + 1, seed=seed,
        rearmed_seconds=spread(rearmed), recovery_seconds=spread(recovery(back, runs)),
        recovery_measures="Redis back -> all timers re-armed (rearmed_seconds); -> next run started (recovery)",
        reconcile_seconds=RECONCILE_SECONDS, duration_seconds=round(time.monotonic() - began),
        command=command("test_redis_loss.py", f"'{database} and {kind}'", seed, chaos.kills()),
    )
