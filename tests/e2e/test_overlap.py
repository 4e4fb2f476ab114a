"""A workflow slower than its schedule's interval, three workers: each overlap policy keeps its promise.

The workflow's python_call (``side_effects.slow_record``) takes 2.5 s and notes when it
started and ended, on a 1-second interval schedule, so a new occurrence arrives while
runs are still going. Three workers make concurrency possible at all; the overlap
policy (:mod:`rqflow.services.overlap`) decides whether it happens:

- ``skip``: never two runs at once; an occurrence arriving while a run is going is
  ``skipped`` ("overlap: ...") and produces no side effect.
- ``buffer_one``: never two runs at once; at most one arriving occurrence waits (and
  starts when the slot is handed over, later than its occurrence by more than an
  interval); a further one is ``skipped`` because a run is already waiting.
- ``allow``: runs never wait for each other, so they overlap, and nothing is skipped.

Concurrency is measured from the side effects' own start and end instants, not inferred
from the ledger.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from rqflow.models import ScheduleRun
from rqflow.services.overlap import BUFFER_FULL_REASON, OVERLAP_REASON
from rqflow.timing.catchup import MISSED_SUPERSEDED
from tests.e2e import side_effects
from tests.e2e.conftest import FINAL_STATUSES, Stack, assert_contiguous, assert_effects_once
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

SLOW_EFFECT_CALLABLE = "tests.e2e.side_effects:slow_record"
INTERVAL = 1
WORKERS = 3
OCCURRENCES = 10  # ledger rows to wait for before the scheduler stops


def describe(runs: list[ScheduleRun]) -> list[tuple[str, str, str, str]]:
    """The rows, readable in an assertion message: occurrence, status, reason, start."""
    return [(r.scheduled_for.strftime("%H:%M:%S"), r.status, r.reason,
             r.started_at.strftime("%H:%M:%S.%f") if r.started_at else "-") for r in runs]


class LedgerWatch:
    """Polls one schedule's ledger and remembers the most ``waiting`` rows it ever saw at once."""

    def __init__(self, stack: Stack, schedule_id: str) -> None:
        self.stack = stack
        self.schedule_id = schedule_id
        self.max_waiting = 0
        self.polls = 0

    def look(self) -> list[ScheduleRun]:
        """One observation of the ledger; the processes that should run must still be up."""
        self.stack.assert_running()
        runs = self.stack.runs(self.schedule_id)
        self.polls += 1
        self.max_waiting = max(self.max_waiting, sum(r.status == "waiting" for r in runs))
        return runs

    def wait_rows(self, count: int, timeout: float) -> list[ScheduleRun]:
        """Wait until the ledger holds ``count`` rows, watching it all along."""

        def enough() -> list[ScheduleRun]:
            runs = self.look()
            return runs if len(runs) >= count else []

        return wait_for(enough, timeout=timeout, interval=0.1, what=f"{count} ledger rows")

    def wait_final(self, timeout: float) -> list[ScheduleRun]:
        """Wait until every row is final (runs done, nothing waiting or enqueued), watching it all along."""

        def final() -> list[ScheduleRun]:
            runs = self.look()
            return runs if runs and all(r.status in FINAL_STATUSES for r in runs) else []

        return wait_for(final, timeout=timeout, interval=0.1, what="every ledger row to be final")


@pytest.mark.parametrize("policy", ["skip", "buffer_one", "allow"])
def test_overlap_policy_with_a_slow_workflow(stack: Stack, database_url: str, policy: str) -> None:
    """Run ~10 occurrences of a 2.5 s workflow every second on three workers; check ``policy``'s promise."""
    scheduler = stack.start_scheduler()
    for _ in range(WORKERS):
        stack.start_worker()
    stack.wait_leader(scheduler)
    stack.wait_workers(WORKERS)
    schedule = stack.create_interval_schedule(INTERVAL, target=SLOW_EFFECT_CALLABLE, overlap_policy=policy)
    assert stack.row(schedule.id).overlap_policy == policy

    watch = LedgerWatch(stack, schedule.id)
    watch.wait_rows(OCCURRENCES, timeout=OCCURRENCES * INTERVAL + 30)
    stack.stop(scheduler)  # no new occurrence; what is running, waiting or queued finishes
    watch.wait_final(timeout=60)
    runs = stack.quiesce(schedule.id, schedule.interval, timeout=60)

    spans = side_effects.recorded_spans(stack.database_url, schedule.id)
    concurrency = side_effects.max_concurrency(spans)
    statuses = Counter(r.status for r in runs)
    succeeded = [r for r in runs if r.status == "succeeded"]
    skipped = [r for r in runs if r.status == "skipped"]
    waited = [r for r in succeeded
              if r.started_at is not None and r.started_at - r.scheduled_for > schedule.interval]
    print(f"\n[{policy}, {database_url.split(':')[0]}] max concurrency {concurrency}; ledger {dict(statuses)} "
          f"over {len(runs)} occurrences; most waiting rows seen at once {watch.max_waiting} "
          f"({watch.polls} polls); runs that started more than an interval late {len(waited)}")

    # Every policy: one row per occurrence, and side effects for exactly the succeeded ones.
    assert runs[0].scheduled_for == schedule.first
    assert_contiguous(runs, schedule.interval)
    assert_effects_once(stack.effects(schedule.id), runs)
    assert len(spans) == len(succeeded), f"{len(spans)} slow_record calls for {len(succeeded)} succeeded runs"
    slow = timedelta(seconds=side_effects.SLOW_SECONDS)
    assert all(s.finished_at - s.started_at >= slow for s in spans), "the workflow was not slow"
    assert succeeded, describe(runs)
    # A claim more than an interval late would find two occurrences due; the default catch-up policy
    # (latest) then runs the newer and records the older as missed. Nothing else may miss.
    assert set(statuses) <= {"succeeded", "skipped", "missed"}, describe(runs)
    assert all(r.reason == MISSED_SUPERSEDED for r in runs if r.status == "missed"), describe(runs)

    if policy == "skip":
        assert concurrency == 1, [(s.scheduled_for, s.started_at, s.finished_at) for s in spans]
        assert skipped, f"a 2.5 s run on a 1 s schedule skipped nothing: {describe(runs)}"
        assert all(r.reason.startswith("overlap") and r.reason == OVERLAP_REASON for r in skipped), describe(runs)
        assert watch.max_waiting == 0, "skip never lets an occurrence wait"
    elif policy == "buffer_one":
        assert concurrency == 1, [(s.scheduled_for, s.started_at, s.finished_at) for s in spans]
        assert waited, f"no run waited for the slot: {describe(runs)}"
        assert skipped, f"nothing was skipped with a run already waiting: {describe(runs)}"
        assert all(r.reason == BUFFER_FULL_REASON for r in skipped), describe(runs)
        assert watch.max_waiting <= 1, f"{watch.max_waiting} occurrences were waiting at once"
    else:
        assert concurrency >= 2, [(s.scheduled_for, s.started_at, s.finished_at) for s in spans]
        assert not skipped, describe(runs)
        assert watch.max_waiting == 0, "allow never lets an occurrence wait"
    row = stack.row(schedule.id)
    assert row.error_count == 0, row.last_error
    assert row.missed_count == statuses["missed"]
