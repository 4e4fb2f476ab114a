"""The retention sweep of a million old ledger rows, by a real scheduler, while a real web process serves.

A million ended rows (with ten thousand workflow runs) older than RQFLOW_RUN_RETENTION_DAYS
are bulk-loaded under ten schedules, then a scheduler is started and sweeps them while
clients read the ledger, the schedules and ``/metrics`` through the API without pause. Every
request must answer 200, the old rows must all go (the ten young ones stay), and neither
the schedules' counters nor the ``/metrics`` totals may change. The rate and the API's
latency are printed (the figures live in bench/retention.py and docs/PERFORMANCE.md).
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bench.common import add_schedules, analyze
from rqflow.db import session_scope
from rqflow.models import Schedule, ScheduleRun, WorkflowRun, utcnow
from rqflow.services.users import create_user
from tests.bulk_ledger import load_old_runs
from tests.e2e.conftest import Stack
from tests.e2e.test_observability import scrape
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

OLD_ROWS = 1_000_000
YOUNG_ROWS = 10
SCHEDULES = 10


class Reader(threading.Thread):
    """Reads the API back to back until told to stop; keeps every status code and latency."""

    def __init__(self, base: str, token: str, schedule_id: str) -> None:
        super().__init__(daemon=True)
        self.paths = [f"/api/v1/schedules/{schedule_id}/runs?limit=50", "/api/v1/schedules?limit=10", "/metrics"]
        self.client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        self.answers: list[tuple[str, int, float]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            for path in self.paths:
                started = time.perf_counter()
                status = self.client.get(path).status_code
                self.answers.append((path, status, time.perf_counter() - started))


def ledger_totals(samples: dict[tuple[str, Any], float]) -> dict[Any, float]:
    return {labels: value for (name, labels), value in samples.items() if name == "rqflow_occurrences"}


@pytest.mark.timeout(1200)
def test_a_million_old_rows_are_swept_while_the_api_serves(stack: Stack, database_url: str) -> None:
    with session_scope(stack.database_url) as db:
        user, token = create_user(db=db, name="sweeper")
        db.flush()
        user_id = user.id
    ids = add_schedules(stack.database_url, SCHEDULES, user_id=user_id, first_run=utcnow() + timedelta(days=1))
    with session_scope(stack.database_url) as db:
        db.execute(update(Schedule).values(run_count=123_456, error_count=789, missed_count=42))
        workflow_id = db.scalar(select(Schedule.workflow_id).limit(1))
    now = utcnow()
    load_old_runs(stack.database_url, ids, OLD_ROWS, before=now - timedelta(days=31), workflow_id=workflow_id,
                  with_workflow_runs=10_000)
    load_old_runs(stack.database_url, ids, YOUNG_ROWS, before=now - timedelta(days=1))
    analyze(stack.database_url)  # as autovacuum would after such a load

    base = stack.start_web()
    web = httpx.Client(base_url=base, timeout=60)
    before = ledger_totals(scrape(web))
    assert sum(before.values()) == OLD_ROWS + YOUNG_ROWS
    with Session(stack.observer) as db:
        counters = sorted(db.execute(select(Schedule.id, Schedule.run_count, Schedule.error_count,
                                            Schedule.missed_count)).all())

    reader = Reader(base, token, ids[0])
    reader.start()
    started = time.monotonic()
    stack.wait_leader(stack.start_scheduler())

    def swept() -> bool:
        stack.assert_running()
        with Session(stack.observer) as db:
            return db.scalar(select(func.count()).select_from(ScheduleRun)) == YOUNG_ROWS

    wait_for(swept, timeout=900, interval=1.0, what="the old rows to be swept")
    took = time.monotonic() - started
    reader.stopping.set()
    reader.join(timeout=60)

    assert reader.answers and {status for _, status, _ in reader.answers} == {200}
    latencies = sorted(seconds for _, _, seconds in reader.answers)
    print(f"\nswept {OLD_ROWS:,} rows in {took:.1f} s ({OLD_ROWS / took:,.0f} rows/s); {len(latencies)} API requests "
          f"during it, p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, "
          f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.0f} ms")
    assert ledger_totals(scrape(web)) == before
    with Session(stack.observer) as db:
        assert sorted(db.execute(select(Schedule.id, Schedule.run_count, Schedule.error_count,
                                        Schedule.missed_count)).all()) == counters
        assert db.scalar(select(func.count()).select_from(WorkflowRun)) == 0
    assert "retention: deleted" in stack.logs()
