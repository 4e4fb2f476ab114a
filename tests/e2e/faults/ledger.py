"""The books every fault scenario closes: nothing lost, nothing duplicated, nothing stuck; and its figures.

For one interval schedule, once the scenario has stopped every scheduler and the
schedule is quiet (:meth:`tests.e2e.conftest.Stack.quiesce`: every row final,
``next_run_at`` right after the last row, its timer armed):

- **expected**: every occurrence from the first up to ``next_run_at``, computed from
  the cadence alone, not read from the ledger;
- **lost**: expected occurrences without a ledger row (a row may say it ran, or that a
  policy recorded it ``missed`` or ``skipped``);
- **duplicated**: occurrences with more than one ledger row or more than one side
  effect (the side-effect table has no unique key, so a second execution would show
  there whatever the ledger claims);
- **stuck**: rows still ``waiting``, ``enqueued`` or ``running`` (quiesce waits for none).

:func:`report` prints the figures on one line and appends them as one JSON line to
the file named by ``RQFLOW_RELIABILITY_LOG``, from which docs/RELIABILITY.md is filled.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from rqflow.models import ScheduleRun
from tests.e2e.books import Figures, catch_up_batches, database_label, describe, report
from tests.e2e.conftest import FINAL_STATUSES, LiveSchedule, Stack

__all__ = ["Figures", "close_books", "command", "database_label", "describe", "ran_or_missed", "recovery", "report",
           "skipped_by_overlap", "spread", "succeeded"]

# A row may end in one of these, each meaning the occurrence was accounted for.
RowCheck = Callable[[ScheduleRun], bool]


def succeeded(run: ScheduleRun) -> bool:
    """Ran and succeeded."""
    return run.status == "succeeded"


def ran_or_missed(run: ScheduleRun) -> bool:
    """Succeeded, or recorded missed by the catch-up policy (the scheduler was down when it came due)."""
    return run.status in {"succeeded", "missed"}


def skipped_by_overlap(run: ScheduleRun) -> bool:
    """Recorded skipped by the overlap policy (the previous run still held the slot)."""
    return run.status == "skipped" and run.reason.startswith("overlap")


def close_books(stack: Stack, schedule: LiveSchedule, *, allowed: list[RowCheck], stopped_at: datetime | None = None,
                timeout: float = 60) -> tuple[Figures, list[ScheduleRun]]:
    """Wait until the schedule is quiet, then check and count its ledger against its cadence and side effects.

    ``allowed``: every row must satisfy one of these. ``stopped_at``: when the last
    scheduler stopped; the ledger must reach it (give or take a poll and an interval).
    """
    runs = stack.quiesce(schedule.id, schedule.interval, timeout=timeout)
    row = stack.row(schedule.id)
    assert row.next_run_at is not None
    count = round((row.next_run_at - schedule.first) / schedule.interval)
    expected = [schedule.first + k * schedule.interval for k in range(count)]
    rows = Counter(r.scheduled_for for r in runs)
    effects = Counter(when for when, _pid in stack.effects(schedule.id))
    lost = sorted(set(expected) - set(rows))
    extra = sorted(set(rows) - set(expected))
    doubled = sorted({when for when, n in rows.items() if n > 1} | {when for when, n in effects.items() if n > 1})
    books = Figures(expected=len(expected), recorded=len(set(rows) & set(expected)), duplicated=len(doubled),
                    lost=len(lost), statuses=Counter(r.status for r in runs), batches=catch_up_batches(runs))
    print(f"\n[{schedule.id}] {dict(books.statuses)}")
    assert not doubled, f"occurrences run or recorded twice: {doubled}; effects {sorted(effects.items())}"
    assert not lost, f"occurrences without a ledger row: {lost[:10]} ({len(lost)} in all); {describe(runs)}"
    assert not extra, f"ledger rows off the cadence: {extra}"
    stuck = [r for r in runs if r.status not in FINAL_STATUSES]
    assert not stuck, f"rows still in flight: {describe(stuck)}"
    odd = [r for r in runs if not any(check(r) for check in allowed)]
    assert not odd, f"rows no policy explains: {describe(odd)}"
    succeeded = {r.scheduled_for for r in runs if r.status == "succeeded"}
    assert set(effects) == succeeded, (f"side effects without a succeeded run: {sorted(set(effects) - succeeded)}; "
                                       f"succeeded runs without a side effect: {sorted(succeeded - set(effects))}")
    if stopped_at is not None:
        slack = schedule.interval + timedelta(seconds=3)
        assert row.next_run_at >= stopped_at - slack, (
            f"the ledger stops at {row.next_run_at}, well before the scheduler stopped at {stopped_at}")
    return books, runs


def recovery(events: list[datetime], runs: list[ScheduleRun]) -> list[float]:
    """For each fault, seconds until a run of an occurrence due after it started (what happens next, not before)."""
    found = []
    for event in events:
        starts = [r.started_at for r in runs if r.scheduled_for > event and r.started_at is not None
                  and r.status == "succeeded"]
        if starts:
            found.append((min(starts) - event).total_seconds())
    return found


def spread(values: list[float]) -> dict[str, float]:
    """Median and maximum, rounded, of recovery times in seconds."""
    if not values:
        return {}
    return {"median": round(statistics.median(values), 2), "max": round(max(values), 2), "n": len(values)}


def command(test_file: str, database: str, seed: int | None = None, kills: int | None = None) -> str:
    """The command line that reproduces one scenario on one database."""
    env = []
    if kills is not None:
        env.append(f"RQFLOW_CHAOS_KILLS={kills}")
    if seed is not None:
        env.append(f"RQFLOW_CHAOS_SEED={seed}")
    prefix = " ".join(env) + " " if env else ""
    return f"{prefix}.venv/bin/python -m pytest -q -s tests/e2e/faults/{test_file} -k {database}"
