"""Engine and sessions, with the SQLite settings that let several processes share one file.

SQLite holds up under the web, scheduler and worker processes only with WAL mode
(readers never block the writer), a busy timeout (a writer waits instead of
failing), and write transactions that take the lock up front with
``BEGIN IMMEDIATE``: a deferred transaction that reads and then writes can fail
with "database is locked" no matter the timeout, because SQLite cannot upgrade
its read lock while another writer waits.

Two kinds of process wait differently for a database that is busy or away:

- **Interactive** (the API): a request waits at most ``api_database_timeout_seconds``
  for SQLite's write lock or for a PostgreSQL connection, statement or row lock,
  then fails, and the API answers 503. A client is better served by a quick
  "retry later" than by a request that hangs for as long as an outage lasts.
- **Background** (workers, the scheduler, the CLI): they wait longer for SQLite's
  write lock (``sqlite_busy_timeout_seconds``) and keep reconnecting to a
  PostgreSQL that went away (``database_reconnect_seconds``), so a restart or a
  long transaction elsewhere delays a run instead of failing it.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from rqflow.settings import Settings, get_settings

log = logging.getLogger(__name__)

# A background process gives up on connecting to PostgreSQL after this long per attempt.
CONNECT_TIMEOUT_SECONDS = 10
# Between reconnection attempts, back off from the first delay to at most the last.
RECONNECT_FIRST_DELAY_SECONDS = 0.1
RECONNECT_MAX_DELAY_SECONDS = 2.0
# libpq reads a connect_timeout below 2 s as 2 s.
LIBPQ_MIN_CONNECT_TIMEOUT = 2

_engines: dict[tuple[str, bool], Engine] = {}
_sessionmakers: dict[tuple[str, bool], sessionmaker[Session]] = {}


def make_engine(url: str, *, interactive: bool = False) -> Engine:
    """Create an engine for ``url``, configured for safe multi-process use.

    ``interactive`` engines (the API's) fail fast when the database is locked or
    away; the others wait and reconnect (see the module docstring).
    """
    settings = get_settings()
    if url.startswith("sqlite"):
        timeout = settings.api_database_timeout_seconds if interactive else settings.sqlite_busy_timeout_seconds
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": timeout})
        _configure_sqlite(engine, busy_timeout_ms=int(timeout * 1000))
        return engine
    if interactive:
        return _interactive_postgres(url, settings)
    engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10,
                           connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS})
    _reconnect_patiently(engine, settings.database_reconnect_seconds)
    return engine


def _interactive_postgres(url: str, settings: Settings) -> Engine:
    """Bounded waits everywhere a request could otherwise hang: connecting, the pool, a statement, a row lock."""
    timeout = settings.api_database_timeout_seconds
    millis = int(timeout * 1000)
    connect_args = {
        "connect_timeout": max(LIBPQ_MIN_CONNECT_TIMEOUT, math.ceil(timeout)),
        "options": f"-c statement_timeout={millis} -c lock_timeout={millis}",
    }
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, pool_timeout=timeout,
                         connect_args=connect_args)


# Set while a caller would rather fail at once than wait for a database that is away (see impatient()).
_impatient: ContextVar[bool] = ContextVar("rqflow_db_impatient", default=False)


@contextmanager
def impatient() -> Iterator[None]:
    """Within this block, a refused connection fails at once instead of being retried patiently."""
    token = _impatient.set(True)
    try:
        yield
    finally:
        _impatient.reset(token)


def _reconnect_patiently(engine: Engine, patience_seconds: float) -> None:
    """Retry a refused or failed connection for up to ``patience_seconds`` (a restarting server), then raise."""

    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: tuple[Any, ...], cparams: dict[str, Any]) -> Any:
        deadline = time.monotonic() + (0.0 if _impatient.get() else patience_seconds)
        delay = RECONNECT_FIRST_DELAY_SECONDS
        while True:
            try:
                return dialect.connect(*cargs, **cparams)
            except dialect.loaded_dbapi.OperationalError as exc:
                if time.monotonic() + delay > deadline:
                    raise
                log.warning("database unavailable, retrying in %.1f s: %s", delay, str(exc).strip())
                time.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_DELAY_SECONDS)


def _configure_sqlite(engine: Engine, *, busy_timeout_ms: int) -> None:
    """WAL, busy timeout, foreign keys, and BEGIN IMMEDIATE for every transaction."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def get_engine(url: str | None = None, *, interactive: bool = False) -> Engine:
    """The process-wide engine for ``url`` (default: the configured database), interactive or background."""
    key = (url or get_settings().database_url, interactive)
    if key not in _engines:
        _engines[key] = make_engine(key[0], interactive=interactive)
    return _engines[key]


def get_sessionmaker(url: str | None = None, *, interactive: bool = False) -> sessionmaker[Session]:
    """The session factory bound to :func:`get_engine`; objects survive commit."""
    key = (url or get_settings().database_url, interactive)
    if key not in _sessionmakers:
        _sessionmakers[key] = sessionmaker(bind=get_engine(key[0], interactive=interactive), expire_on_commit=False)
    return _sessionmakers[key]


@contextmanager
def session_scope(url: str | None = None, *, interactive: bool = False) -> Iterator[Session]:
    """One short transaction: commit on success, roll back on error, always close."""
    session = get_sessionmaker(url, interactive=interactive)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dispose_engines(*, keep: Collection[int] = ()) -> None:
    """Forget pooled connections (but those of the engines whose ids are in ``keep``); a forked child must
    not reuse its parent's sockets."""
    for engine in _engines.values():
        if id(engine) not in keep:
            engine.dispose(close=False)


# Engines whose pooled connections the next forked child keeps (the worker's horses, rqflow.jobs.forking_worker).
_shared_with_next_child: set[int] = set()


def share_with_next_child(engine: Engine) -> None:
    """Let the next child this process forks keep ``engine``'s pooled connections, which the caller vouches
    are idle and will not use itself until that child has ended."""
    _shared_with_next_child.add(id(engine))


def _after_fork_in_child() -> None:
    dispose_engines(keep=_shared_with_next_child)
    _shared_with_next_child.clear()


os.register_at_fork(after_in_child=_after_fork_in_child, after_in_parent=_shared_with_next_child.clear)


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
