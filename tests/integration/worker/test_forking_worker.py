"""rqflow's forking worker: its work horses take turns on one PostgreSQL connection, safely.

Each horse is a new process; on PostgreSQL a connection of its own would be a new server
backend with cold caches for every occurrence. ``rqflow.jobs.forking_worker`` lets the
horses share the worker's one connection, and drops it whenever a horse may have left it
mid-conversation: killed inside a transaction (its row lock must not outlive it), or
holding a connection it never gave back. SQLite connections never cross a fork.
"""

from __future__ import annotations

import os
import time

import pytest
from redis import Redis
from rq import Queue
from rq.job import Job

from rqflow.db import get_engine, make_engine
from rqflow.jobs.forking_worker import CONNECTION_LEFT_BUSY, ForkingWorker, prepare_for_fork
from rqflow.settings import Settings
from tests.helpers import free_port
from tests.integration.conftest import ApiUser, make_schedule, make_workflow

JOBS = "tests.integration.worker.horse_jobs"
# Row locks and backends are PostgreSQL's (SQLite horses share nothing, as the first test checks).
ONLY_POSTGRES = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


def run_all(settings: Settings, redis: Redis, *calls: tuple[str, tuple[object, ...]]) -> list[Job]:
    """Enqueue each (function, args) and let one burst ForkingWorker run them in order."""
    queue = Queue(settings.queue, connection=redis)
    jobs = [queue.enqueue(f"{JOBS}.{name}", *args, job_timeout=30) for name, args in calls]
    ForkingWorker([queue], connection=redis).work(burst=True, logging_level="WARNING")
    return [Job.fetch(job.id, connection=redis) for job in jobs]


def is_postgres(settings: Settings) -> bool:
    return settings.database_url.startswith("postgresql")


def test_horses_share_one_postgres_backend_and_never_an_sqlite_connection(settings: Settings, redis: Redis) -> None:
    jobs = run_all(settings, redis, *[("backend", ())] * 4)
    backends = [job.return_value() for job in jobs]
    if is_postgres(settings):
        assert len(set(backends)) == 1 and backends[0] != 0, backends
    else:
        assert backends == [0, 0, 0, 0]
        prepare_for_fork(get_engine())
        assert get_engine().pool.checkedin() == 0, "no SQLite connection is left to cross the fork"  # type: ignore[attr-defined]


@ONLY_POSTGRES
def test_a_horse_killed_inside_a_transaction_takes_its_lock_and_connection_with_it(
    settings: Settings, redis: Redis, alice: ApiUser
) -> None:
    schedule = make_schedule(alice, make_workflow(alice))
    before, killed, after = run_all(settings, redis, ("backend", ()), ("lock_then_die", (schedule.id,)),
                                    ("lock_briefly", (schedule.id,)))
    assert killed.is_failed
    assert after.is_finished, after.latest_result().exc_string if after.latest_result() else after.get_status()
    assert after.return_value() != before.return_value(), "the next horse had a new backend"


@ONLY_POSTGRES
def test_a_horse_that_keeps_a_connection_reports_it_and_the_next_gets_a_new_one(
    settings: Settings, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    statuses: list[int | None] = []
    real_wait = ForkingWorker.wait_for_horse

    def recording_wait(worker: ForkingWorker) -> tuple[int | None, int | None, object]:
        pid, status, rusage = real_wait(worker)
        statuses.append(status)
        return pid, status, rusage

    monkeypatch.setattr(ForkingWorker, "wait_for_horse", recording_wait)
    leaky, after = run_all(settings, redis, ("leave_a_transaction_open", ()), ("backend", ()))
    assert statuses[0] is not None and os.WIFEXITED(statuses[0])
    assert os.WEXITSTATUS(statuses[0]) == CONNECTION_LEFT_BUSY
    assert after.return_value() != leaky.return_value(), "the connection it kept was not handed on"


def test_with_the_database_away_the_worker_forks_at_once_and_lets_the_horse_wait(settings: Settings) -> None:
    engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/away")
    started = time.monotonic()
    prepare_for_fork(engine)  # neither raises nor retries for database_reconnect_seconds (60 s)
    waited = time.monotonic() - started
    assert waited < settings.database_reconnect_seconds / 2, waited
    assert engine.pool.checkedin() == 0  # type: ignore[attr-defined]
