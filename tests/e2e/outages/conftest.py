"""Fixtures of the fault scenarios: a PostgreSQL server a test may stop, and API access for the probes.

Knobs (environment variables, read here only):

- ``RQFLOW_OUTAGE_SECONDS`` (default 12): how long each outage (and each clock jump)
  lasts. The issue's figure is 30 s; 12 s keeps the whole folder near five minutes in
  CI while still spanning several reconcile periods (3 s), a dozen occurrences (1 s
  apart) and more than one API database timeout (10 s).
- ``RQFLOW_LOAD_SECONDS`` (default 20): how long the load scenario keeps its 8
  processes writing.
- ``RQFLOW_RELIABILITY_LOG``: a file each scenario appends its figures to, one JSON
  line per run (see :func:`tests.e2e.books.report`).

The ``stack`` fixture of ``tests/e2e/conftest.py`` runs every scenario; a test that
asks for ``outage_postgres`` gets it on a PostgreSQL server of its own, because
stopping the machine's shared server would break every other test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from rqflow.db import get_engine
from rqflow.migrations import upgrade
from tests.conftest import IN_CI
from tests.e2e.outages.faults import PostgresServer, find_postgres_bin
from tests.helpers import free_port

OUTAGE_SECONDS = float(os.environ.get("RQFLOW_OUTAGE_SECONDS", "12"))
LOAD_SECONDS = float(os.environ.get("RQFLOW_LOAD_SECONDS", "20"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster of the session's own (initdb once), running; removed at the end."""
    bin_dir = find_postgres_bin()
    if bin_dir is None:
        message = "PostgreSQL server binaries (initdb, pg_ctl) not found; the Postgres outage needs them"
        if IN_CI:
            pytest.fail(message + " (CI=true: failing instead of skipping)", pytrace=False)
        pytest.skip(message)
    server = PostgresServer.create(bin_dir, free_port())
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture
def outage_postgres(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, migrated database on the session's own server; dropped afterwards (the server restarted if need be)."""
    postgres_server.ensure_running()
    name = f"rqflow_outage_{uuid.uuid4().hex[:10]}"
    # No pool: the outage cuts every open connection, and a pooled one would fail the teardown.
    admin = create_engine(postgres_server.url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = postgres_server.url(name)
    upgrade(url)
    try:
        yield url
    finally:
        postgres_server.ensure_running()
        for interactive in (False, True):
            get_engine(url, interactive=interactive).dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def e2e_database(request: pytest.FixtureRequest) -> str:
    """As in ``tests/e2e/conftest.py``, and the test's own PostgreSQL server when it asks for ``outage_postgres``."""
    for name in ("outage_postgres", "database_url"):
        if name in request.fixturenames:
            return str(request.getfixturevalue(name))
    return str(request.getfixturevalue("fresh_sqlite"))
