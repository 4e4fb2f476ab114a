"""Fixtures shared by every tier.

- ``database_url``: a migrated database, parametrized over SQLite and the real
  PostgreSQL on 127.0.0.1:5432; tables are emptied after each test.
- ``redis_url``: the real Redis on 127.0.0.1:6379 (database 3); rqflow's and RQ's
  keys are deleted after each test. Tests that flush, kill or restart Redis use
  ``own_redis`` instead, a redis-server of their own on a free port.
- ``settings``: rqflow settings pointing at both, with a 1 s minimum interval.

With CI=true a missing PostgreSQL or Redis fails the run instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from rqflow.db import dispose_engines, get_engine
from rqflow.local_redis import start_redis_server
from rqflow.migrations import upgrade
from rqflow.models import Base
from rqflow.settings import Settings, get_settings
from tests.helpers import free_port

IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_ADMIN_URL = os.environ.get("RQFLOW_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# The python_call targets the tests may call (the operator's list, RQFLOW_PYTHON_CALLABLES).
TEST_CALLABLES = "tests.*"
# What requests from the tests' workflows may reach besides the public Internet (RQFLOW_EGRESS_ALLOW).
TEST_EGRESS_ALLOW = "127.0.0.0/8"
REDIS_TEST_URL = os.environ.get("RQFLOW_TEST_REDIS", "redis://127.0.0.1:6379/3")


def _missing(service: str, error: Exception) -> None:
    message = f"{service} is not reachable ({error}); integration tests need it"
    if IN_CI:
        pytest.fail(message + " (CI=true: failing instead of skipping)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite file for the whole session."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'rqflow.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for the whole session, dropped afterwards."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"rqflow_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        _missing("PostgreSQL", exc)
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    dispose_engines()
    get_engine(url).dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated database (each test runs once per backend), emptied afterwards."""
    url = request.getfixturevalue(f"{request.param}_database")
    yield url
    _empty_tables(url)


def _empty_tables(url: str) -> None:
    engine = get_engine(url)
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The machine's Redis (a test database); rqflow and RQ keys are removed afterwards."""
    client = Redis.from_url(REDIS_TEST_URL)
    try:
        client.ping()
    except (RedisError, OSError) as exc:
        _missing("Redis", exc)
    _delete_keys(client)
    yield REDIS_TEST_URL
    _delete_keys(client)


def _delete_keys(client: Redis) -> None:
    for pattern in ("rq:*", "rqflow:*"):
        keys = list(client.scan_iter(match=pattern, count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start:start + 500])


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[str]:
    """A redis-server of this test's own, on a free port: free to flush, kill or restart."""
    port = free_port()
    process = start_redis_server(port, tmp_path / "redis")
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def settings(database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings for this test, through the environment exactly as the processes read them."""
    monkeypatch.setenv("RQFLOW_DATABASE_URL", database_url)
    monkeypatch.setenv("RQFLOW_REDIS_URL", redis_url)
    monkeypatch.setenv("RQFLOW_MIN_INTERVAL_SECONDS", "1")
    # python_call is off by default; the tests' own targets live under tests/.
    monkeypatch.setenv("RQFLOW_PYTHON_CALLABLES", TEST_CALLABLES)
    # Requests from workflows only reach the public Internet by default; the tests' servers listen on loopback.
    monkeypatch.setenv("RQFLOW_EGRESS_ALLOW", TEST_EGRESS_ALLOW)
    # The test client's site is http://testserver (not loopback), where the session cookie would be Secure.
    monkeypatch.setenv("RQFLOW_COOKIE_SECURE", "false")
    monkeypatch.setenv("RQFLOW_QUEUE", f"test-{uuid.uuid4().hex[:8]}")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()
