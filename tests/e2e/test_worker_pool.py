"""``rqflow worker --pool N``: N non-forking workers under RQ's worker pool share the occurrences.

A 1-second schedule whose runs take 1.5 s (overlap ``allow``) needs two runs at once to keep
up. Served by a pool of two, every occurrence runs exactly once, runs overlap in time, and
they all ran in the pool's two member processes: no process was forked per job.
"""

from __future__ import annotations

from itertools import pairwise

import pytest

from tests.e2e import side_effects
from tests.e2e.conftest import Stack, settle_and_check

pytestmark = pytest.mark.e2e

MEMBERS = 2
RUNS = 6
RUN_SECONDS = 1.5


def test_a_pool_of_two_runs_overlapping_occurrences_once_each_without_forking(stack: Stack, database_url: str) -> None:
    scheduler = stack.start_scheduler()
    pool = stack.start("worker", "worker", "--pool", str(MEMBERS))
    stack.wait_leader()
    stack.wait_workers(MEMBERS)
    schedule = stack.create_interval_schedule(1, target="tests.e2e.side_effects:slow_record",
                                              target_kwargs={"seconds": RUN_SECONDS}, overlap_policy="allow")

    stack.wait_succeeded(schedule, RUNS, timeout=RUNS * RUN_SECONDS + 30)
    stack.stop(scheduler)
    runs = settle_and_check(stack, schedule)
    stack.stop(pool)

    spans = side_effects.recorded_spans(stack.database_url, schedule.id)
    overlapping = sum(1 for a, b in pairwise(spans) if b.started_at < a.finished_at)
    pids = {span.pid for span in spans}
    print(f"\n[{database_url.split(':')[0]}] {len(runs)} occurrences, {len(spans)} runs in {len(pids)} processes, "
          f"{overlapping} started before the previous one ended")
    assert len(spans) >= RUNS
    assert overlapping > 0, "the two members never ran at the same time"
    assert len(pids) == MEMBERS, f"runs ran in {len(pids)} processes: a process per job means a fork per job"
