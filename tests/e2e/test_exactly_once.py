"""A 2-second interval schedule, real scheduler and worker processes: every occurrence runs exactly once."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Stack, assert_contiguous, assert_effects_once, lateness_figures

pytestmark = pytest.mark.e2e

OCCURRENCES = 10


def test_each_occurrence_fires_exactly_once(stack: Stack, database_url: str) -> None:
    scheduler = stack.start_scheduler()
    stack.start_worker()
    stack.wait_leader()
    stack.wait_workers()

    schedule = stack.create_interval_schedule(2)
    stack.wait_succeeded(schedule, OCCURRENCES)
    stack.stop(scheduler)  # no new firing: whatever is in flight finishes, then the books are closed
    runs = stack.quiesce(schedule.id, schedule.interval)
    effects = stack.effects(schedule.id)

    print(f"\n[{database_url.split(':')[0]}] {lateness_figures(runs)}")
    assert runs[0].scheduled_for == schedule.first, "the first occurrence was not the first one run"
    assert_contiguous(runs, schedule.interval)
    assert [r.status for r in runs] == ["succeeded"] * len(runs), [(r.scheduled_for, r.status, r.reason)
                                                                   for r in runs]
    assert_effects_once(effects, runs)
    row = stack.row(schedule.id)
    assert row.run_count == len(runs) and row.error_count == 0
    assert row.next_run_at == runs[-1].scheduled_for + schedule.interval
