"""Form posts: the urlencoded body, and the schedule form turned into the API's own request models.

The form's text becomes exactly what a REST client would send (blank means unset,
numbers become integers, a ``datetime-local`` value is read in the form's
timezone), then the API's pydantic models and services check it, so the form
refuses precisely what the API refuses, naming the same field.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from rqflow.errors import InvalidInput
from rqflow.schemas.notify import MAX_NOTIFY_ENTRIES, notify_line, parse_notify_line
from rqflow.schemas.schedule import ScheduleCreate, SchedulePreviewRequest, ScheduleUpdate
from rqflow.services.schedule_rules import SPACING_FIELD
from rqflow.timing import resolve_timezone

M = TypeVar("M", bound=BaseModel)

# A form of ours has fewer than 30 fields; more is not one of ours.
MAX_FORM_FIELDS = 100
CADENCE_FIELDS = ("schedule_type", "cron_expression", "interval_seconds", "run_at", "timezone", "start_at", "end_at")
SCHEDULE_FIELDS = (*CADENCE_FIELDS, "name", "description", "max_runs", "catchup_policy", "catchup_window_seconds",
                   "overlap_policy", "jitter_seconds", "pause_after_failures", "run_timeout_seconds", "run_retention_days", "max_budget_per_run_usd",
                   "max_tokens_per_run", "notify")
INTEGER_FIELDS = {"workflow_id", "interval_seconds", "max_runs", "catchup_window_seconds", "jitter_seconds",
                  "pause_after_failures", "run_timeout_seconds", "run_retention_days", "max_tokens_per_run"}
DECIMAL_FIELDS = {"max_budget_per_run_usd"}
DECIMAL = re.compile(r"\d+(\.\d+)?|\.\d+")
TIME_FIELDS = {"run_at", "start_at", "end_at"}
# Longer than any INTEGER column holds, and short of the length at which int() itself refuses.
MAX_NUMBER_DIGITS = 18
# Free text that is sent even when blank (the API's own checks then speak about it).
TEXT_FIELDS = {"name", "description"}
# A textarea of notify entries, one per line (``failed,timeout https://…``); blank means none.
NOTIFY_FIELD = "notify"


async def read_form(request: Request) -> dict[str, str]:
    """The urlencoded body, first value per name; parsed here so the UI needs no multipart library."""
    body = (await request.body()).decode("utf-8", errors="replace")
    try:
        pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError as exc:
        raise InvalidInput("the form has too many fields") from exc
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value)
    return form


FormDep = Annotated[dict[str, str], Depends(read_form)]


def schedule_values(form: dict[str, str], fields: tuple[str, ...]) -> dict[str, Any]:
    """The form's ``fields`` as API values; the chosen kind's field is kept, the other kinds' are unset."""
    values = {name: _value(name, form.get(name, "").strip(), form) for name in fields}
    kind = values.get("schedule_type")
    for other, field in SPACING_FIELD.items():
        if other != kind and field in values:
            values[field] = None
    return values


def create_request(form: dict[str, str]) -> ScheduleCreate:
    """The body of ``POST /api/v1/schedules`` this form stands for; unset fields take the API's defaults."""
    values = schedule_values(form, (*SCHEDULE_FIELDS, "workflow_id"))
    return validated(ScheduleCreate, {name: value for name, value in values.items() if value is not None})


def update_request(form: dict[str, str]) -> ScheduleUpdate:
    """The body of ``PATCH /api/v1/schedules/{id}``: every field of the form, a blank one cleared."""
    values = schedule_values(form, SCHEDULE_FIELDS)
    for name, default in (("jitter_seconds", 0), ("catchup_policy", "latest"), ("overlap_policy", "skip")):
        values[name] = default if values[name] is None else values[name]
    return validated(ScheduleUpdate, values)


def preview_request(form: dict[str, str], *, count: int) -> SchedulePreviewRequest:
    """The body of ``POST /api/v1/schedules/preview`` for the cadence typed so far."""
    values = schedule_values(form, CADENCE_FIELDS)
    values = {name: value for name, value in values.items() if value is not None}
    return validated(SchedulePreviewRequest, {**values, "count": count})


def validated(model: type[M], values: dict[str, Any]) -> M:
    """``model`` built from ``values``, or InvalidInput naming the first bad field, as the API's 422 does."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        raise InvalidInput(f"{field}: {first['msg']}" if field else first["msg"], field=field) from exc


def local_instant(name: str, text: str, timezone: str) -> datetime | None:
    """A ``datetime-local`` value (no offset) read in ``timezone``; blank is None."""
    if not text:
        return None
    zone = resolve_timezone(timezone)
    try:
        naive = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"{name}: {text!r} is not a date and time", field=name) from exc
    return naive.replace(tzinfo=zone) if naive.tzinfo is None else naive


def notify_text(entries: list[dict[str, Any]] | None) -> list[str]:
    """Stored notify entries as the lines the form's textarea reads (one that no longer reads, as stored)."""
    lines = []
    for entry in entries or []:
        try:
            lines.append(notify_line(entry))
        except ValueError:  # pydantic's ValidationError is one: the line then fails on save, naming itself
            lines.append(str(entry))
    return lines


def notify_problem(form: dict[str, str], field: str, message: str) -> str:
    """The service's refusal of entry ``notify.N…`` (say, email without SMTP), naming the line it is about."""
    index = field.split(".")[1] if "." in field else ""
    lines = _notify_lines(form.get(NOTIFY_FIELD, ""))
    if not index.isdigit() or int(index) >= len(lines):
        return f"{field}: {message}"
    return f"notify: {lines[int(index)]!r}: {message}"


def _notify(text: str) -> list[dict[str, Any]] | None:
    """The textarea's entries as the API's ``notify`` list; a line that does not read names itself."""
    lines = _notify_lines(text)
    if len(lines) > MAX_NOTIFY_ENTRIES:
        raise InvalidInput(f"notify: at most {MAX_NOTIFY_ENTRIES} entries (got {len(lines)})", field=NOTIFY_FIELD)
    entries = []
    for line in lines:
        try:
            entries.append(parse_notify_line(line).model_dump())
        except ValueError as exc:
            raise InvalidInput(f"notify: {exc}", field=NOTIFY_FIELD) from exc
    return entries or None


def _notify_lines(text: str) -> list[str]:
    """The non-blank lines, the N-th being entry N (as ``notify.N`` in the API's errors)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def _value(name: str, text: str, form: dict[str, str]) -> Any:
    if name in TEXT_FIELDS:
        return text
    if not text:
        return None
    if name == NOTIFY_FIELD:
        return _notify(text)
    if name in INTEGER_FIELDS:
        if not text.lstrip("-").isdigit() or len(text) > MAX_NUMBER_DIGITS:
            raise InvalidInput(f"{name}: {text!r} is not a whole number", field=name)
        return int(text)
    if name in DECIMAL_FIELDS:
        return _decimal(name, text)
    if name in TIME_FIELDS:
        return local_instant(name, text, form.get("timezone", "").strip() or "UTC")
    return text


def _decimal(name: str, text: str) -> float:
    """A plain decimal number such as 0.25 (no exponent, no infinity), as an amount is typed."""
    if not DECIMAL.fullmatch(text) or len(text) > MAX_NUMBER_DIGITS:
        raise InvalidInput(f"{name}: {text!r} is not a number such as 0.25", field=name)
    return float(text)
