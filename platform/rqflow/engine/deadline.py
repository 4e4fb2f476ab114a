"""A per-node time limit, enforced with ``SIGALRM`` in the worker's main thread.

RQ's own job timeout uses the same alarm, so the node's deadline is armed only
up to whatever the job has left, and the job's alarm is re-armed afterwards: if
the job's deadline comes first, RQ's handler runs as it would have. Outside the
main thread (no signals there) the limit cannot be enforced and is skipped;
``http_request`` nodes still honour their own HTTP timeout.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any


class NodeTimeout(TimeoutError):
    """The node ran past its ``timeout_seconds``."""


class RunTimedOut(TimeoutError):
    """The run went past its deadline (the schedule's ``run_timeout_seconds``); never retried."""


@contextmanager
def deadline(seconds: float | None, *, limit: float | None = None,
             expired: Callable[[], BaseException] | None = None) -> Iterator[None]:
    """Raise NodeTimeout (or what ``expired`` makes) in the block if it runs longer than ``seconds`` (None: no limit).

    ``limit`` is the node's whole time limit, for the message, when ``seconds`` is what is left of it.
    """
    if seconds is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous_handler = signal.getsignal(signal.SIGALRM)
    job_left, _ = signal.getitimer(signal.ITIMER_REAL)
    started = time.monotonic()
    job_alarm_fired = False

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        nonlocal job_alarm_fired
        if time.monotonic() - started >= seconds - 0.001:
            if expired is not None:
                raise expired()
            raise NodeTimeout(f"the node ran longer than its timeout_seconds ({limit or seconds:g} s)")
        job_alarm_fired = True
        _call(previous_handler, signum, frame)  # the job's own deadline came first

    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, min(seconds, job_left) if job_left else seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if job_left and not job_alarm_fired:  # once fired, it must not fire again in RQ's own handling
            signal.setitimer(signal.ITIMER_REAL, max(job_left - (time.monotonic() - started), 0.001))


def _call(handler: Any, signum: int, frame: FrameType | None) -> None:
    """Do what the alarm would have done without us."""
    if callable(handler):
        handler(signum, frame)
    elif handler != signal.SIG_IGN:
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)
