"""``rqflow schedules ...`` over the REST API: list, show, create, pause, resume, trigger, runs, notifications
and delete.

Each command parses its options, makes one call (two for tables that need more), and prints a table
or, with ``--json``, the API's answer. Schedules are addressed by id: the API has no lookup by name
(names need not be unique); ``rqflow schedules list --name PART`` finds the id. Tables show ids short,
so a command takes the start of one too, looked up among the user's schedules (:func:`_full_id`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.text import Text

from rqflow.client import tables
from rqflow.client.commands import JsonOption, LimitOption, OffsetOption, WideOption, api, connect, emit, fail
from rqflow.client.humanize import parse_interval, when, zone_of
from rqflow.client.ids import CANDIDATES_NAMED, SHORTEST_TYPED, is_full, starting_with

if TYPE_CHECKING:
    from rqflow.client.api_client import ApiClient

app = typer.Typer(help="Manage schedules through the REST API (RQFLOW_API_URL, RQFLOW_TOKEN).",
                  no_args_is_help=True, callback=connect)

ScheduleId = Annotated[str, typer.Argument(help=(
    f"The schedule's id, or its first characters (at least {SHORTEST_TYPED}) if no other id starts with them "
    "('rqflow schedules list' shows them)."))]
ScheduleStatus = Literal["active", "paused", "stopped"]
RunStatus = Literal["waiting", "enqueued", "running", "succeeded", "failed", "skipped", "missed"]
NOTIFY_EXAMPLE = "failed,timeout https://hooks.example.com/x"


@app.command("list")
def list_schedules(
    ctx: typer.Context,
    status: Annotated[ScheduleStatus | None, typer.Option(help="Only schedules in this state.")] = None,
    name: Annotated[str | None, typer.Option("--name", "--search", help="Only names containing this.")] = None,
    limit: LimitOption = 50, offset: OffsetOption = 0, wide: WideOption = False, as_json: JsonOption = False,
) -> None:
    """List your schedules, oldest first: id, status, next run, last run, cadence, missed.

    Times in each schedule's zone; ids short (commands take them so); what does not fit, left out (--wide).
    """
    with api(ctx) as client:
        page = client.list_schedules(status=status, name=name, limit=limit, offset=offset)
        last = {} if as_json else {item["id"]: _newest_run(client, item["id"]) for item in page["items"]}
    emit(page, as_json=as_json,
         render=lambda: tables.schedules_table(page, last_runs=last, now=_now(), wide=wide))


def _newest_run(client: ApiClient, schedule_id: str) -> dict[str, Any] | None:
    """The schedule's newest ledger row: one small request, as SchedulePublic has only ``last_run_at``,
    which a run triggered by hand does not move."""
    items: list[dict[str, Any]] = client.list_runs(schedule_id, limit=1)["items"]
    return items[0] if items else None


def _full_id(client: ApiClient, text: str) -> str:
    """The id of the schedule ``text`` names: a whole id as is, else the one id that starts with ``text``.

    Tables show ids short, as git shows hashes; the API knows whole ids only, so a start is looked up
    among the user's schedules (every page of them). Matching none or several is refused with exit 1,
    as the API refuses an unknown id.
    """
    if is_full(text):
        return text.lower()
    if len(text) < SHORTEST_TYPED:
        fail(f"{text!r} is too short to pick a schedule: give at least {SHORTEST_TYPED} characters of its id",
             code=1)
    names = {item["id"]: item["name"] for item in client.all_schedules()}
    found = starting_with(text, names)
    if not found:
        fail(f"no schedule id starts with {text!r}", code=1)
    if len(found) > 1:
        named = ", ".join(f"{sid} ({names[sid]})" for sid in found[:CANDIDATES_NAMED])
        more = f" and {len(found) - CANDIDATES_NAMED} more" if len(found) > CANDIDATES_NAMED else ""
        fail(f"{len(found)} schedule ids start with {text!r}: {named}{more}; give more of the id", code=1)
    return found[0]


@app.command("show")
def show(ctx: typer.Context, schedule_id: ScheduleId, as_json: JsonOption = False) -> None:
    """Show one schedule: its fields, state, counters, last run and next runs."""
    with api(ctx) as client:
        item = client.get_schedule(_full_id(client, schedule_id))
        last = None if as_json else _newest_run(client, item["id"])
    emit(item, as_json=as_json, render=lambda: tables.schedule_panel(item, last=last, now=_now()))


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="A name (need not be unique).")],
    workflow: Annotated[int, typer.Option(help="Id of the workflow to run ('rqflow workflows list').")],
    cron: Annotated[str | None, typer.Option(help="Five-field cron line, e.g. '0 9 * * 1-5'.")] = None,
    interval: Annotated[str | None, typer.Option(help="Every N seconds; 90, 90s, 5m, 2h or 1d.")] = None,
    at: Annotated[str | None, typer.Option(
        help="Once, at this ISO 8601 time; without an offset it is read in --timezone.")] = None,
    timezone: Annotated[str, typer.Option(help="IANA zone the cron line (and --at) is read in.")] = "UTC",
    payload: Annotated[str | None, typer.Option(help="JSON object handed to the workflow as event.payload.")]
    = None,
    description: Annotated[str, typer.Option(help="Free text.")] = "",
    catchup: Annotated[Literal["skip", "latest", "all"] | None, typer.Option(
        help="Missed occurrences: skip, latest (API default) or all.")] = None,
    overlap: Annotated[Literal["skip", "buffer_one", "allow"] | None, typer.Option(
        help="Occurrence due while a run is going: skip (API default), buffer_one or allow.")] = None,
    max_runs: Annotated[int | None, typer.Option(min=1, help="Stop after this many runs.")] = None,
    run_timeout: Annotated[int | None, typer.Option(
        min=1, help="Fail a run (reason timeout) not ended this many seconds after it started; default: the "
                    "server's.")] = None,
    budget_usd: Annotated[float | None, typer.Option(
        min=0.000001, help="The most one run's model calls may cost, in US dollars.")] = None,
    max_tokens: Annotated[int | None, typer.Option(min=1, help="The most tokens one run's model calls may use.")]
    = None,
    keep_days: Annotated[int | None, typer.Option(
        min=1, help="Keep this schedule's runs this many days; default: the server's.")] = None,
    notify: Annotated[list[str] | None, typer.Option(
        metavar="LINE", help=f"Who hears about which outcomes, one entry per --notify (repeat it): outcomes, "
                             f"a space, then a webhook URL or an email address, e.g. '{NOTIFY_EXAMPLE}'. Outcomes: "
                             "succeeded, failed, timeout, budget_exceeded, missed, auto_paused, daily_budget.")]
    = None,
    as_json: JsonOption = False,
) -> None:
    """Create an active schedule (exactly one of --cron, --interval, --at) and show it."""
    body = {"name": name, "workflow_id": workflow, "timezone": timezone, "description": description,
            **_cadence(cron=cron, interval=interval, at=at, timezone=timezone),
            **_optional(trigger_payload=_payload(payload), catchup_policy=catchup, overlap_policy=overlap,
                        max_runs=max_runs, run_timeout_seconds=run_timeout, max_budget_per_run_usd=budget_usd,
                        max_tokens_per_run=max_tokens, run_retention_days=keep_days,
                        notify=_notify(notify or []))}
    with api(ctx) as client, _naming_notify(notify or []):
        item = client.create_schedule(body)
    emit(item, as_json=as_json, render=lambda: tables.schedule_panel(item, last=None, now=_now()))


def _cadence(*, cron: str | None, interval: str | None, at: str | None, timezone: str) -> dict[str, Any]:
    """The body's cadence fields; exactly one kind must be given."""
    given = [flag for flag, value in (("--cron", cron), ("--interval", interval), ("--at", at)) if value]
    if len(given) != 1:
        fail("give exactly one of --cron, --interval, --at" + (f" (got {', '.join(given)})" if given else ""),
             code=1)
    if cron:
        return {"schedule_type": "cron", "cron_expression": cron}
    if interval:
        return {"schedule_type": "interval", "interval_seconds": _seconds(interval)}
    return {"schedule_type": "once", "run_at": _instant(at or "", timezone)}


