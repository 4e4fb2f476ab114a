"""RQ job ids: deterministic, parseable, and only characters RQ accepts."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from rqflow.job_ids import fire_job_id, parse_fire_job_id, run_job_id

WHEN = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


def test_fire_ids_round_trip_and_use_safe_characters() -> None:
    job_id = fire_job_id("6f1c0d3e-9a7b-4c1d-8e2f-0a1b2c3d4e5f", WHEN)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", job_id)
    assert parse_fire_job_id(job_id) == ("6f1c0d3e-9a7b-4c1d-8e2f-0a1b2c3d4e5f", int(WHEN.timestamp()))


def test_other_ids_are_not_fire_ids() -> None:
    assert parse_fire_job_id(run_job_id("abc", 7)) is None
    assert parse_fire_job_id("rqflow-fire-nope") is None
