"""Every schedule kind through every way an occurrence comes about, through real processes.

Kinds: ``once``; ``interval``; ``cron`` in Europe/Berlin. Ways: the occurrence's own time,
run now, backfill, catch-up after the scheduler was down under each catch-up policy
(``skip``, ``latest``, ``all``), and resume after a pause. Each of the 21 cells is a schedule
of its own, created and driven through the REST API of a real ``rqflow web``; a real
``rqflow scheduler`` and ``rqflow worker`` do the rest. One stack per database serves
every cell at once, and each cell's ledger is then checked whole: the expected occurrences,
each exactly once, with its status and trigger kind; the schedule's final status,
``run_count``, ``missed_count`` and ``next_run_at``; and one side effect per succeeded run.

How the test moves through time:

1. **Scheduler down** (web and worker up). The catch-up cells of ``once`` and ``interval`` are
   created with their occurrences a few seconds ahead, so they come due while no scheduler
   runs: a real downtime. Run-now and backfill requests are made (workers need no scheduler
   for those); the resume cells are paused at once.
2. **The cron cells' downtime is simulated**, because a cron line fires at most once a minute
   and the interesting range is the DST change: the line ``*/30 1-3 25 10 *`` fires on
   25 October only, eight times in 2026 (the clock goes back from 03:00 CEST to 02:00 CET, so
   02:00 and 02:30 come twice) and six times in other years. Its catch-up cells get the
   database state a scheduler down since 2026-10-24 would have left (``next_run_at`` on the
   first occurrence of that day); its resume cell a pause that began that day.
3. Once every downtime occurrence is past the misfire grace, the paused cells are resumed
   and the **scheduler starts**: its startup sync and overdue detection (or a worker claiming
   a timer the sync armed) apply each cell's catch-up policy.
4. The **own-time cells** are created with the scheduler up and fire at their instants (the
   cron one at the next whole minute, which bounds the test's length at about a minute).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from rqflow.job_ids import fire_job_id
from rqflow.models import Schedule, ScheduleRun, utcnow
from rqflow.timing.catchup import MISSED_SKIP, MISSED_SUPERSEDED
from tests.e2e.conftest import FINAL_STATUSES, Stack, assert_effects_once, workflow_body
from tests.e2e.test_http_api import create_user_token
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

GRACE_SECONDS = 1.0
# Ahead of "now" when the downtime cells are created: their occurrences then fall in the downtime.
LEAD = timedelta(seconds=3)
STEP = 1  # seconds between the interval cells' occurrences in the downtime
DOWNTIME_OCCURRENCES = 4
DST_LINE = "*/30 1-3 25 10 *"
ZONE = "Europe/Berlin"
# 2026-10-25 in Berlin: 01:00, 01:30, 02:00, 02:30 CEST, then 02:00, 02:30, 03:00, 03:30 CET,
# which in UTC is every half hour from 23:00 the day before.
DST_DAY = [datetime(2026, 10, 24, 23, 0, tzinfo=UTC) + timedelta(minutes=30 * k) for k in range(8)]
NEXT_DST_LINE = datetime(2027, 10, 24, 23, 0, tzinfo=UTC)  # 01:00 CEST on 2027-10-25 (a plain day)
PAUSED_REASON = "schedule was paused"


@dataclass(frozen=True)
class Row:
    """One expected ledger row."""

    scheduled_for: datetime
    status: str
    trigger_kind: str = "schedule"
    reason: str | None = None  # None: not checked


@dataclass
class Cell:
    """One schedule of the matrix and what its ledger must end as."""

    kind: str
    path: str
    body: dict[str, Any]
    schedule_id: str = ""
    expected: list[Row] = field(default_factory=list)
    status: str = "stopped"
    next_run_at: datetime | None = None
    # The instant the cell's occurrence(s) became due or were asked for; the timing is measured from it.
    reference: datetime | None = None
    problems: list[str] = field(default_factory=list)  # requests the API refused along the way

    @property
    def name(self) -> str:
        return f"{self.kind}/{self.path}"

    @property
    def run_count(self) -> int:
        """Only the schedule's own occurrences that were started count (not manual runs, not backfills)."""
        return sum(r.status == "succeeded" and r.trigger_kind == "schedule" for r in self.expected)

    @property
    def missed_count(self) -> int:
        return sum(r.status == "missed" for r in self.expected)


