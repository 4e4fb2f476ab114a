"""The log context: ids bound in a block reach every record logged inside it, and no further."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from rqflow.observability.context import ContextFilter, bind, current, log_context


def _record(**extra: object) -> logging.LogRecord:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "message", None, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_a_block_binds_ids_and_unbinds_them_on_the_way_out() -> None:
    assert current() == {}
    with log_context(schedule_id="s1", run_id=7):
        with log_context(request_id="r1"):
            assert current() == {"schedule_id": "s1", "run_id": 7, "request_id": "r1"}
        assert current() == {"schedule_id": "s1", "run_id": 7}
    assert current() == {}


def test_bind_inside_a_block_ends_with_the_block() -> None:
    with log_context(schedule_id="s1"):
        bind(run_id=3, rq_job_id=None)
        assert current() == {"schedule_id": "s1", "run_id": 3}
    assert current() == {}


def test_instants_are_written_in_iso_8601_and_numbers_stay_numbers() -> None:
    when = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    with log_context(scheduled_for=when, run_id=12, schedule_id=5):
        assert current() == {"scheduled_for": "2026-03-01T09:30:00+00:00", "run_id": 12, "schedule_id": 5}


def test_the_filter_copies_the_context_onto_records_and_an_explicit_extra_wins() -> None:
    with log_context(schedule_id="bound", run_id=1):
        record = _record(schedule_id="explicit")
        assert ContextFilter().filter(record)
    assert (record.schedule_id, record.run_id) == ("explicit", 1)  # type: ignore[attr-defined]
    plain = _record()
    ContextFilter().filter(plain)
    assert not hasattr(plain, "run_id")
