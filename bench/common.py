"""What every benchmark needs: a redis-server of its own, a fresh database, schedules in bulk, a table.

Benchmarks print figures and assert nothing. Each one runs rqflow and its peer
in the same run, against the same redis-server, so the ratio is fair even when
the machine is busy; the absolute figures are only as quiet as the machine.
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from redis import Redis
from sqlalchemy import create_engine, insert, text

from rqflow.db import dispose_engines, get_engine, get_sessionmaker
from rqflow.local_redis import start_redis_server
from rqflow.migrations import upgrade
from rqflow.models import Schedule, UserProfile, Workflow, WorkflowNode, utcnow
from tests.helpers import free_port

POSTGRES_ADMIN = os.environ.get("RQFLOW_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@dataclass(frozen=True)
class BenchRedis:
    """A redis-server of the benchmark's own: its client and its URL."""

    client: Redis
    url: str


@contextmanager
def own_redis(workdir: Path) -> Iterator[BenchRedis]:
    """Start a redis-server on a free port for the benchmark, stop it afterwards."""
    port = free_port()
    server = start_redis_server(port, workdir)
    try:
        yield BenchRedis(Redis(port=port), f"redis://127.0.0.1:{port}/0")
    finally:
        server.terminate()
        server.wait(timeout=10)


@contextmanager
def fresh_database(kind: str, workdir: Path) -> Iterator[str]:
    """A migrated database of the given kind (sqlite | postgres), dropped afterwards."""
    if kind == "sqlite":
        url = f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:8]}.db'}"
        upgrade(url)
        yield url
        dispose_engines()
        return
    name = f"rqflow_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        dispose_engines()
        get_engine(url).dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def add_schedules(url: str, count: int, *, first_run: datetime | None = None, spread_seconds: int = 0,
                  interval_seconds: int = 3600, name_prefix: str = "s", user_id: int | None = None,
                  workflow_id: int | None = None) -> list[str]:
    """Insert N active interval schedules of one user and one workflow; return their ids.

    The i-th schedule's next run is ``first_run + i % spread_seconds`` (all at
    ``first_run`` when ``spread_seconds`` is 0), so a benchmark chooses between
    "all due at once" and "spread over an hour". By default a new user and a new
    workflow own them; pass ``user_id`` (and ``workflow_id``, one of that user's
    workflows) to fill an existing user's account instead.
    """
    first_run = first_run or utcnow().replace(microsecond=0) + timedelta(seconds=60)
    with get_sessionmaker(url)() as db:
        if user_id is None:
            user = UserProfile(name=f"bench-{uuid.uuid4().hex[:6]}")
            db.add(user)
            db.flush()
            user_id = user.id
        if workflow_id is None:
            workflow = Workflow(user_profile_id=user_id, name="bench",
                                nodes=[WorkflowNode(key="t", component_type="trigger_schedule", config={})])
            db.add(workflow)
            db.flush()
            workflow_id = workflow.id
        rows = [_schedule_row(i, first_run, spread_seconds, interval_seconds, name_prefix, workflow_id, user_id)
                for i in range(count)]
        for start in range(0, count, 5000):
            db.execute(insert(Schedule), rows[start:start + 5000])
        db.commit()
    return [str(row["id"]) for row in rows]


def analyze(url: str) -> None:
    """Give the planner statistics of the bulk-loaded rows, as autovacuum would within a minute in production.

    A table filled in one go has none yet, and PostgreSQL then plans for a
    few rows (and counts through pages its visibility map does not know).
    """
    engine = get_engine(url)
    statement = "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(statement))


def _schedule_row(i: int, first_run: datetime, spread: int, interval: int, prefix: str,
                  workflow_id: int, user_id: int) -> dict[str, object]:
    when = first_run + timedelta(seconds=i % spread if spread else 0)
    return {"id": str(uuid.uuid4()), "name": f"{prefix}{i}", "workflow_id": workflow_id, "user_profile_id": user_id,
            "schedule_type": "interval", "interval_seconds": interval, "start_at": first_run, "timezone": "UTC",
            "status": "active", "next_run_at": when, "run_count": 0, "error_count": 0, "last_error": "",
            "description": "", "created_at": first_run, "updated_at": first_run}


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` in 0..1) of a non-empty sample."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
    return ordered[index]


def median(values: Sequence[float]) -> float:
    """The median, named here so scripts import one helper module."""
    return statistics.median(values)


def machine() -> str:
    """One line saying where the figures come from."""
    return f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.machine()}"


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print an aligned plain-text table, easy to paste into docs/PERFORMANCE.md."""
    cells = [[str(cell) for cell in header]] + [[_cell(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    for index, row in enumerate(cells):
        print("  " + "  ".join(cell.rjust(width) if index and i else cell.ljust(width)
                               for i, (cell, width) in enumerate(zip(row, widths, strict=True))))


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)
