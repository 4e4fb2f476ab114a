"""Two or three schedulers at once; the leader frozen (SIGSTOP) long past its lease, then woken (SIGCONT).

While it is frozen a standby takes the lease and the schedule keeps firing. Woken,
the stale leader still believes it leads until its next look at the lease, and
may be in the middle of a tick with due timers fetched that the new leader has
since moved. The tick is fenced by the lease (``Lease.fence``), so it moves
nothing; the test checks from the workers' own logs that no job was ever
delivered twice, besides the ledger and the side effects.
"""

from __future__ import annotations

import os
import random
import signal
import time
from datetime import datetime, timedelta

import pytest

from rqflow.models import utcnow
from tests.e2e.conftest import LEASE_SECONDS, POLL_SECONDS, LiveSchedule, Proc, Stack
from tests.e2e.faults import chaos
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

FREEZES = chaos.scaled(10)


def freeze(stack: Stack, schedulers: list[Proc], schedule: LiveSchedule, rng: random.Random) -> tuple[datetime, float]:
    """Freeze the leader at a random moment for 2-3 leases, see a standby take over, wake it; return (frozen at, s)."""
    time.sleep(rng.uniform(0.0, 1.0))  # a random moment of the leader's loop
    frozen = wait_for(lambda: chaos.leader(schedulers), timeout=LEASE_SECONDS + 20, what="one leading scheduler")
    led_before = {p.name: p.log().count(chaos.LEADS) for p in schedulers}
    stepped_down = frozen.log().count(chaos.STEPS_DOWN)
    hold = rng.uniform(2.0, 3.0) * LEASE_SECONDS
    os.kill(frozen.pid, signal.SIGSTOP)
    frozen_at = utcnow()
    try:
        wait_for(lambda: any(p.log().count(chaos.LEADS) > led_before[p.name] for p in schedulers if p is not frozen),
                 timeout=LEASE_SECONDS + 2 * POLL_SECONDS + 10, interval=0.1, what="a standby to take the lease")
        stack.wait_succeeded(schedule, 1, after=frozen_at + timedelta(seconds=LEASE_SECONDS),
                             timeout=hold + 20, what="the new leader to keep the schedule firing")
        time.sleep(max(0.0, hold - (utcnow() - frozen_at).total_seconds()))
    finally:
        os.kill(frozen.pid, signal.SIGCONT)
    wait_for(lambda: frozen.log().count(chaos.STEPS_DOWN) > stepped_down, timeout=20, interval=0.1,
             what=f"the woken {frozen.name} to find its lease gone and stand by")
    return frozen_at, hold


@pytest.mark.parametrize("count", [2, 3], ids=["2-schedulers", "3-schedulers"])
@pytest.mark.timeout(chaos.budget(150, 40, FREEZES))
def test_frozen_leader_wakes_up_and_enqueues_nothing_twice(stack: Stack, database_url: str, count: int,
                                                           rng: random.Random, seed: int) -> None:
    started = time.monotonic()
    schedulers = [stack.start_scheduler() for _ in range(count)]
    stack.start_worker()
    stack.wait_workers()
    stack.wait_leader()
    schedule = stack.create_interval_schedule(1)
    stack.wait_succeeded(schedule, 3)
    assert sum(chaos.leads(p) for p in schedulers) == 1, "exactly one scheduler leads"

    freezes: list[datetime] = []
    holds: list[float] = []
    for _ in range(FREEZES):
        frozen_at, hold = freeze(stack, schedulers, schedule, rng)
        freezes.append(frozen_at)
        holds.append(hold)
        stack.wait_succeeded(schedule, 2, after=utcnow(), what="runs after the frozen scheduler woke")

    for proc in schedulers:
        stack.stop(proc)
    stopped_at = utcnow()
    books, runs = close_books(stack, schedule, allowed=[ran_or_missed], stopped_at=stopped_at)
    delivered = chaos.deliveries([p.log() for p in stack.procs if p.name.startswith("worker")])
    twice = {job_id: n for job_id, n in delivered.items() if n > 1}
    assert not twice, f"jobs delivered more than once: {twice}"
    assert len(delivered) >= books.statuses["succeeded"]
    database = database_label(database_url)
    report(
        scenario=f"{count} schedulers, the leader frozen past its lease", database=database,
        injected=(f"SIGSTOP of the leading scheduler (of {count}) at a random moment for 2-3 leases "
                  f"({LEASE_SECONDS:.0f} s each), then SIGCONT; {FREEZES} times"),
        figures=books, faults=FREEZES, frozen_seconds=[round(h, 1) for h in holds], deliveries=len(delivered),
        delivered_twice=len(twice), seed=seed, recovery_seconds=spread(recovery(freezes, runs)),
        duration_seconds=round(time.monotonic() - started),
        command=command("test_scheduler_freeze.py", f"'{database} and {count}-schedulers'", seed,
                        chaos.kills()),
    )
