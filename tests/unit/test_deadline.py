"""The per-node deadline: raises in time, and leaves the job's own alarm (RQ's timeout) working."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from types import FrameType

import pytest

from rqflow.engine.deadline import NodeTimeout, deadline


class JobTimeout(Exception):
    """Stands for RQ's JobTimeoutException."""


@pytest.fixture
def job_alarm() -> Iterator[None]:
    """An outer 'job' alarm handler, as RQ's death penalty installs one."""

    def on_job_alarm(signum: int, frame: FrameType | None) -> None:
        raise JobTimeout()

    previous = signal.signal(signal.SIGALRM, on_job_alarm)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


def spin(seconds: float) -> None:
    """Busy for ``seconds`` in small sleeps (a signal interrupts a sleep)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.01)


def test_a_block_past_its_deadline_is_stopped() -> None:
    """A 0.2 s limit stops a 5 s block long before it would end."""
    outer, _ = signal.getitimer(signal.ITIMER_REAL)  # pytest-timeout's own alarm, if any
    started = time.monotonic()
    with pytest.raises(NodeTimeout, match="0.2 s"), deadline(0.2):
        spin(5)
    elapsed = time.monotonic() - started
    assert elapsed < 4
    left, _ = signal.getitimer(signal.ITIMER_REAL)
    assert left == 0 if outer == 0 else 0 < left <= outer - elapsed + 0.01, "only the outer alarm is left"


def test_a_block_within_its_deadline_is_untouched() -> None:
    """A fast block finishes; None means no limit at all."""
    with deadline(5):
        spin(0.05)
    with deadline(None):
        spin(0.05)


def test_the_jobs_alarm_is_kept_and_rearmed(job_alarm: None) -> None:
    """A node inside a job with 10 s left: after the node, the job's alarm is pending again."""
    signal.setitimer(signal.ITIMER_REAL, 10)
    with deadline(1):
        spin(0.05)
    left, _ = signal.getitimer(signal.ITIMER_REAL)
    assert 9 < left < 10


def test_the_jobs_deadline_wins_when_it_comes_first(job_alarm: None) -> None:
    """A job with 0.2 s left and a node allowed 5 s: the job's handler fires, not the node's."""
    signal.setitimer(signal.ITIMER_REAL, 0.2)
    with pytest.raises(JobTimeout), deadline(5):
        spin(5)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0), "the job's alarm, once fired, is not armed again"
