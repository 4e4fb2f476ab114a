"""Rich renderables for the API's answers: tables for lists, key/value panels for one object.

Functions take the API's JSON and ``now``; they print nothing, so the commands decide where output goes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from rqflow.client.humanize import NOTHING, duration, lateness, local_time, relative, when, zone_of

Json = dict[str, Any]
STATUS_STYLES = {"active": "green", "paused": "yellow", "stopped": "dim", "succeeded": "green", "failed": "red",
                 "running": "cyan", "enqueued": "cyan", "waiting": "cyan", "retrying": "yellow", "skipped": "yellow",
                 "missed": "red", "delivered": "green", "pending": "cyan"}
# A table cell shows the first line of an error, this long at most; `show` and --json give it whole.
ERROR_WIDTH = 60
ID_WIDTH = 36  # a schedule id is a UUID


def status_text(status: str | None) -> Text:
    """A status word in its colour (plain when piped: rich drops styles without a terminal)."""
    return Text(status or NOTHING, style=STATUS_STYLES.get(status or "", ""))


def schedules_table(page: Json, *, last_statuses: dict[str, str | None], now: datetime) -> Table:
    """The ``schedules list`` table; ``last_statuses`` maps a schedule id to its newest run's status."""
    table = Table(title=_title("schedules", page), title_justify="left")
    table.add_column("id", no_wrap=True, min_width=ID_WIDTH)  # a folded id cannot be copied
    for column in ("name", "cadence", "timezone", "status", "next run", "last run", "missed"):
        table.add_column(column, justify="right" if column == "missed" else "left", overflow="fold")
    for item in page["items"]:
        zone = zone_of(item["timezone"])
        _add(table, item["id"], item["name"], item["cadence"], item["timezone"], status_text(item["status"]),
                      when(item["next_run_at"], zone, now), _last_run(item, last_statuses.get(item["id"]), now),
                      str(item["missed_count"]))
    return table


def _last_run(item: Json, status: str | None, now: datetime) -> Text:
    if item["last_run_at"] is None and status is None:
        return Text(NOTHING)
    text = status_text(status)
    return text.append(f" ({relative(item['last_run_at'], now)})" if item["last_run_at"] else "")


def schedule_panel(item: Json, *, now: datetime) -> Group:
    """The ``schedules show`` view: every field that matters, then the next runs."""
    zone = zone_of(item["timezone"])
    grid = _grid(_schedule_rows(item, zone, now))
    next_runs = [f"{local_time(value, zone)}  ({relative(value, now)})" for value in item["next_runs"]]
    upcoming = Panel(Text("\n".join(next_runs) or "none: the schedule will not fire again"), title="next runs",
                     title_align="left")
    return Group(Panel(grid, title=Text(f"schedule {item['name']}"), title_align="left"), upcoming)


def _schedule_rows(item: Json, zone: Any, now: datetime) -> list[tuple[str, RenderableType]]:
    rows: list[tuple[str, RenderableType]] = [
        ("id", item["id"]), ("name", item["name"]), ("workflow", str(item["workflow_id"])),
        ("cadence", item["cadence"]), ("spec", _spec(item)), ("timezone", item["timezone"]),
        ("status", _status_line(item, zone)), ("next run", when(item["next_run_at"], zone, now)),
        ("last run", when(item["last_run_at"], zone, now)),
        ("runs", _counts(item)),
        ("catch-up / overlap", f"{item['catchup_policy']} / {item['overlap_policy']}"),
    ]
    optional = [("description", item["description"]), ("last error", item["last_error"]),
                ("payload", json.dumps(item["trigger_payload"]) if item["trigger_payload"] else ""),
                ("ends", _ends(item, zone))]
    return rows + [(key, value) for key, value in optional if value]


def _counts(item: Json) -> str:
    failed = f"{item['error_count']} failed, {item['consecutive_failures']} in a row"
    return f"{item['run_count']} ({failed}; {item['missed_count']} missed)"


def _spec(item: Json) -> str:
    kind = item["schedule_type"]
    if kind == "cron":
        return f"cron {item['cron_expression']}"
    if kind == "interval":
        return f"interval {item['interval_seconds']} s"
    return f"once at {item['run_at']}"


def _status_line(item: Json, zone: Any) -> Text:
    text = status_text(item["status"])
    if item["status"] == "paused":
        since = local_time(item["paused_at"], zone)
        text.append(f" since {since}" + (f" until {local_time(item['paused_until'], zone)}"
                                         if item["paused_until"] else ""))
        if item["paused_reason"]:
            text.append(f": {item['paused_reason']}")
    return text


def _ends(item: Json, zone: Any) -> str:
    parts = [f"after {item['max_runs']} runs" if item["max_runs"] else "",
             f"at {local_time(item['end_at'], zone)}" if item["end_at"] else ""]
    return ", ".join(part for part in parts if part)


