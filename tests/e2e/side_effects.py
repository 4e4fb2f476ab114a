"""``python_call`` targets for the end-to-end tests: one row per call, with no unique key.

The worker subprocess imports them as ``tests.e2e.side_effects:record`` (quick) and
``tests.e2e.side_effects:slow_record`` (takes seconds, and notes when it started and
ended, so a test can tell which runs overlapped in time). The table deliberately has
no unique constraint (not even a primary key): if an occurrence ever ran twice, it
would show here as two rows with the same ``scheduled_for``, whatever the ledger claims.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

TABLE = "e2e_side_effects"

_CREATE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    scheduled_job_id VARCHAR(64) NOT NULL,
    scheduled_for VARCHAR(64) NOT NULL,
    run_id INTEGER,
    pid INTEGER NOT NULL,
    recorded_at VARCHAR(64) NOT NULL,
    started_at VARCHAR(64),
    finished_at VARCHAR(64)
)
"""
# How long slow_record takes unless the workflow's kwargs say otherwise.
SLOW_SECONDS = 2.5

_engines: dict[str, Engine] = {}


def engine_for(url: str) -> Engine:
    """A plain engine (no rqflow pragmas, no pool kept across forks) for ``url``."""
    if url not in _engines:
        connect_args = {"timeout": 30} if url.startswith("sqlite") else {}
        _engines[url] = create_engine(_psycopg3(url), connect_args=connect_args, poolclass=NullPool)
    return _engines[url]


def ensure_table(url: str) -> None:
    """Create the side-effect table if it is not there yet."""
    with engine_for(url).begin() as connection:
        connection.execute(text(_CREATE))


def drop_table(url: str) -> None:
    """Remove the side-effect table (tests that share a database clean up after themselves)."""
    with engine_for(url).begin() as connection:
        connection.execute(text(f"DROP TABLE IF EXISTS {TABLE}"))
    engine_for(url).dispose()
    _engines.pop(url, None)


def record(event: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Insert one row for this call into the database named by ``RQFLOW_DATABASE_URL``."""
    return _insert(event, kwargs, recorded_at=datetime.now(UTC).isoformat())


def slow_record(event: dict[str, Any], seconds: float = SLOW_SECONDS, **kwargs: Any) -> dict[str, Any]:
    """Take ``seconds``, then insert one row with the instants this call started and ended."""
    started_at = datetime.now(UTC)
    time.sleep(seconds)  # the workload itself: a run that takes seconds
    finished_at = datetime.now(UTC).isoformat()
    return _insert(event, kwargs, recorded_at=finished_at, started_at=started_at.isoformat(),
                   finished_at=finished_at)


def _insert(event: dict[str, Any], kwargs: dict[str, Any], **instants: str) -> dict[str, Any]:
    """One side-effect row for ``event``, with the given instant columns; the python_call output."""
    url = os.environ["RQFLOW_DATABASE_URL"]
    try:
        ensure_table(url)
    except SQLAlchemyError:  # a concurrent CREATE on PostgreSQL may race; the table exists either way
        pass
    row = {"scheduled_job_id": event["scheduled_job_id"], "scheduled_for": event["scheduled_for"],
           "run_id": event.get("run_id"), "pid": os.getpid(), **instants}
    columns = ", ".join(row)
    values = ", ".join(f":{name}" for name in row)
    with engine_for(url).begin() as connection:
        connection.execute(text(f"INSERT INTO {TABLE} ({columns}) VALUES ({values})"), row)
    return {"recorded": row["scheduled_for"], "pid": row["pid"], "kwargs": kwargs}


class FlakyFailure(ConnectionError):
    """What flaky_record raises on the calls it is told to fail."""


def flaky_record(event: dict[str, Any], failures: int = 2, **kwargs: Any) -> dict[str, Any]:
    """Insert one row for this call, then fail if this occurrence has had at most ``failures`` calls so far.

    Every call leaves its row, so the table shows each attempt: a retried node that
    succeeds on its third try leaves three rows, and a duplicated attempt a fourth.
    """
    result = _insert(event, kwargs, recorded_at=datetime.now(UTC).isoformat())
    calls = len([when for when, _pid in recorded(os.environ["RQFLOW_DATABASE_URL"], event["scheduled_job_id"])
                 if when == datetime.fromisoformat(event["scheduled_for"])])
    if calls <= failures:
        raise FlakyFailure(f"call {calls} of {failures + 1} fails on purpose")
    return {**result, "calls": calls}


@dataclass(frozen=True)
class Span:
    """One slow_record call: which occurrence, and when the call started and ended."""

    scheduled_for: datetime
    started_at: datetime
    finished_at: datetime
    pid: int


def recorded_spans(url: str, scheduled_job_id: str) -> list[Span]:
    """Every slow_record call for one schedule, by start."""
    with engine_for(url).connect() as connection:
        rows = connection.execute(
            text(f"SELECT scheduled_for, started_at, finished_at, pid FROM {TABLE} "
                 "WHERE scheduled_job_id = :sid AND started_at IS NOT NULL"),
            {"sid": scheduled_job_id},
        ).all()
    spans = [Span(datetime.fromisoformat(when), datetime.fromisoformat(start), datetime.fromisoformat(end), int(pid))
             for when, start, end, pid in rows]
    return sorted(spans, key=lambda span: (span.started_at, span.scheduled_for))


def max_concurrency(spans: list[Span]) -> int:
    """The largest number of spans going on at one instant (one ending as another starts: not overlapping)."""
    edges = sorted([(span.started_at, 1) for span in spans] + [(span.finished_at, -1) for span in spans],
                   key=lambda edge: (edge[0], edge[1]))
    going = peak = 0
    for _when, step in edges:
        going += step
        peak = max(peak, going)
    return peak


def recorded(url: str, scheduled_job_id: str) -> list[tuple[datetime, int]]:
    """Every ``(scheduled_for, pid)`` recorded for one schedule, in insertion-independent order."""
    with engine_for(url).connect() as connection:
        rows = connection.execute(
            text(f"SELECT scheduled_for, pid FROM {TABLE} WHERE scheduled_job_id = :sid"),
            {"sid": scheduled_job_id},
        ).all()
    return sorted((datetime.fromisoformat(when), int(pid)) for when, pid in rows)


def _psycopg3(url: str) -> str:
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            return "postgresql+psycopg://" + url[len(bare):]
    return url
