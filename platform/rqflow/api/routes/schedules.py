"""``/api/v1/schedules``: schedules, their pause/resume/trigger actions, their runs and their notifications."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response, status

from rqflow.api.deps import CurrentUser, SessionDep, SettingsDep, SignalsDep
from rqflow.api.pagination import Limit, Offset
from rqflow.api.routing import SlashTolerantRouter
from rqflow.broker.trigger_rate import check_trigger_rate
from rqflow.models import utcnow
from rqflow.schemas.common import NO_NUL, Page
from rqflow.schemas.notify import NotificationPublic, TestNotificationsSent
from rqflow.schemas.schedule import (
    BackfillPublic,
    BackfillRequest,
    ChangePublic,
    PauseRequest,
    RunPublic,
    RunStatus,
    ScheduleCreate,
    SchedulePreview,
    SchedulePreviewRequest,
    SchedulePublic,
    ScheduleStatus,
    ScheduleUpdate,
)
from rqflow.services import audit, backfill, notification_deliveries, previews
from rqflow.services import schedules as service
from rqflow.services.presenters import schedule_public

router = SlashTolerantRouter(prefix="/api/v1/schedules", tags=["schedules"])



@router.get("", response_model=Page[SchedulePublic])
def list_schedules(
    db: SessionDep, user: CurrentUser, status: ScheduleStatus | None = None,
    name: Annotated[str | None, Query(max_length=255, pattern=NO_NUL)] = None,
    limit: Limit = 50, offset: Offset = 0,
) -> Page[SchedulePublic]:
    """Your schedules, oldest first; filter by status or by a part of the name."""
    items, total = service.list_schedules(db=db, owner=user, status=status, name=name, limit=limit, offset=offset)
    return Page(items=[schedule_public(schedule) for schedule in items], total=total, limit=limit, offset=offset)


@router.post("", response_model=SchedulePublic, status_code=status.HTTP_201_CREATED)
def create_schedule(data: ScheduleCreate, db: SessionDep, user: CurrentUser, signals: SignalsDep) -> SchedulePublic:
    """Create an active schedule; the answer shows its cadence in words and its next five runs."""
    schedule = service.create_schedule(db=db, owner=user, data=data, now=utcnow(), signals=signals)
    return schedule_public(schedule)


@router.get("/{schedule_id}", response_model=SchedulePublic)
def get_schedule(schedule_id: str, db: SessionDep, user: CurrentUser) -> SchedulePublic:
    """One schedule."""
    return schedule_public(service.get_schedule(db=db, owner=user, schedule_id=schedule_id))


@router.patch("/{schedule_id}", response_model=SchedulePublic)
def update_schedule(
    schedule_id: str, data: ScheduleUpdate, db: SessionDep, user: CurrentUser, signals: SignalsDep
) -> SchedulePublic:
    """Change some fields; a new cadence takes effect at once."""
    schedule = service.update_schedule(
        db=db, owner=user, schedule_id=schedule_id, data=data, now=utcnow(), signals=signals
    )
    return schedule_public(schedule)


@router.delete("/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_schedule(schedule_id: str, db: SessionDep, user: CurrentUser, signals: SignalsDep) -> Response:
    """Delete the schedule and its run history; its audit trail stays readable."""
    service.delete_schedule(db=db, owner=user, schedule_id=schedule_id, now=utcnow(), signals=signals)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{schedule_id}/pause", response_model=SchedulePublic)
def pause_schedule(
    schedule_id: str, db: SessionDep, user: CurrentUser, signals: SignalsDep, data: PauseRequest | None = None
) -> SchedulePublic:
    """Stop firing until resumed, or until ``until``; an optional ``reason`` is shown on the schedule.

    Pausing a paused schedule changes only what the body gives (a reason, an until); with neither it
    changes nothing and adds nothing to the history."""
    body = data or PauseRequest()
    schedule = service.pause_schedule(db=db, owner=user, schedule_id=schedule_id, now=utcnow(), signals=signals,
                                 reason=body.reason, until=body.until)
    return schedule_public(schedule)


@router.post("/{schedule_id}/resume", response_model=SchedulePublic)
def resume_schedule(schedule_id: str, db: SessionDep, user: CurrentUser, signals: SignalsDep) -> SchedulePublic:
    """Fire again; the catch-up policy decides which occurrences missed while paused still run."""
    schedule = service.resume_schedule(db=db, owner=user, schedule_id=schedule_id, now=utcnow(), signals=signals)
    return schedule_public(schedule)


@router.post("/{schedule_id}/stop", response_model=SchedulePublic)
def stop_schedule(schedule_id: str, db: SessionDep, user: CurrentUser, signals: SignalsDep) -> SchedulePublic:
    """End the schedule for good (it cannot be resumed); its runs and history stay."""
    schedule = service.stop_schedule(db=db, owner=user, schedule_id=schedule_id, now=utcnow(), signals=signals)
    return schedule_public(schedule)


@router.post("/{schedule_id}/trigger", response_model=RunPublic, status_code=status.HTTP_202_ACCEPTED)
def trigger_schedule(
    schedule_id: str, db: SessionDep, user: CurrentUser, signals: SignalsDep, settings: SettingsDep
) -> RunPublic:
    """Run the schedule's workflows now, once, outside its cadence (under its overlap policy)."""
    check_trigger_rate(settings, user.id)
    run = service.trigger_schedule_now(db=db, owner=user, schedule_id=schedule_id, now=utcnow(), signals=signals)
    return RunPublic.model_validate(run)


