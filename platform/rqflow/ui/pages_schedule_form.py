"""The schedule form (create and edit) and its live preview.

The preview endpoint answers an HTML fragment (the next runs and the cadence in
words) computed by the same ``preview_schedule`` service as
``POST /api/v1/schedules/preview``; the page's script posts the form to it as
the user types. A refused form is shown again with the service's message next to
the field it names, and nothing is written.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from fastapi import Request, Response
from sqlalchemy.orm import Session

from rqflow.api.deps import SessionDep, SignalsDep
from rqflow.errors import Conflict, InvalidInput
from rqflow.models import Schedule, UserProfile, utcnow
from rqflow.schemas.notify import MAX_NOTIFY_ENTRIES, NOTIFY_OUTCOMES
from rqflow.schemas.schedule import ScheduleCreate
from rqflow.services import previews, workflows
from rqflow.services import schedules as service
from rqflow.services.schedule_rules import spec_of
from rqflow.timing import describe_spec
from rqflow.ui.formatting import local_input
from rqflow.ui.forms import (
    NOTIFY_FIELD,
    SCHEDULE_FIELDS,
    FormDep,
    create_request,
    notify_problem,
    notify_text,
    preview_request,
    update_request,
)
from rqflow.ui.rendering import redirect, render
from rqflow.ui.routing import ui_router
from rqflow.ui.session import UI_PREFIX, UiUser

router = ui_router()

PREVIEW_COUNT = 10
WORKFLOWS_LISTED = 500
# Shown in the timezone field's suggestions; computed once, the zone database does not change while running.
TIMEZONES = sorted(available_timezones())


@router.get("/schedules/new")
def new_schedule_page(request: Request, db: SessionDep, user: UiUser, workflow_id: str = "") -> Response:
    """An empty form (a workflow may be chosen already, from the workflow's page)."""
    defaults = {"schedule_type": "cron", "cron_expression": "0 9 * * 1-5", "timezone": "UTC",
                "catchup_policy": "latest", "overlap_policy": "skip", "workflow_id": workflow_id}
    return _form_page(request, db, user, values=defaults, schedule=None, errors={})


@router.post("/schedules/new")
def create(request: Request, db: SessionDep, user: UiUser, signals: SignalsDep, form: FormDep) -> Response:
    """Create the schedule, or show the form again with the refusal next to its field."""
    try:
        schedule = service.create_schedule(db=db, owner=user, data=create_request(form), now=utcnow(), signals=signals)
    except (InvalidInput, Conflict) as exc:
        db.rollback()
        return _form_page(request, db, user, values=form, schedule=None, errors=_errors(exc, form),
                          status_code=422)
    return redirect(f"{UI_PREFIX}/schedules/{schedule.id}",
                    flash=f"Created schedule {schedule.name!r} ({_cadence(schedule)}).")


@router.get("/schedules/{schedule_id}/edit")
def edit_schedule_page(request: Request, schedule_id: str, db: SessionDep, user: UiUser) -> Response:
    """The form filled in with the schedule's fields."""
    schedule = service.get_schedule(db=db, owner=user, schedule_id=schedule_id)
    return _form_page(request, db, user, values=_values_of(schedule), schedule=schedule, errors={})


@router.post("/schedules/{schedule_id}/edit")
def update(
    request: Request, schedule_id: str, db: SessionDep, user: UiUser, signals: SignalsDep, form: FormDep
) -> Response:
    """Apply the form's fields; a new cadence takes effect at once."""
    schedule = service.get_schedule(db=db, owner=user, schedule_id=schedule_id)
    try:
        service.update_schedule(db=db, owner=user, schedule_id=schedule_id, data=update_request(form), now=utcnow(),
                                signals=signals)
    except (InvalidInput, Conflict) as exc:
        db.rollback()
        return _form_page(request, db, user, values=form, schedule=schedule, errors=_errors(exc, form),
                          status_code=422)
    return redirect(f"{UI_PREFIX}/schedules/{schedule.id}",
                    flash=f"Saved schedule {schedule.name!r} ({_cadence(schedule)}).")


@router.post("/schedules/preview")
def preview(request: Request, user: UiUser, form: FormDep) -> Response:
    """The next runs and the cadence in words for the form as typed so far (a fragment of the form page)."""
    context: dict[str, Any] = {"zone": form.get("timezone", "") or "UTC", "now": utcnow(), "error": None}
    try:
        context["preview"] = previews.preview_schedule(data=preview_request(form, count=PREVIEW_COUNT),
                                                       now=context["now"])
    except InvalidInput as exc:
        context.update(preview=None, error=exc)
    return render(request, "_preview.html", context)


def _form_page(
    request: Request, db: Session, user: UserProfile, *, values: dict[str, Any], schedule: Schedule | None,
    errors: dict[str, str], status_code: int = 200,
) -> Response:
    choices, _ = workflows.list_workflows(db=db, owner=user, limit=WORKFLOWS_LISTED, offset=0)
    if schedule is None and len(choices) == 1 and not values.get("workflow_id"):
        values = {**values, "workflow_id": choices[0].id}  # the only choice there is: no need to make it
    return render(request, "schedule_form.html", {
        "user": user, "section": "schedules", "schedule": schedule, "values": values, "errors": errors,
        "workflows": choices, "timezones": TIMEZONES, "fields": SCHEDULE_FIELDS,
        "notify_outcomes": NOTIFY_OUTCOMES, "notify_max": MAX_NOTIFY_ENTRIES,
    }, status_code=status_code)


def _values_of(schedule: Schedule) -> dict[str, Any]:
    """The form's text for a stored schedule: numbers as text, instants in its own timezone."""
    values: dict[str, Any] = {name: getattr(schedule, name) for name in ScheduleCreate.model_fields
                              if hasattr(schedule, name)}
    for name in ("run_at", "start_at", "end_at"):
        values[name] = local_input(getattr(schedule, name), schedule.timezone)
    values[NOTIFY_FIELD] = "\n".join(notify_text(schedule.notify))
    return {name: "" if value is None else value for name, value in values.items()}


def _errors(exc: InvalidInput | Conflict, form: dict[str, str]) -> dict[str, str]:
    """The message under the field it names; a message about no form field goes above the form.

    One notify entry's refusal (``notify.2.email``: this server sends no email) goes under the
    textarea, with the line it is about.
    """
    if exc.field and exc.field.startswith(f"{NOTIFY_FIELD}."):
        return {NOTIFY_FIELD: notify_problem(form, exc.field, exc.message)}
    field = exc.field if exc.field in (*SCHEDULE_FIELDS, "workflow_id") else "form"
    return {field or "form": exc.message}


def _cadence(schedule: Schedule) -> str:
    return describe_spec(spec_of(schedule))