def runs_table(page: Json, *, timezone: str | None) -> Table:
    """The ``schedules runs`` ledger, occurrences shown in the schedule's zone."""
    zone = zone_of(timezone)
    table = Table(title=_title("runs", page), title_justify="left")
    for column in ("id", "scheduled for", "status", "trigger", "lateness", "duration", "tokens", "cost", "error"):
        table.add_column(column, overflow="fold")
    for run in page["items"]:
        _add(table, str(run["id"]), local_time(run["scheduled_for"], zone), status_text(run["status"]),
                      run["trigger_kind"], lateness(run["scheduled_for"], run["started_at"]),
                      duration(run["duration_seconds"]), _spent(run), _cost(run), _run_note(run, zone))
    return table


def _spent(run: Json) -> str:
    tokens = run.get("total_tokens") or 0
    return f"{tokens:,}" if tokens else NOTHING


def _cost(run: Json) -> str:
    cost = run.get("total_cost_usd") or 0.0
    return f"${cost:.4f}" if cost else NOTHING


def _run_note(run: Json, zone: Any) -> str:
    """The error or reason; for a run waiting for a retry, when it goes on."""
    note = _first_line(run["error"] or run["reason"])
    if run["status"] == "retrying" and run.get("next_attempt_at"):
        return f"next attempt {local_time(run['next_attempt_at'], zone)}: {note}"
    return note


def notifications_table(page: Json, *, timezone: str | None, now: datetime) -> Table:
    """The ``schedules notifications`` table, newest first, times in the schedule's zone."""
    zone = zone_of(timezone)
    table = Table(title=_title("notifications", page), title_justify="left")
    for column in ("id", "when", "outcome", "channel", "target", "status", "tries", "last error"):
        table.add_column(column, justify="right" if column == "tries" else "left", overflow="fold")
    for item in page["items"]:
        _add(table, str(item["id"]), when(item["created_at"], zone, now), item["outcome"], item["channel"],
             item["target"], status_text(item["status"]), str(item["attempts"]), _delivery_note(item, zone))
    return table


def _delivery_note(item: Json, zone: Any) -> str:
    """The last try's error; for a delivery still pending, when it tries again."""
    note = _first_line(item["last_error"]) or NOTHING
    if item["status"] == "pending" and item["next_attempt_at"]:
        return f"next try {local_time(item['next_attempt_at'], zone)}: {note}"
    return note


def run_panel(run: Json) -> Panel:
    """One ledger row, as ``schedules trigger`` answers it."""
    rows = [("run", str(run["id"])), ("schedule", run["scheduled_job_id"]), ("scheduled for", run["scheduled_for"]),
            ("status", status_text(run["status"])), ("trigger", run["trigger_kind"])]
    extra = [("reason", run["reason"]), ("rq job", run["rq_job_id"] or ""), ("error", run["error"])]
    return Panel(_grid(rows + [(key, value) for key, value in extra if value]), title="run", title_align="left")


def workflows_table(page: Json) -> Table:
    """The ``workflows list`` table."""
    table = Table(title=_title("workflows", page), title_justify="left")
    for column in ("id", "name", "nodes", "triggers", "updated"):
        table.add_column(column, overflow="fold")
    for item in page["items"]:
        triggers = [node["key"] for node in item["nodes"] if node["component_type"].startswith("trigger_")]
        _add(table, str(item["id"]), item["name"], str(len(item["nodes"])), ", ".join(triggers) or NOTHING,
                      local_time(item["updated_at"], None))
    return table


def workflow_runs_table(page: Json) -> Table:
    """The ``workflows runs`` table (UTC: a workflow has no zone of its own)."""
    table = Table(title=_title("workflow runs", page), title_justify="left")
    for column in ("id", "status", "event", "schedule run", "started", "duration", "error"):
        table.add_column(column, overflow="fold")
    for run in page["items"]:
        _add(table, str(run["id"]), status_text(run["status"]), run["event_type"],
                      str(run["schedule_run_id"] or NOTHING), local_time(run["started_at"], None),
                      _elapsed(run["started_at"], run["finished_at"]), _first_line(run["error"]))
    return table


def _elapsed(started: str | None, finished: str | None) -> str:
    if not started or not finished:
        return NOTHING
    return duration((datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds())


def _grid(rows: Iterable[tuple[str, RenderableType]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for key, value in rows:
        _add(grid, key, value)
    return grid


def _add(table: Table, *cells: RenderableType) -> None:
    """Add a row whose text is shown as is: a name like "[red]" is not rich markup."""
    table.add_row(*(Text(cell) if isinstance(cell, str) else cell for cell in cells))


def _title(noun: str, page: Json) -> str:
    """"schedules 1–50 of 120" so a reader knows more exist (and --offset to see them)."""
    shown = len(page["items"])
    if shown == 0:
        return f"{noun}: none" + (f" (offset {page['offset']} of {page['total']})" if page["total"] else "")
    return f"{noun} {page['offset'] + 1}–{page['offset'] + shown} of {page['total']}"


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= ERROR_WIDTH else line[:ERROR_WIDTH - 1] + "…"
