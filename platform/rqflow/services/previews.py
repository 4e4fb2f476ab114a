"""Previews: what a cadence would do, computed by the rules create applies, stored nowhere.

A client (or an agent) can try a cron line, a timezone or a window and see the
instants it would fire at before creating anything; because the same
``check_schedule`` and ``spec_of`` run here as in ``create_schedule``, a preview
is refused exactly when a create would be, and lists exactly the create's runs.
"""

from __future__ import annotations

from datetime import datetime

from rqflow.models import Schedule
from rqflow.schemas.schedule import ScheduleFields, SchedulePreview, SchedulePreviewRequest
from rqflow.services.schedule_rules import check_schedule, spec_of
from rqflow.timing import describe_spec, resolve_timezone


def preview_schedule(*, data: SchedulePreviewRequest, now: datetime) -> SchedulePreview:
    """The next ``data.count`` occurrences after ``data.after`` (default ``now``), and the cadence in words.

    The schedule is a transient row that is never added to a session, created at
    ``after``: so an interval without ``start_at`` counts from that whole second,
    as a schedule created at that instant would.
    """
    after = data.after or now
    schedule = Schedule(created_at=after, **data.model_dump(include=set(ScheduleFields.model_fields)))
    check_schedule(schedule, now=after, is_new=True)
    spec = spec_of(schedule)
    zone = resolve_timezone(spec.timezone)
    occurrences = [when.astimezone(zone) for when in spec.occurrences(after, data.count)]
    return SchedulePreview(occurrences=occurrences, description=describe_spec(spec))