def _seconds(text: str) -> int:
    try:
        return parse_interval(text)
    except ValueError as exc:
        fail(f"--interval: {exc}", code=1)


def _instant(text: str, timezone: str) -> str:
    """An ISO instant; a time without an offset is read in the schedule's zone, as a person means it."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--at: {text!r} is not an ISO 8601 time (e.g. 2030-01-01T09:00 or 2030-01-01T09:00+01:00)", code=1)
    zone = zone_of(timezone)
    if value.tzinfo is None and zone is not None:
        value = value.replace(tzinfo=zone)
    return value.isoformat()  # still naive if the zone is unknown here: the API names the problem


def _payload(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        fail(f"--payload: not valid JSON: {exc}", code=1)


def _notify(lines: list[str]) -> list[dict[str, Any]] | None:
    """The ``--notify`` lines as the API's ``notify`` entries; a line without outcomes and a target stops here.

    The notation's reader (``rqflow.schemas.notify.parse_notify_line``) is a layer this client may not
    import (docs/ARCHITECTURE.md, Layers), so the line is only split here, as that reader splits it,
    and the API checks the entry; :func:`_naming_notify` turns its refusal back into the line.
    """
    entries = []
    for line in lines:
        outcomes, _, target = line.strip().partition(" ")
        if not outcomes or not target.strip():
            fail(f"--notify {line.strip()!r}: write the outcomes, a space, then a URL or an email address "
                 f"({NOTIFY_EXAMPLE})", code=1)
        kind = "webhook" if "://" in target else "email"
        words = [word.strip() for word in outcomes.split(",") if word.strip()]
        entries.append({"on": words, kind: target.strip()})
    return entries or None


@contextmanager
def _naming_notify(lines: list[str]) -> Iterator[None]:
    """The API's refusal of ``notify.N…`` said about the N-th ``--notify`` as typed, not about a list index."""
    from rqflow.client.api_client import ApiRefused  # imported late, as commands.api does (httpx is slow)

    try:
        yield
    except ApiRefused as exc:
        parts = (exc.field or "").split(".")
        if parts[0] != "notify" or len(parts) < 2 or not parts[1].isdigit() or int(parts[1]) >= len(lines):
            raise
        detail = exc.message.removeprefix(f"{exc.field}: ")
        where = ".".join(parts[2:]) or "entry"
        fail(f"--notify {lines[int(parts[1])].strip()!r}: {where}: {detail}", code=1)


