"""The forking worker ``rqflow worker`` runs: RQ's ``Worker``, whose work horses take turns on one PostgreSQL connection.

A work horse is a new process for every job, so it would open a database connection of
its own for every occurrence: on PostgreSQL a new server backend, whose catalog caches
start cold; measured, that was about a third of a forked occurrence's cost
(``bench/worker_cost.py``, docs/PERFORMANCE.md). Instead the worker makes sure, before
each fork, that its pool holds one checked, idle connection, and the horse uses it.
Only one process ever talks on it at a time: the worker does no database work while a
horse runs, and a horse that ends cleanly leaves the connection idle, exactly as the
worker's own copy of it believes. The rules that keep it so:

- A horse that did not end cleanly (killed, crashed, or a connection left checked out
  or inside a transaction, which the horse checks before it exits) may have left the
  connection in the middle of a conversation. The worker then closes its copy at once,
  which ends the server's session and so releases any row lock the horse held, before
  it runs RQ's failure handling (which uses the database) or forks the next horse.
- Server-side prepared statements are off on the shared connection: a statement one
  horse prepared would be unknown to the next.
- Only for PostgreSQL without TLS: a TLS session's state cannot be carried by two
  processes (the worker looks once, then leaves its horses to connect on their own, as
  RQ's worker does), and an SQLite connection must never cross a fork at all (its locks belong
  to the process that took them), so with SQLite the worker closes any connection it
  has before it forks, and each horse opens its own (a fraction of a millisecond).
"""

from __future__ import annotations

import logging
import os
import random
from typing import Any

from rq import Worker
from rq.job import Job
from rq.queue import Queue
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from rqflow.db import get_engine, impatient, share_with_next_child

log = logging.getLogger(__name__)
RQ_WORKER_LOG = logging.getLogger("rq.worker")  # the logger RQ's own horse uses

# A horse exits with this when it leaves a database connection checked out or in a transaction.
CONNECTION_LEFT_BUSY = 3
# Engines whose connections use TLS: their horses connect on their own, and the worker holds none.
_TLS_ENGINES: set[int] = set()


class ForkingWorker(Worker):
    """RQ's forking ``Worker``, with the one database connection its horses share (module docstring)."""

    def fork_work_horse(self, job: Job, queue: Queue) -> None:
        """Make the connection the horse will inherit ready (or, where it cannot be shared, leave none), then fork."""
        prepare_for_fork(get_engine())
        super().fork_work_horse(job, queue)

    def main_work_horse(self, job: Job, queue: Queue) -> None:
        """RQ's own horse, which also exits non-zero when it leaves a connection busy (the worker then drops it)."""
        random.seed()
        self.setup_work_horse_signals()  # type: ignore[no-untyped-call]
        self._is_horse = True
        self.log = RQ_WORKER_LOG
        try:
            self.perform_job(job, queue, self.execution)  # type: ignore[arg-type]
        except BaseException:  # noqa: BLE001 - as RQ: whatever escapes, the horse ends with 1
            os._exit(1)
        os._exit(os.EX_OK if connections_idle(get_engine()) else CONNECTION_LEFT_BUSY)

    def wait_for_horse(self) -> tuple[int | None, int | None, Any]:
        """Wait for the horse; if it did not end cleanly, close the shared connection before anything else runs."""
        pid, status, rusage = super().wait_for_horse()
        if status != os.EX_OK:
            drop_connections(get_engine())
        return pid, status, rusage


def prepare_for_fork(engine: Engine) -> None:
    """Leave in the pool one checked, idle connection the horse may share, or none where none may be shared.

    Never raises and never waits for a database that is away: the horse then connects on its
    own, patiently, as it would without sharing, while the worker keeps its heartbeat.
    """
    if engine.dialect.name != "postgresql" or id(engine) in _TLS_ENGINES:
        drop_connections(engine)
        return
    try:
        with impatient(), engine.connect() as connection:  # makes one if the pool is empty; pre-ping checks it
            shared = connection.connection.dbapi_connection
            if shared is None or shared.pgconn.ssl_in_use:
                # A TLS session cannot be carried by two processes: close it, and stop trying for this engine.
                _TLS_ENGINES.add(id(engine))
                connection.invalidate()
                return
            shared.prepare_threshold = None
    except SQLAlchemyError as exc:
        log.info("no database connection to share with the next job's process: %s", exc)
        drop_connections(engine)
        return
    share_with_next_child(engine)


def connections_idle(engine: Engine) -> bool:
    """Whether every connection is back in the pool: checked in means rolled back (SQLAlchemy's reset on
    return), or closed if the rollback failed, so none is left inside a transaction."""
    return engine.pool.checkedout() == 0  # type: ignore[attr-defined, no-any-return]


def drop_connections(engine: Engine) -> None:
    """Close every pooled connection now (the server ends their sessions); the next user opens a new one."""
    if engine.pool.checkedin():  # type: ignore[attr-defined]
        engine.dispose()
