"""What every fault and outage scenario shares when it closes its books: the figures of its ledgers,
the catch-up batches in them, a readable dump of rows, and the one JSON line it reports.

The checks differ by family (:mod:`tests.e2e.faults.ledger` counts to the schedule's next run
after every scheduler stopped; :mod:`tests.e2e.outages.ledger` to the last row and checks each
catch-up batch by its policy); what they count and report is this module's.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rqflow.models import ScheduleRun


@dataclass
class Figures:
    """What one or more schedules' ledgers showed at the end of a scenario."""

    expected: int = 0
    recorded: int = 0
    duplicated: int = 0
    lost: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    batches: list[list[ScheduleRun]] = field(default_factory=list)

    def add(self, other: Figures) -> Figures:
        self.expected += other.expected
        self.recorded += other.recorded
        self.duplicated += other.duplicated
        self.lost += other.lost
        self.statuses.update(other.statuses)
        self.batches.extend(other.batches)
        return self


def describe(runs: list[ScheduleRun]) -> list[tuple[str, str, str, str, str]]:
    """Rows, readable in an assertion message: occurrence, status, reason, when written, error."""
    return [(r.scheduled_for.strftime("%H:%M:%S.%f")[:-3], r.status, r.reason[:40],
             r.created_at.strftime("%H:%M:%S.%f")[:-3], r.error[:80]) for r in runs]


def catch_up_batches(runs: list[ScheduleRun]) -> list[list[ScheduleRun]]:
    """Rows of several occurrences written by one transaction (one ``created_at``): a catch-up, by occurrence."""
    groups: dict[datetime, list[ScheduleRun]] = defaultdict(list)
    for run in runs:
        groups[run.created_at].append(run)
    return [sorted(group, key=lambda r: r.scheduled_for) for _at, group in sorted(groups.items()) if len(group) > 1]


def database_label(url: str) -> str:
    """``sqlite`` or ``postgres``, as the figures name the database."""
    return "postgres" if url.startswith("postgres") else "sqlite"


def report(*, scenario: str, database: str, injected: str, figures: Figures, **extra: Any) -> dict[str, Any]:
    """Print the scenario's figures on one line and append them as one JSON line to ``RQFLOW_RELIABILITY_LOG``."""
    record: dict[str, Any] = {
        "scenario": scenario, "database": database, "injected": injected,
        "expected": figures.expected, "recorded": figures.recorded, "duplicated": figures.duplicated,
        "lost": figures.lost, "statuses": dict(sorted(figures.statuses.items())),
        "catch_up_batches": len(figures.batches), **extra,
    }
    line = json.dumps(record, default=str)
    print(f"\n[reliability] {line}")
    path = os.environ.get("RQFLOW_RELIABILITY_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(line + "\n")
    return record
