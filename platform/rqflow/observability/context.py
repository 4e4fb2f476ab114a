"""The ids a log line carries, kept in a :class:`~contextvars.ContextVar`.

Code that knows an id binds it once (the RQ task entry, the API middleware, the
scheduler when it handles one schedule); every line logged underneath, in any
module, then carries it, because :class:`ContextFilter` copies the bound ids onto
each record. A ``ContextVar`` rather than a thread-local because the API runs
requests as asyncio tasks and copies the context into its worker threads.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

# The fields a line may carry, in the order the text format prints them.
FIELDS = ("request_id", "schedule_id", "scheduled_for", "run_id", "workflow_run_id", "rq_job_id")

_bound: ContextVar[dict[str, str | int]] = ContextVar("rqflow_log_context")


def bind(**fields: Any) -> None:
    """Add ids to the current context until the enclosing :func:`log_context` ends (None values are left out)."""
    _bound.set({**_bound.get({}), **_loggable(fields)})


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Bind ids for the ``with`` block; anything :func:`bind` adds inside is dropped on the way out too."""
    token = _bound.set({**_bound.get({}), **_loggable(fields)})
    try:
        yield
    finally:
        _bound.reset(token)


def current() -> dict[str, str | int]:
    """The ids bound now."""
    return dict(_bound.get({}))


def _loggable(fields: dict[str, Any]) -> dict[str, str | int]:
    """Ids as JSON-friendly values: numbers stay numbers, instants become ISO 8601 as the API writes them."""
    return {key: _value(value) for key, value in fields.items() if value is not None}


def _value(value: Any) -> str | int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return value.isoformat() if isinstance(value, datetime) else str(value)


class ContextFilter(logging.Filter):
    """Copy the bound ids onto each record; an id passed explicitly with ``extra=`` wins."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _bound.get({}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True
