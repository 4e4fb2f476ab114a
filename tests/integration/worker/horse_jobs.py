"""Jobs the forking worker's tests run in its work horses (importable by path, as RQ needs)."""

from __future__ import annotations

import os
import signal

from sqlalchemy import text

from rqflow.db import get_engine, session_scope


def backend() -> int:
    """The database session this horse talks to: PostgreSQL's backend pid (0 on SQLite)."""
    with session_scope() as db:
        if db.get_bind().dialect.name != "postgresql":
            return 0
        return int(db.execute(text("select pg_backend_pid()")).scalar_one())


def lock_then_die(schedule_id: str) -> None:
    """Take the schedule's row lock inside a transaction, then die as a killed horse does."""
    with session_scope() as db:
        db.execute(text("select id from scheduled_jobs where id = :id for update"), {"id": schedule_id})
        os.kill(os.getpid(), signal.SIGKILL)


def lock_briefly(schedule_id: str) -> int:
    """Take the schedule's row lock, waiting at most 2 s for it; the backend pid."""
    with session_scope() as db:
        db.execute(text("set local lock_timeout = '2s'"))
        db.execute(text("select id from scheduled_jobs where id = :id for update"), {"id": schedule_id})
        return int(db.execute(text("select pg_backend_pid()")).scalar_one())


def leave_a_transaction_open() -> int:
    """Check a connection out inside a transaction and never give it back (a defect the horse must report)."""
    connection = get_engine().connect()
    connection.begin()
    connection.execute(text("select 1"))
    leaked.append(connection)
    return int(connection.execute(text("select pg_backend_pid()")).scalar_one())


leaked: list[object] = []
