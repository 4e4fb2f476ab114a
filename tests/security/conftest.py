"""Attacks on a live stack: real ``rqflow web``, ``scheduler`` and ``worker`` processes, real Redis and database.

Each test here is an attack a user of a shared rqflow could make, written as it was found
(see docs/SECURITY.md for the threat model). The fixtures are the end-to-end ones:
``stack`` starts the processes a test asks for over a Redis of its own and, through
``database_url``, both SQLite and PostgreSQL.
"""

from __future__ import annotations

from tests.e2e.conftest import (  # noqa: F401 - fixtures and the report hook, shared with the e2e tier
    e2e_database,
    fresh_sqlite,
    pytest_runtest_makereport,
    stack,
)
