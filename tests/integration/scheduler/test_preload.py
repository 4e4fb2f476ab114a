"""The worker's warm-up runs an occurrence's statements and leaves nothing behind (both databases, real Redis)."""

from __future__ import annotations

import logging

import pytest
from redis import Redis
from sqlalchemy import func, select

from rqflow.db import get_engine, get_sessionmaker
from rqflow.jobs.preload import warm_statement_cache
from rqflow.models import Base
from rqflow.observability.context import current
from rqflow.settings import Settings
from tests.integration.conftest import ApiUser, make_schedule, make_workflow


def _row_counts() -> dict[str, int]:
    with get_sessionmaker()() as db:
        return {table.name: db.scalar(select(func.count()).select_from(table)) or 0
                for table in Base.metadata.sorted_tables}


def test_the_warm_up_compiles_the_hot_statements_and_rolls_everything_back(
    settings: Settings, redis: Redis, alice: ApiUser
) -> None:
    make_schedule(alice, make_workflow(alice))  # an existing row must stay as it is
    before_rows, before_keys = _row_counts(), sorted(redis.keys("*"))
    engine = get_engine(settings.database_url)
    engine.clear_compiled_cache()

    assert warm_statement_cache(settings.database_url) is True

    assert len(engine._compiled_cache) >= 10  # claim, workflow run, node run, finish
    assert _row_counts() == before_rows
    assert sorted(redis.keys("*")) == before_keys  # its signals went nowhere
    assert current() == {}, "the made-up occurrence's ids would label the worker's own log lines"


def test_a_database_it_cannot_use_costs_only_the_speed_up() -> None:
    assert warm_statement_cache("sqlite:////nonexistent-directory/rqflow.db") is False


def test_the_made_up_run_writes_no_log_lines(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        assert warm_statement_cache(settings.database_url) is True
        logging.getLogger("rqflow.test").info("after the warm-up")
    assert [record.getMessage() for record in caplog.records] == ["after the warm-up"]
