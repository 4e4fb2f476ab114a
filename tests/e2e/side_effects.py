"""A ``python_call`` target for the end-to-end tests: one row per call, with no unique key.

The worker subprocess imports it as ``tests.e2e.side_effects:record``. The table
deliberately has no unique constraint (not even a primary key): if an occurrence
ever ran twice, it would show here as two rows with the same ``scheduled_for``,
whatever the ledger claims.
"""

from __future__ import annotations

import os
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
    recorded_at VARCHAR(64) NOT NULL
)
"""

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
    url = os.environ["RQFLOW_DATABASE_URL"]
    try:
        ensure_table(url)
    except SQLAlchemyError:  # a concurrent CREATE on PostgreSQL may race; the table exists either way
        pass
    row = {
        "scheduled_job_id": event["scheduled_job_id"],
        "scheduled_for": event["scheduled_for"],
        "run_id": event.get("run_id"),
        "pid": os.getpid(),
        "recorded_at": datetime.now(UTC).isoformat(),
    }
    with engine_for(url).begin() as connection:
        connection.execute(
            text(
                f"INSERT INTO {TABLE} (scheduled_job_id, scheduled_for, run_id, pid, recorded_at) "
                "VALUES (:scheduled_job_id, :scheduled_for, :run_id, :pid, :recorded_at)"
            ),
            row,
        )
    return {"recorded": row["scheduled_for"], "pid": row["pid"], "kwargs": kwargs}


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
