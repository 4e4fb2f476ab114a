"""Old ledger rows in bulk, as months of a busy deployment leave them: for retention tests and the benchmark."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, insert, select, text

from rqflow.db import get_engine, get_sessionmaker
from rqflow.models import NodeRun, ScheduleRun, WorkflowRun

CHUNK = 10_000
# The statuses the loaded rows cycle through: every ended kind, mostly successes.
STATUSES = ("succeeded", "succeeded", "succeeded", "failed", "skipped", "missed")


def load_old_runs(url: str, schedule_ids: list[str], count: int, *, before: datetime,
                  workflow_id: int | None = None, with_workflow_runs: int = 0) -> None:
    """Insert ``count`` ended ledger rows spread over ``schedule_ids``, each a second apart, all before ``before``.

    The first ``with_workflow_runs`` rows each get a workflow run with one node run. Ids are
    given here (the workflow runs point at them), after the largest in use, and PostgreSQL's
    sequences are moved past them.
    """
    maker = get_sessionmaker(url)
    with maker() as db:
        first = (db.scalar(select(func.max(ScheduleRun.id))) or 0) + 1
        first_flow = (db.scalar(select(func.max(WorkflowRun.id))) or 0) + 1
    rows = (_run_row(i, first + i, schedule_ids, before) for i in range(count))
    engine = get_engine(url)
    if engine.dialect.name == "postgresql":
        _copy_runs(engine, rows)
    else:
        _insert_runs(engine, rows)
    if with_workflow_runs and workflow_id is not None:
        _add_workflow_runs(url, workflow_id, range(first, first + with_workflow_runs), first_flow)
    _move_sequences(url)


COLUMNS = ("id", "scheduled_job_id", "scheduled_for", "trigger_kind", "status", "reason", "error", "started_at",
           "finished_at", "created_at")


def _run_row(i: int, run_id: int, schedule_ids: list[str], before: datetime) -> tuple[object, ...]:
    """One row in COLUMNS order; instants naive UTC, as the columns store them."""
    when = (before - timedelta(seconds=i + 1)).astimezone(UTC).replace(tzinfo=None)
    kind = "manual" if i % 10 == 9 else "schedule"
    return (run_id, schedule_ids[i % len(schedule_ids)], when, kind, STATUSES[i % len(STATUSES)], "", "", when,
            when, when)


def _copy_runs(engine: Engine, rows: Iterator[tuple[object, ...]]) -> None:
    """PostgreSQL's COPY: a million rows in seconds rather than minutes."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(f"COPY schedule_runs ({', '.join(COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for row in rows:
                copy.write_row(row)
        raw.commit()
    finally:
        raw.close()


def _insert_runs(engine: Engine, rows: Iterator[tuple[object, ...]]) -> None:
    """SQLite: the driver's executemany in chunks, past SQLAlchemy's per-row work."""
    statement = f"INSERT INTO schedule_runs ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    with engine.begin() as connection:
        while chunk := [(*row[:2], *_text(row[2:])) for row in itertools.islice(rows, CHUNK)]:
            connection.exec_driver_sql(statement, chunk)


def _text(values: tuple[object, ...]) -> list[object]:
    """Instants as SQLAlchemy writes them to SQLite."""
    return [value.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, datetime) else value for value in values]


def _add_workflow_runs(url: str, workflow_id: int, run_ids: range, first_flow: int) -> None:
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    with get_sessionmaker(url)() as db:
        for start in range(0, len(run_ids), CHUNK):
            pairs = [(first_flow + n, run_ids[n]) for n in range(start, min(start + CHUNK, len(run_ids)))]
            db.execute(insert(WorkflowRun), [
                {"id": flow, "workflow_id": workflow_id, "schedule_run_id": run, "event_type": "schedule",
                 "event": {}, "status": "succeeded", "error": "", "started_at": long_ago} for flow, run in pairs])
            db.execute(insert(NodeRun), [
                {"workflow_run_id": flow, "node_key": "t", "component_type": "trigger_schedule", "attempt": 1,
                 "status": "succeeded", "error": "", "started_at": long_ago} for flow, _ in pairs])
        db.commit()


def _move_sequences(url: str) -> None:
    """PostgreSQL hands out ids from a sequence, which rows given their own ids do not move."""
    maker = get_sessionmaker(url)
    with maker() as db:
        if db.get_bind().dialect.name != "postgresql":
            return
        for table in ("schedule_runs", "workflow_runs", "node_runs"):
            db.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT coalesce(max(id), 1) FROM {table}))"))
        db.commit()