def _optional(**values: Any) -> dict[str, Any]:
    """Fields given on the command line; the others keep the API's defaults."""
    return {key: value for key, value in values.items() if value is not None}


@app.command("pause")
def pause(
    ctx: typer.Context, schedule_id: ScheduleId,
    reason: Annotated[str, typer.Option(help="Why; shown on the schedule.")] = "",
    until: Annotated[str | None, typer.Option(help="Resume by itself at this ISO 8601 time (with an offset).")]
    = None,
    as_json: JsonOption = False,
) -> None:
    """Pause a schedule (no runs until resumed, or until --until)."""
    with api(ctx) as client:
        item = client.pause_schedule(_full_id(client, schedule_id), reason=reason, until=until)
    emit(item, as_json=as_json, render=lambda: _pause_line(item))


def _pause_line(item: dict[str, Any]) -> Text:
    zone = zone_of(item["timezone"])
    until = f" until {when(item['paused_until'], zone, _now())}" if item["paused_until"] else ""
    reason = f": {item['paused_reason']}" if item["paused_reason"] else ""
    return Text(f"paused {item['name']} ({item['id']}){until}{reason}")


@app.command("resume")
def resume(ctx: typer.Context, schedule_id: ScheduleId, as_json: JsonOption = False) -> None:
    """Resume a paused schedule; its catch-up policy decides what missed occurrences still run."""
    with api(ctx) as client:
        item = client.resume_schedule(_full_id(client, schedule_id))
    emit(item, as_json=as_json, render=lambda: _resume_line(item))