@router.get("/{schedule_id}/runs", response_model=Page[RunPublic])
def list_runs(
    schedule_id: str, db: SessionDep, user: CurrentUser, status: RunStatus | None = None,
    limit: Limit = 50, offset: Offset = 0,
) -> Page[RunPublic]:
    """The schedule's ledger, newest occurrence first."""
    items, total = service.list_runs(
        db=db, owner=user, schedule_id=schedule_id, status=status, limit=limit, offset=offset
    )
    return Page(items=[RunPublic.model_validate(r) for r in items], total=total, limit=limit, offset=offset)


@router.get("/{schedule_id}/notifications", response_model=Page[NotificationPublic])
def list_notifications(
    schedule_id: str, db: SessionDep, user: CurrentUser, limit: Limit = 50, offset: Offset = 0,
) -> Page[NotificationPublic]:
    """The notifications the schedule's ``notify`` entries sent, newest first, each with every try."""
    items, total = notification_deliveries.list_deliveries(db=db, owner=user, schedule_id=schedule_id, limit=limit,
                                                           offset=offset)
    return Page(items=[NotificationPublic.model_validate(item) for item in items], total=total, limit=limit,
                offset=offset)


@router.post("/{schedule_id}/notifications/test", response_model=TestNotificationsSent,
             status_code=status.HTTP_202_ACCEPTED)
def send_test_notifications(
    schedule_id: str, db: SessionDep, user: CurrentUser, signals: SignalsDep, settings: SettingsDep
) -> TestNotificationsSent:
    """Send each of the schedule's notify entries a test notification, to check a receiver or an address; the
    answer lists them (pending: a worker sends them). Counted in the per-user rate of run-now and backfill."""
    check_trigger_rate(settings, user.id, what="run-now, backfill and test-notification")
    items = notification_deliveries.send_test(db=db, owner=user, schedule_id=schedule_id, now=utcnow(),
                                              signals=signals)
    return TestNotificationsSent(count=len(items), items=[NotificationPublic.model_validate(item) for item in items])


@router.post("/{schedule_id}/backfill", response_model=BackfillPublic, status_code=status.HTTP_202_ACCEPTED)
def backfill_schedule(
    schedule_id: str, data: BackfillRequest, db: SessionDep, user: CurrentUser, signals: SignalsDep,
    settings: SettingsDep,
) -> BackfillPublic:
    """Run, in order, every occurrence in ``[start, end]`` (in the past) that has no ledger row yet;
    ``message`` says what was done, and why nothing was when ``count`` is 0."""
    check_trigger_rate(settings, user.id)
    done = backfill.backfill_range(db=db, owner=user, schedule_id=schedule_id, start=data.start, end=data.end,
                                   now=utcnow(), signals=signals)
    return BackfillPublic(count=len(done.rows), runs=[RunPublic.model_validate(r) for r in done.rows],
                          already_recorded=done.already_recorded, message=done.message)


@router.get("/{schedule_id}/history", response_model=Page[ChangePublic])
def schedule_history(
    schedule_id: str, db: SessionDep, user: CurrentUser, limit: Limit = 50, offset: Offset = 0
) -> Page[ChangePublic]:
    """Every change to the schedule, oldest first: who, when, and the old and new values."""
    items, total = audit.list_changes(db=db, owner=user, schedule_id=schedule_id, limit=limit, offset=offset)
    return Page(items=[ChangePublic.model_validate(c) for c in items], total=total, limit=limit, offset=offset)


@router.post("/preview", response_model=SchedulePreview)
def preview_schedule(data: SchedulePreviewRequest, user: CurrentUser) -> SchedulePreview:
    """The next occurrences of a cadence and the cadence in words, checked as create would; stores nothing.

    No ``/{schedule_id}`` route answers POST, so ``POST /preview`` is never read as a schedule id.
    """
    return previews.preview_schedule(data=data, now=utcnow())
