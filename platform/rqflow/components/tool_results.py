"""Tool answers: ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": {...}}`` with a hint.

Every caller (a workflow node, the tool API, the agent node, MCP) gets the same
shape, and a refused call never raises: an agent reads the message and the hint
and tries again.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from rqflow.errors import (
    Conflict,
    IntervalTooSmall,
    InvalidCronExpression,
    InvalidStateTransition,
    NeverFires,
    NotFound,
    RqflowError,
    RunAtInPast,
    ScheduleLimitReached,
    UnknownTimezone,
)

HINTS: list[tuple[type[RqflowError], str]] = [
    (InvalidCronExpression, ("a cron expression has five fields: minute hour day-of-month month day-of-week, "
                             "e.g. '0 9 * * 1-5' for 09:00 on weekdays or '*/15 * * * *' for every 15 minutes")),
    (UnknownTimezone, "use an IANA timezone name such as 'UTC', 'Europe/Berlin' or 'America/New_York'"),
    (IntervalTooSmall, "choose a longer interval_seconds or a sparser cron expression"),
    (RunAtInPast, "run_at must be in the future, with an offset, e.g. '2030-01-01T09:00:00+01:00'"),
    (NeverFires, "check the cron expression's day and month, and that end_at is in the future"),
    (ScheduleLimitReached, "pause or stop one of your schedules first; schedule_list shows them"),
    (InvalidStateTransition, "a stopped schedule cannot change; create a new one with schedule_create"),
    (NotFound, "call schedule_list to see the ids of your schedules"),
]
FIELD_HINTS = {
    "workflow_id": "workflow_id must be the id of one of your own workflows",
    "trigger_node_id": "trigger_node_id must be a trigger_schedule node of that workflow, or null",
}
KINDS: list[tuple[type[RqflowError], str]] = [(NotFound, "not_found"), (Conflict, "conflict")]
DEFAULT_HINT = "correct the named field and call the tool again; the tool's input schema lists every field"


def success(result: Any) -> dict[str, Any]:
    """A successful answer, made JSON-safe."""
    return {"ok": True, "result": json.loads(json.dumps(result, default=str))}


def failure(error_type: str, message: str, field: str | None, hint: str, kind: str = "invalid_input") -> dict[str, Any]:
    """A refused call; ``kind`` is ``invalid_input``, ``not_found`` or ``conflict``."""
    return {"ok": False, "error": {"type": error_type, "kind": kind, "field": field, "message": message,
                                   "hint": hint}}


def from_domain_error(exc: RqflowError) -> dict[str, Any]:
    """A domain error (the same one the REST API maps to 4xx), with the hint that fits it."""
    hint = next((text for cls, text in HINTS if isinstance(exc, cls)), None)
    hint = hint or FIELD_HINTS.get(exc.field or "", DEFAULT_HINT)
    kind = next((name for cls, name in KINDS if isinstance(exc, cls)), "invalid_input")
    return failure(type(exc).__name__, exc.message, exc.field, hint, kind)


def from_validation_error(exc: ValidationError) -> dict[str, Any]:
    """The first problem of an input that does not match the schema, naming its field."""
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    message = f"{field}: {first['msg']}" if field else str(first["msg"])
    if first["type"] == "extra_forbidden":
        message = f"{field} is not a field of this tool"
    return failure("InvalidInput", message, field, FIELD_HINTS.get(field or "", DEFAULT_HINT))
