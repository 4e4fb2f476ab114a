"""The peer's job for ``bench/lateness.py``: note how late it started, and nothing else.

Bare rq-scheduler does not tell a job when it was due, so the benchmark passes
the due instant as the argument and the job records ``now - due`` in Redis.
"""

from __future__ import annotations

import time

from rq import get_current_job

LATENESS_KEY = "bench:peer:lateness"


def record_lateness(due_epoch: float) -> None:
    """Push this start's lateness in seconds onto a Redis list the benchmark reads."""
    started = time.time()
    job = get_current_job()
    assert job is not None
    job.connection.rpush(LATENESS_KEY, started - due_epoch)