def _resume_line(item: dict[str, Any]) -> Text:
    next_run = when(item["next_run_at"], zone_of(item["timezone"]), _now())
    return Text(f"resumed {item['name']} ({item['id']}); next run {next_run}")


@app.command("trigger")
def trigger(ctx: typer.Context, schedule_id: ScheduleId, as_json: JsonOption = False) -> None:
    """Run the schedule's workflows now, once, outside its cadence; shows the ledger row."""
    with api(ctx) as client:
        run = client.trigger_schedule(_full_id(client, schedule_id))
    emit(run, as_json=as_json, render=lambda: tables.run_panel(run))


@app.command("test-notify")
def send_test_notify(ctx: typer.Context, schedule_id: ScheduleId, as_json: JsonOption = False) -> None:
    """Send each of the schedule's notify entries a test notification ('rqflow schedules notifications' shows
    how they went)."""
    with api(ctx) as client:
        sent = client.send_test_notifications(_full_id(client, schedule_id))
    page = {"items": sent["items"], "total": sent["count"], "limit": sent["count"], "offset": 0}
    emit(sent, as_json=as_json, render=lambda: tables.notifications_table(page, timezone=None, now=_now()))


@app.command("runs")
def runs(
    ctx: typer.Context, schedule_id: ScheduleId,
    status: Annotated[RunStatus | None, typer.Option(help="Only runs in this state.")] = None,
    limit: LimitOption = 50, offset: OffsetOption = 0, wide: WideOption = False, as_json: JsonOption = False,
) -> None:
    """The schedule's ledger, newest first: occurrence, status, trigger, lateness, duration, error."""
    with api(ctx) as client:
        sid = _full_id(client, schedule_id)
        page = client.list_runs(sid, status=status, limit=limit, offset=offset)
        timezone = None if as_json else client.get_schedule(sid)["timezone"]
    emit(page, as_json=as_json, render=lambda: tables.runs_table(page, timezone=timezone, wide=wide))


@app.command("notifications")
def notifications(
    ctx: typer.Context, schedule_id: ScheduleId, limit: LimitOption = 50, offset: OffsetOption = 0,
    wide: WideOption = False, as_json: JsonOption = False,
) -> None:
    """What the schedule's --notify entries sent, newest first: when, outcome, target, status, tries, last error."""
    with api(ctx) as client:
        sid = _full_id(client, schedule_id)
        page = client.list_notifications(sid, limit=limit, offset=offset)
        timezone = None if as_json else client.get_schedule(sid)["timezone"]
    emit(page, as_json=as_json,
         render=lambda: tables.notifications_table(page, timezone=timezone, now=_now(), wide=wide))


@app.command("delete")
def delete(
    ctx: typer.Context, schedule_id: ScheduleId,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Delete a schedule and its run history (its audit trail stays); asks first unless --yes."""
    with api(ctx) as client:
        sid = _full_id(client, schedule_id)
        if not yes and not _confirmed(client.get_schedule(sid)):
            # Exit 0: nothing went wrong, the person changed their mind (exit 1 is a refused request).
            typer.echo("Not deleted.", err=True)
            return
        client.delete_schedule(sid)
    if not as_json:  # the API answers 204 with no body: --json prints nothing, the exit code says it
        typer.echo(f"deleted {sid}")


def _confirmed(item: dict[str, Any]) -> bool:
    """Whether the person answers yes; asked on stderr, so stdout holds only the outcome."""
    return typer.confirm(f"Delete schedule {item['name']} ({item['id']}) and its run history?", err=True)


def _now() -> datetime:
    """The clock, read at the edge only: the rendering functions take ``now``."""
    return datetime.now(UTC)
