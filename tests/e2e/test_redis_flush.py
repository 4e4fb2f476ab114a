"""Redis is only a cache of timers: after FLUSHALL the scheduler rebuilds them from the database."""

from __future__ import annotations

import pytest

from rqflow.broker.timers import armed
from rqflow.job_ids import fire_job_id
from rqflow.models import utcnow
from tests.e2e.conftest import (
    FINAL_STATUSES,
    POLL_SECONDS,
    RECONCILE_SECONDS,
    Stack,
    settle_and_check,
)
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

# Beyond one reconcile period: a poll, the worker picking the job up, the claim.
SLACK_SECONDS = 2 * POLL_SECONDS + 2.0


def test_flushall_rearms_within_one_reconcile_period(stack: Stack) -> None:
    scheduler = stack.start_scheduler()
    stack.start_worker()
    stack.wait_leader()
    stack.wait_workers()
    schedule = stack.create_interval_schedule(1)
    stack.wait_succeeded(schedule, 3)

    # Flush just after a reconcile pass, with the worker idle and the next timer armed, so only the
    # next reconcile pass can heal it (the worker, arming the next timer, would heal it sooner).
    passes = scheduler.log().count("reconciled")
    wait_for(lambda: scheduler.log().count("reconciled") > passes, timeout=RECONCILE_SECONDS + SLACK_SECONDS,
             interval=0.02, what="the next reconcile pass")

    def idle_with_timer() -> bool:
        settled = all(r.status in FINAL_STATUSES for r in stack.runs(schedule.id))
        next_run_at = stack.row(schedule.id).next_run_at
        return settled and next_run_at is not None and fire_job_id(schedule.id, next_run_at) in armed(stack.redis)

    wait_for(idle_with_timer, timeout=5, interval=0.02, what="the worker to finish and arm the next timer")
    flushed_at = utcnow()
    stack.redis.flushall()
    assert not armed(stack.redis)

    wait_for(lambda: [j for j in armed(stack.redis) if schedule.id in j], timeout=RECONCILE_SECONDS + SLACK_SECONDS,
             interval=0.05, what="the timer to be re-armed from the database")
    [first, *_] = stack.wait_succeeded(schedule, 1, after=flushed_at, timeout=RECONCILE_SECONDS + SLACK_SECONDS,
                                       what="a run within one reconcile period of the flush")
    assert first.started_at is not None
    healed = (first.started_at - flushed_at).total_seconds()
    print(f"\nfirst run after FLUSHALL started {healed:.2f} s after it")
    assert healed <= RECONCILE_SECONDS + SLACK_SECONDS

    stack.wait_succeeded(schedule, 4, after=flushed_at, what="the schedule to keep firing after the flush")
    stack.stop(scheduler)
    settle_and_check(stack, schedule)