class Matrix:
    """The cells, the API they are driven through, and the observer that reads their ledgers."""

    def __init__(self, stack: Stack, api: httpx.Client, workflow_id: int) -> None:
        self.stack, self.api, self.workflow_id = stack, api, workflow_id
        self.cells: list[Cell] = []

    def create(self, cell: Cell) -> Cell:
        body = {"name": cell.name, "workflow_id": self.workflow_id, **cell.body}
        response = self.api.post("/api/v1/schedules", json=body)
        assert response.status_code == 201, f"{cell.name}: {response.text}"
        cell.schedule_id = response.json()["id"]
        self.cells.append(cell)
        return cell

    def post(self, cell: Cell, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST an action; a refusal is one of the cell's problems (the other cells go on), answering {}."""
        url = f"/api/v1/schedules/{cell.schedule_id}/{action}"
        try:
            response = self.api.post(url, json=body)
        except httpx.TransportError:  # uvicorn closes a connection after an unhandled error; ask on a new one
            response = self.api.post(url, json=body)
        if response.status_code not in (200, 202):
            cell.problems.append(f"{action} answered {response.status_code}: {response.text[:200]}")
            return {}
        return dict(response.json())

    def write(self, cell: Cell, **columns: Any) -> None:
        """Set columns of the cell's row directly: the simulated downtime of the cron cells."""
        with Session(self.stack.observer) as db, db.begin():
            row = db.get(Schedule, cell.schedule_id)
            assert row is not None
            for name, value in columns.items():
                setattr(row, name, value)

    def ledger(self, cell: Cell) -> list[ScheduleRun]:
        with Session(self.stack.observer) as db:
            query = (select(ScheduleRun).where(ScheduleRun.scheduled_job_id == cell.schedule_id)
                     .order_by(ScheduleRun.scheduled_for, ScheduleRun.id))
            return list(db.scalars(query))

    def settled(self, cell: Cell) -> bool:
        """Every expected row is there and final, and the schedule has reached its final status."""
        runs = self.ledger(cell)
        return (len(runs) >= len(cell.expected) and all(r.status in FINAL_STATUSES for r in runs)
                and self.stack.row(cell.schedule_id).status == cell.status)


def at(seconds: float = 0) -> datetime:
    """Whole-second UTC instant ``seconds`` from now."""
    return (utcnow() + timedelta(seconds=seconds)).replace(microsecond=0)


def iso(value: datetime) -> str:
    return value.isoformat()


def once(run_at: datetime, **fields: Any) -> dict[str, Any]:
    return {"schedule_type": "once", "run_at": iso(run_at), **fields}


def interval(seconds: int, **fields: Any) -> dict[str, Any]:
    return {"schedule_type": "interval", "interval_seconds": seconds, **fields}


def dst_cron(**fields: Any) -> dict[str, Any]:
    return {"schedule_type": "cron", "cron_expression": DST_LINE, "timezone": ZONE, **fields}


def downtime_occurrences(start: datetime) -> list[datetime]:
    return [start + timedelta(seconds=STEP * k) for k in range(DOWNTIME_OCCURRENCES)]


def catch_up_rows(policy: str, due: list[datetime], *, paused: bool = False) -> list[Row]:
    """What a catch-up policy makes of occurrences all well past the grace: skip runs none, latest one, all each.

    After a pause the ones not run are ``skipped`` (a deliberate pause is no failure); after downtime ``missed``.
    """
    if policy == "all":
        return [Row(when, "succeeded") for when in due]
    status = "skipped" if paused else "missed"
    reason = PAUSED_REASON if paused else MISSED_SKIP if policy == "skip" else MISSED_SUPERSEDED
    if policy == "skip":
        return [Row(when, status, reason=reason) for when in due]
    *older, newest = due
    return [*(Row(when, status, reason=reason) for when in older), Row(newest, "succeeded")]


# -- the phases -----------------------------------------------------------------------------------


def while_the_scheduler_is_down(matrix: Matrix) -> datetime:
    """Create the downtime, resume, run-now and backfill cells; return the last downtime occurrence."""
    start = at() + LEAD
    due = downtime_occurrences(start)
    # The one-time cells first: their instant must still be ahead when each is created.
    for policy in ("skip", "latest", "all"):
        matrix.create(Cell("once", f"catch-up {policy}", once(start, catchup_policy=policy),
                           expected=catch_up_rows(policy, [start])))
    matrix.post(matrix.create(Cell("once", "resume", once(start), expected=catch_up_rows("latest", [start], paused=True))),
                "pause", {"reason": "matrix"})
    stopped = matrix.create(Cell("once", "backfill", once(start), expected=[Row(start, "succeeded", "backfill")]))
    matrix.post(stopped, "stop")  # backfilled once its instant has passed (after_the_downtime)

    for policy in ("skip", "latest", "all"):
        matrix.create(Cell("interval", f"catch-up {policy}",
                           interval(STEP, start_at=iso(due[0]), end_at=iso(due[-1]), catchup_policy=policy),
                           expected=catch_up_rows(policy, due)))
        cron = matrix.create(Cell("cron", f"catch-up {policy}", dst_cron(catchup_policy=policy), status="active",
                                  next_run_at=NEXT_DST_LINE, expected=catch_up_rows(policy, DST_DAY)))
        # The row as a scheduler down since 2026-10-24 leaves it: its next occurrence the first of that day.
        matrix.write(cron, next_run_at=DST_DAY[0], rq_job_id=fire_job_id(cron.schedule_id, DST_DAY[0]))
    paused_interval = matrix.create(Cell("interval", "resume", interval(STEP, start_at=iso(due[0]), end_at=iso(due[-1])),
                                         expected=catch_up_rows("latest", due, paused=True)))
    matrix.post(paused_interval, "pause", {"reason": "matrix"})
    paused_cron = matrix.create(Cell("cron", "resume", dst_cron(), status="active", next_run_at=NEXT_DST_LINE,
                                     expected=catch_up_rows("latest", DST_DAY, paused=True)))
    matrix.post(paused_cron, "pause", {"reason": "matrix"})
    matrix.write(paused_cron, paused_at=DST_DAY[0] - timedelta(hours=1))  # as if paused since the day before

    run_now_cells(matrix)
    backfill_cells(matrix)
    return due[-1]


def run_now_cells(matrix: Matrix) -> None:
    """A schedule far from its next occurrence, run now: one manual row, and its timeline does not move."""
    far = at(86400)
    for cell in (
        Cell("once", "run now", once(far), status="active", next_run_at=far),
        Cell("interval", "run now", interval(3600, start_at=iso(far)), status="active", next_run_at=far),
        Cell("cron", "run now", dst_cron(), status="active", next_run_at=NEXT_DST_LINE),
    ):
        matrix.create(cell)
        cell.reference = utcnow()
        run = matrix.post(cell, "trigger")
        if run:
            cell.expected = [Row(datetime.fromisoformat(run["scheduled_for"]), "succeeded", "manual")]


def backfill_cells(matrix: Matrix) -> None:
    """Past ranges: three hourly occurrences of an interval, and the DST day of the cron line."""
    origin = at(-4 * 3600 + 1800)  # occurrences 3.5, 2.5, 1.5 and 0.5 hours ago, then half an hour ahead
    hourly = [origin + timedelta(hours=k) for k in range(3)]
    interval_cell = matrix.create(Cell("interval", "backfill", interval(3600, start_at=iso(origin)), status="active",
                                       next_run_at=origin + timedelta(hours=4),
                                       expected=[Row(t, "succeeded", "backfill") for t in hourly]))
    cron_cell = matrix.create(Cell("cron", "backfill", dst_cron(), status="active", next_run_at=NEXT_DST_LINE,
                                   expected=[Row(t, "succeeded", "backfill") for t in DST_DAY]))
    for cell, start, end in ((interval_cell, hourly[0], hourly[-1]),
                             (cron_cell, DST_DAY[0] - timedelta(hours=1), DST_DAY[-1] + timedelta(minutes=20))):
        cell.reference = utcnow()
        answer = matrix.post(cell, "backfill", {"start": iso(start), "end": iso(end)})
        assert answer.get("count", len(cell.expected)) == len(cell.expected), answer


def after_the_downtime(matrix: Matrix, last_due: datetime) -> None:
    """Resume the paused cells and backfill the stopped once cell; their occurrences are all past now."""
    for cell in matrix.cells:
        if cell.path == "resume":
            cell.reference = utcnow()
            matrix.post(cell, "resume")
    [stopped] = [c for c in matrix.cells if c.name == "once/backfill"]
    run_at = stopped.expected[0].scheduled_for
    stopped.reference = utcnow()
    body = {"start": iso(run_at - timedelta(seconds=1)), "end": iso(run_at)}
    assert matrix.post(stopped, "backfill", body).get("count", 1) == 1
    assert last_due < utcnow()


def own_time_cells(matrix: Matrix) -> None:
    """With the scheduler up: each kind fires at its own instants and then stops."""
    run_at = at(3)
    matrix.create(Cell("once", "own time", once(run_at), expected=[Row(run_at, "succeeded")], reference=run_at))
    first = at(2)
    steps = [first + timedelta(seconds=2 * k) for k in range(3)]
    matrix.create(Cell("interval", "own time", interval(2, start_at=iso(first), end_at=iso(steps[-1])),
                       expected=[Row(t, "succeeded") for t in steps], reference=steps[-1]))
    created_at = utcnow()
    cron = matrix.create(Cell("cron", "own time",
                              {"schedule_type": "cron", "cron_expression": "* * * * *", "timezone": ZONE, "max_runs": 1}))
    minute = matrix.stack.row(cron.schedule_id).next_run_at
    assert minute is not None and minute.second == 0 and timedelta(0) < minute - created_at <= timedelta(seconds=61)
    cron.expected, cron.reference = [Row(minute, "succeeded")], minute


# -- checks ----------------------------------------------------------------------------------------


def check(matrix: Matrix, cell: Cell) -> list[str]:
    """Every difference between the cell's ledger and schedule and what was expected."""
    runs = matrix.ledger(cell)
    row = matrix.stack.row(cell.schedule_id)
    problems = list(cell.problems)
    seen = [(r.scheduled_for, r.status, r.trigger_kind) for r in runs]
    wanted = [(r.scheduled_for, r.status, r.trigger_kind) for r in cell.expected]
    if seen != wanted:
        problems.append(f"ledger {_show(runs)} != expected {wanted}")
    for run, expected in zip(runs, cell.expected, strict=False):
        if expected.reason is not None and run.reason != expected.reason:
            problems.append(f"{run.scheduled_for} reason {run.reason!r} != {expected.reason!r}")
    figures = (row.status, row.run_count, row.missed_count, row.next_run_at)
    wanted_figures = (cell.status, cell.run_count, cell.missed_count, cell.next_run_at)
    if figures != wanted_figures:
        problems.append(f"(status, run_count, missed_count, next_run_at) {figures} != {wanted_figures}")
    if row.error_count or row.last_error:
        problems.append(f"error_count {row.error_count}, last_error {row.last_error!r}")
    try:
        assert_effects_once(matrix.stack.effects(cell.schedule_id), runs)
    except AssertionError as exc:
        problems.append(str(exc))
    return problems


def _show(runs: list[ScheduleRun]) -> list[tuple[str, str, str, str]]:
    return [(r.scheduled_for.isoformat(), r.status, r.trigger_kind, (r.error or r.reason)[:200]) for r in runs]


def timing(matrix: Matrix, cell: Cell) -> str:
    """Seconds from the cell's reference instant to its last row finishing."""
    finished = [r.finished_at for r in matrix.ledger(cell) if r.finished_at is not None]
    if cell.reference is None or not finished:
        return "-"
    return f"{(max(finished) - cell.reference).total_seconds():.2f} s"


def wait_settled(matrix: Matrix, timeout: float) -> str:
    """Wait (with a deadline) until every cell has settled; return why not ("" when all did)."""

    def pending() -> list[Cell]:
        return [cell for cell in matrix.cells if not matrix.settled(cell)]

    def done() -> bool:
        matrix.stack.assert_running()
        return not pending()

    try:
        wait_for(done, timeout=timeout, interval=0.25, what="every cell of the matrix to settle")
    except AssertionError as exc:
        return f"cells that never settled: {[cell.name for cell in pending()]}; {str(exc)[:2000]}"
    return ""


# -- the test --------------------------------------------------------------------------------------


def test_every_kind_through_every_path(stack: Stack, database_url: str) -> None:
    stack.env["RQFLOW_MISFIRE_GRACE_SECONDS"] = str(GRACE_SECONDS)
    stack.start_worker()
    base = stack.start_web()
    token = create_user_token(stack, "matrix")
    stack.wait_workers()
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:
        created = api.post("/api/v1/workflows", json=workflow_body("matrix"))
        assert created.status_code == 201, created.text
        matrix = Matrix(stack, api, created.json()["id"])

        last_due = while_the_scheduler_is_down(matrix)
        grace_passed = last_due + timedelta(seconds=GRACE_SECONDS + 0.5)
        wait_for(lambda: utcnow() >= grace_passed, timeout=30, interval=0.05,
                 what="the downtime occurrences to pass the misfire grace")
        downtime = [c for c in matrix.cells if c.path.startswith("catch-up")]
        assert all(matrix.ledger(c) == [] for c in downtime), "something ran while no scheduler was up"
        after_the_downtime(matrix, last_due)

        scheduler = stack.start_scheduler()
        scheduler_started = utcnow()
        for cell in downtime:
            cell.reference = scheduler_started
        stack.wait_leader(scheduler)
        own_time_cells(matrix)
        unsettled = wait_settled(matrix, timeout=100)

    problems = {cell.name: check(matrix, cell) for cell in matrix.cells}
    table = "\n".join(f"  {cell.name:22} {'ok' if not problems[cell.name] else 'FAILED':6} "
                      f"{len(cell.expected):2} rows  {timing(matrix, cell):>9}  "
                      + "; ".join(problems[cell.name])
                      for cell in sorted(matrix.cells, key=lambda c: (c.kind, c.path)))
    own = [(r.started_at - r.scheduled_for).total_seconds() for c in matrix.cells if c.path == "own time"
           for r in matrix.ledger(c) if r.started_at is not None]
    lateness = f"own-time lateness p50 {statistics.median(own) * 1000:.0f} ms, max {max(own) * 1000:.0f} ms" if own else ""
    print(f"\n[{database_url.split(':')[0]}] {len(matrix.cells)} cells, catch-up by the scheduler started at "
          f"{scheduler_started:%H:%M:%S.%f}; {lateness}\n{table}")
    assert not unsettled, f"{unsettled}\n{table}"
    assert not any(problems.values()), f"cells whose ledger is wrong:\n{table}"
