"""The log context of an RQ task: its arguments' ids and its RQ job id, bound while it runs.

A decorator rather than a ``with`` block in each task, so the task's own code
stays as it is. The binding is undone when the task returns, which matters for
``SimpleWorker``: it runs jobs one after another in one process, and the next
job's lines must not carry the previous job's ids.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from rq import get_current_job

from rqflow.observability.context import log_context

F = TypeVar("F", bound=Callable[..., Any])


def task_context(**fields: str) -> Callable[[F], F]:
    """Bind log field ``key`` to the task's argument named ``fields[key]``, plus ``rq_job_id``."""

    def decorate(task: F) -> F:
        signature = inspect.signature(task)

        @functools.wraps(task)
        def run(*args: Any, **kwargs: Any) -> Any:
            arguments = signature.bind(*args, **kwargs).arguments
            ids = {key: arguments.get(name) for key, name in fields.items()}
            with log_context(rq_job_id=_current_job_id(), **ids):
                return task(*args, **kwargs)

        return run  # type: ignore[return-value]

    return decorate


def _current_job_id() -> str | None:
    """The RQ job being run (None when the task is called directly, as tests do)."""
    job = get_current_job()
    return job.id if job is not None else None
