"""Engine and sessions, with the SQLite settings that let several processes share one file.

SQLite holds up under the web, scheduler and worker processes only with WAL mode
(readers never block the writer), a busy timeout (a writer waits instead of
failing), and write transactions that take the lock up front with
``BEGIN IMMEDIATE``: a deferred transaction that reads and then writes can fail
with "database is locked" no matter the timeout, because SQLite cannot upgrade
its read lock while another writer waits.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from rqflow.settings import get_settings

SQLITE_BUSY_TIMEOUT_MS = 30_000

_engines: dict[str, Engine] = {}
_sessionmakers: dict[str, sessionmaker[Session]] = {}


def make_engine(url: str) -> Engine:
    """Create an engine for ``url``, configured for safe multi-process use."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _configure_sqlite(engine: Engine) -> None:
    """WAL, busy timeout, foreign keys, and BEGIN IMMEDIATE for every transaction."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for ``url`` (default: the configured database)."""
    url = url or get_settings().database_url
    if url not in _engines:
        _engines[url] = make_engine(url)
    return _engines[url]


def get_sessionmaker(url: str | None = None) -> sessionmaker[Session]:
    """The session factory bound to :func:`get_engine`; objects survive commit."""
    url = url or get_settings().database_url
    if url not in _sessionmakers:
        _sessionmakers[url] = sessionmaker(bind=get_engine(url), expire_on_commit=False)
    return _sessionmakers[url]


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """One short transaction: commit on success, roll back on error, always close."""
    session = get_sessionmaker(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dispose_engines() -> None:
    """Forget pooled connections; a forked child must not reuse its parent's sockets."""
    for engine in _engines.values():
        engine.dispose(close=False)


os.register_at_fork(after_in_child=dispose_engines)


def on_commit(db: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once ``db`` commits (dropped on rollback).

    Services use it to tell the scheduler about a change only when the change is
    visible to others; a notification sent before the commit could be acted on
    against the old row.
    """
    db.info.setdefault(_ON_COMMIT, []).append(callback)


_ON_COMMIT = "rqflow_on_commit"


@contextmanager
def savepoint(db: Session) -> Iterator[None]:
    """A nested transaction: if the block raises, its writes and its on-commit callbacks are both undone.

    Entry points that turn errors into answers (agent tools) use it, so a refused
    call leaves no half-written row behind in the transaction that goes on.
    """
    callbacks = db.info.setdefault(_ON_COMMIT, [])
    mark = len(callbacks)
    try:
        with db.begin_nested():
            yield
    except BaseException:
        del callbacks[mark:]
        raise


@event.listens_for(Session, "after_commit")
def _run_on_commit(db: Session) -> None:
    for callback in db.info.pop(_ON_COMMIT, []):
        try:
            callback()
        except Exception:  # the commit stands; the reconcile loop repairs a lost notification
            logging.getLogger(__name__).exception("on_commit callback failed")


@event.listens_for(Session, "after_rollback")
def _drop_on_commit(db: Session) -> None:
    db.info.pop(_ON_COMMIT, None)
