"""When RQ reports that a job's process died, finish its ledger row as ``failed`` at once.

A job killed under rqflow would otherwise leave its ledger row ``running`` (holding the
schedule's slot) until the scheduler's lost-run sweep, a job timeout later. RQ reports
deaths on two paths, and both end in
:func:`rqflow.services.occurrences.fail_running_run`, which fails the row still
``running`` under the job's id:

- **The job process is killed** (a forking worker's work horse: SIGKILL, the OOM killer):
  the worker sees it exit and calls its ``work_horse_killed_handler``; ``rqflow worker``
  passes :func:`horse_killed`.
- **The whole worker dies** (SIGKILL, a lost machine): nobody renews the job's execution
  heartbeat in RQ's ``StartedJobRegistry``; once it expires (a minute or so later), the
  registry's cleanup calls the job's ``on_failure`` callback with ``AbandonedJobError``.
  Every job rqflow queues carries :func:`job_failed` as its ``on_failure`` callback
  (:func:`rqflow.broker.callbacks.on_failure`), and the scheduler runs that cleanup on
  every reconcile pass (:func:`rqflow.broker.callbacks.sweep_abandoned`), since RQ's
  workers run it only every ten minutes.

``on_failure`` also fires when the job itself raises (a claim that hit a database error
after committing, say): the row is then failed with that exception instead of waiting
for the sweep. The handlers never raise: a worker must survive a database outage, and
the sweep remains the backstop.
"""

from __future__ import annotations

import logging
import os
from types import TracebackType
from typing import Any

from redis import Redis
from rq.exceptions import AbandonedJobError
from rq.job import Job

from rqflow.broker.signals import RedisSignals
from rqflow.db import session_scope
from rqflow.models import utcnow
from rqflow.services.occurrences import fail_running_run

log = logging.getLogger(__name__)

ABANDONED_ERROR = "the worker running the job was lost (RQ found its heartbeat expired: AbandonedJobError)"


def horse_killed(job: Job, retpid: int | None, ret_val: int | None, rusage: Any) -> None:
    """RQ's ``work_horse_killed_handler``: the process running ``job`` died without finishing it."""
    _fail(job, horse_error(ret_val))


def horse_error(wait_status: int | None) -> str:
    """The ledger error for a work horse that ended with ``wait_status`` (as ``os.wait4`` returns it)."""
    if wait_status is not None and os.WIFSIGNALED(wait_status):
        return f"the worker's job process was killed (signal {os.WTERMSIG(wait_status)})"
    if wait_status is not None and os.WIFEXITED(wait_status):
        return f"the worker's job process exited with status {os.WEXITSTATUS(wait_status)} before finishing the run"
    return "the worker's job process ended before finishing the run"


def job_failed(
    job: Job, connection: Redis, exc_type: type[BaseException], exc_value: BaseException | None,
    traceback: TracebackType | None,
) -> None:
    """RQ's ``on_failure`` callback: the job raised, or its worker was found dead (``AbandonedJobError``)."""
    if issubclass(exc_type, AbandonedJobError):
        error = ABANDONED_ERROR
    else:
        error = f"the job failed: {exc_type.__name__}: {exc_value}"
    _fail(job, error)


def _fail(job: Job, error: str) -> None:
    """Fail the row ``job`` was running, if any; log instead of raising."""
    try:
        with session_scope() as db:
            fail_running_run(db=db, rq_job_id=job.id, error=error, now=utcnow(), signals=RedisSignals(job.connection))
    except Exception:  # the worker must go on; the scheduler's lost-run sweep fails the row later
        log.exception("could not record the failure of job %s (%s)", job.id, error)
