"""The schedules list, a schedule's page, and its buttons (pause, resume, trigger, backfill, delete).

Every read and action goes through the same service the REST route calls, with
the signed-in user as owner, so the dashboard can see and do exactly what the
user's token can through the API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Query, Request, Response
from sqlalchemy.orm import Session

from rqflow.api.deps import SessionDep, SettingsDep, SignalsDep
from rqflow.broker.trigger_rate import check_trigger_rate
from rqflow.errors import Conflict, InvalidInput, RateLimited
from rqflow.models import Schedule, UserProfile, utcnow
from rqflow.models.schedule import SCHEDULE_STATUSES
from rqflow.schemas.common import MAX_DB_INT, NO_NUL
from rqflow.schemas.schedule import PauseRequest
from rqflow.services import audit, backfill, notification_deliveries, workflows
from rqflow.services import schedules as service
from rqflow.services.schedule_rules import spec_of
from rqflow.timing import describe_spec
from rqflow.ui.formatting import local_time
from rqflow.ui.forms import FormDep, local_instant, notify_text, validated
from rqflow.ui.ledger import last_runs
from rqflow.ui.rendering import redirect, render
from rqflow.ui.routing import ui_router
from rqflow.ui.session import UI_PREFIX, UiUser

router = ui_router()

PAGE_SIZE = 50
UPCOMING_SHOWN = 10
RECENT_RUNS_SHOWN = 25
NOT_RUN_SHOWN = 10  # skipped and missed runs, each
HISTORY_SHOWN = 100
DELIVERIES_SHOWN = 10
Search = Annotated[str, Query(max_length=255, pattern=NO_NUL)]


@router.get("/schedules")
def schedules_page(
    request: Request, db: SessionDep, user: UiUser, status: str = "", q: Search = "",
    offset: Annotated[int, Query(ge=0, le=MAX_DB_INT)] = 0,
) -> Response:
    """The user's schedules with cadence, next and last run; filtered by status, searched by name.

    The cadence leaves the zone out: the Timezone column beside it shows it.
    """
    chosen = status if status in SCHEDULE_STATUSES else None
    schedules, total = service.list_schedules(db=db, owner=user, status=chosen, name=q.strip() or None,
                                         limit=PAGE_SIZE, offset=offset)
    last = last_runs(db, [schedule.id for schedule in schedules])
    rows = [{"schedule": schedule, "cadence": describe_spec(spec_of(schedule), with_zone=False),
             "last": last.get(schedule.id)} for schedule in schedules]
    return render(request, "schedules.html", {
        "user": user, "section": "schedules", "rows": rows, "total": total, "status": chosen or "", "q": q,
        "offset": offset, "page_size": PAGE_SIZE, "statuses": SCHEDULE_STATUSES, "now": utcnow(),
    })


@router.get("/schedules/{schedule_id}")
def schedule_page(request: Request, schedule_id: str, db: SessionDep, user: UiUser) -> Response:
    """One schedule: what comes next, what happened, what was not run and why, who was told, who changed it."""
    schedule = service.get_schedule(db=db, owner=user, schedule_id=schedule_id)
    runs, run_total = service.list_runs(db=db, owner=user, schedule_id=schedule.id, status=None,
                                        limit=RECENT_RUNS_SHOWN, offset=0)
    changes, _ = audit.list_changes(db=db, owner=user, schedule_id=schedule.id, limit=HISTORY_SHOWN, offset=0)
    deliveries, delivery_total = notification_deliveries.list_deliveries(
        db, owner=user, schedule_id=schedule.id, limit=DELIVERIES_SHOWN, offset=0)
    return render(request, "schedule.html", {
        "user": user, "section": "schedules", "schedule": schedule, "cadence": describe_spec(spec_of(schedule)),
        "workflow": workflows.get_workflow(db=db, owner=user, workflow_id=schedule.workflow_id),
        "upcoming": service.upcoming(schedule, count=UPCOMING_SHOWN), "runs": runs, "run_total": run_total,
        "not_run": _not_run(db, user, schedule), "changes": changes, "now": utcnow(),
        "notify_lines": notify_text(schedule.notify), "deliveries": deliveries, "delivery_total": delivery_total,
    })


@router.post("/schedules/{schedule_id}/pause")
def pause(schedule_id: str, db: SessionDep, user: UiUser, signals: SignalsDep, form: FormDep) -> Response:
    """Pause, with the reason the form gave."""
    def act() -> str:
        body = validated(PauseRequest, {"reason": form.get("reason", "").strip()})
        service.pause_schedule(db=db, owner=user, schedule_id=schedule_id, now=utcnow(), signals=signals,
                               reason=body.reason)
        return f"Paused: {body.reason}" if body.reason else "Paused."
    return _act(db, _page(schedule_id), act)


@router.post("/schedules/{schedule_id}/resume")
def resume(schedule_id: str, db: SessionDep, user: UiUser, signals: SignalsDep) -> Response:
    """Resume; the catch-up policy decides what of the pause still runs."""
    def act() -> str:
        schedule = service.resume_schedule(db=db, owner=user, schedule_id=schedule_id, now=utcnow(), signals=signals)
        return f"Resumed; next run {_when(schedule)}."
    return _act(db, _page(schedule_id), act)


@router.post("/schedules/{schedule_id}/trigger")
def trigger(schedule_id: str, db: SessionDep, user: UiUser, signals: SignalsDep, settings: SettingsDep) -> Response:
    """Run once now, outside the cadence."""
    def act() -> str:
        check_trigger_rate(settings, user.id)
        run = service.trigger_schedule_now(db=db, owner=user, schedule_id=schedule_id, now=utcnow(),
                                           signals=signals)
        return f"Triggered a run now (ledger row {run.id}, {run.status})."
    return _act(db, _page(schedule_id), act)


@router.post("/schedules/{schedule_id}/notifications/test")
def send_test_notifications(
    schedule_id: str, db: SessionDep, user: UiUser, signals: SignalsDep, settings: SettingsDep
) -> Response:
    """Send each notify entry a test notification, to check its receiver or address."""
    def act() -> str:
        check_trigger_rate(settings, user.id, what="run-now, backfill and test-notification")
        sent = notification_deliveries.send_test(db=db, owner=user, schedule_id=schedule_id, now=utcnow(),
                                                 signals=signals)
        return f"Sending a test notification to {len(sent)} target{'s' if len(sent) != 1 else ''}."
    return _act(db, _page(schedule_id), act)


@router.post("/schedules/{schedule_id}/backfill")
def backfill_range(
    schedule_id: str, db: SessionDep, user: UiUser, signals: SignalsDep, settings: SettingsDep, form: FormDep
) -> Response:
    """Run the past range's occurrences that have no ledger row, read in the schedule's timezone."""
    def act() -> str:
        check_trigger_rate(settings, user.id)
        zone = service.get_schedule(db=db, owner=user, schedule_id=schedule_id).timezone
        start = local_instant("start", form.get("start", "").strip(), zone)
        end = local_instant("end", form.get("end", "").strip(), zone)
        if start is None or end is None:
            raise InvalidInput("give both the start and the end of the range", field="start")
        done = backfill.backfill_range(db=db, owner=user, schedule_id=schedule_id, start=start, end=end,
                                       now=utcnow(), signals=signals)
        return f"Backfill: {done.message}."
    return _act(db, _page(schedule_id), act)


@router.post("/schedules/{schedule_id}/delete")
def delete(schedule_id: str, db: SessionDep, user: UiUser, signals: SignalsDep) -> Response:
    """Delete the schedule and its ledger (its audit trail stays)."""
    schedule = service.get_schedule(db=db, owner=user, schedule_id=schedule_id)
    name = schedule.name
    service.delete_schedule(db=db, owner=user, schedule_id=schedule_id, now=utcnow(), signals=signals)
    return redirect(f"{UI_PREFIX}/schedules", flash=f"Deleted schedule {name!r}.")


def _act(db: Session, back: str, action: Callable[[], str]) -> Response:
    """Run ``action``; go back to the page with what it did, or with why it was refused (nothing written)."""
    try:
        message = action()
    except (InvalidInput, Conflict, RateLimited) as exc:
        db.rollback()
        return redirect(back, flash=exc.message, kind="error")
    return redirect(back, flash=message)


def _not_run(db: Session, user: UserProfile, schedule: Schedule) -> list[Any]:
    """The latest skipped and missed occurrences together, newest first, each with its reason."""
    found = []
    for status in ("skipped", "missed"):
        rows, _ = service.list_runs(db=db, owner=user, schedule_id=schedule.id, status=status, limit=NOT_RUN_SHOWN,
                                    offset=0)
        found.extend(rows)
    return sorted(found, key=lambda run: run.scheduled_for, reverse=True)[:NOT_RUN_SHOWN]


def _page(schedule_id: str) -> str:
    return f"{UI_PREFIX}/schedules/{schedule_id}"


def _when(schedule: Schedule) -> str:
    if schedule.next_run_at is None:
        return "not planned"
    return f"at {local_time(schedule.next_run_at, schedule.timezone)}"
