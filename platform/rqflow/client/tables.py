"""Rich renderables for the API's answers: tables for lists, key/value panels for one object.

Functions take the API's JSON and ``now``; they print nothing, so the commands decide where output goes.
Tables fit the terminal (80 columns too): ids shortened, each column folding no narrower than it reads
well, and the least important columns left out when the rest would not fit; ``wide`` shows them all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.console import Console, ConsoleOptions, Group, JustifyMethod, RenderableType, RenderResult
from rich.measure import Measurement
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from rqflow.client.humanize import NOTHING, duration, lateness, local_time, relative, when, zone_of
from rqflow.client.ids import short_length

Json = dict[str, Any]
STATUS_STYLES = {"active": "green", "paused": "yellow", "stopped": "dim", "succeeded": "green", "failed": "red",
                 "running": "cyan", "enqueued": "cyan", "waiting": "cyan", "retrying": "yellow", "skipped": "yellow",
                 "missed": "red", "delivered": "green", "pending": "cyan"}
# A table cell shows the first line of an error, this long at most; `show` and --json give it whole.
ERROR_WIDTH = 60
# What a table's rules and padding take: a rule and a space either side of every cell, and one closing rule.
CELL_FRAME, TABLE_FRAME = 3, 1
# The narrowest a column of instants folds to: "2030-01-01 09:05" on one line, "CEST (30 min ago)" below.
INSTANT_FOLD = 17
TEXT_FOLD = 14  # names, cadences, targets: wide enough that a word is not cut into pieces
NEVER_FOLD = 10_000  # the column keeps its natural width (ids: a folded id cannot be copied)


@dataclass(frozen=True)
class Column:
    """A table column: ``fold``, the narrowest it may fold to; ``rank``, how soon it is left out when the
    terminal is too narrow for all (0: never; higher ranks first)."""

    header: str
    fold: int = TEXT_FOLD
    rank: int = 0
    justify: JustifyMethod = "left"


class FittedTable:
    """A table that fits the terminal instead of squeezing every column into a few letters.

    Columns are kept by rank while they fit at their fold widths, then those kept shrink, widest first,
    no narrower than their fold widths. ``wide`` keeps every column at its natural width, wider than the
    terminal if need be (``emit`` prints it uncropped).
    """

    def __init__(self, title: str, columns: Sequence[Column], rows: Iterable[Sequence[RenderableType]], *,
                 wide: bool = False) -> None:
        self.title, self.columns, self.wide = title, list(columns), wide
        # A string cell is shown as is: a name like "[red]" is not rich markup.
        self.rows = [[Text(cell) if isinstance(cell, str) else cell for cell in row] for row in rows]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        natural = [self._natural(console, options, index) for index in range(len(self.columns))]
        kept, widths = (list(range(len(natural))), natural) if self.wide else self._fitted(natural, options.max_width)
        width = max(options.max_width, _span(widths))
        yield from console.render(self._table(kept, widths), options.update_width(width))

    def _fitted(self, natural: list[int], room: int) -> tuple[list[int], list[int]]:
        """The columns kept for a terminal ``room`` wide, and their widths."""
        floors = [min(column.fold, width) for column, width in zip(self.columns, natural, strict=True)]
        kept = _kept(self.columns, floors, room)
        widths = _shrunk([natural[index] for index in kept], [floors[index] for index in kept], room)
        # A terminal too narrow even for the kept columns' fold widths: fold them further, never the ids.
        last_resort = [floors[index] if self.columns[index].fold == NEVER_FOLD else 1 for index in kept]
        return kept, _shrunk(widths, last_resort, room)

    def _natural(self, console: Console, options: ConsoleOptions, index: int) -> int:
        """The column's width with no cell folded: its longest line, header included."""
        cells = [Text(self.columns[index].header), *(row[index] for row in self.rows)]
        return max(Measurement.get(console, options.update_width(NEVER_FOLD), cell).maximum for cell in cells)

    def _table(self, kept: list[int], widths: list[int]) -> Table:
        table = Table(title=self.title, title_justify="left")
        for index, width in zip(kept, widths, strict=True):
            column = self.columns[index]
            table.add_column(column.header, justify=column.justify, overflow="fold", width=width,
                             no_wrap=column.fold == NEVER_FOLD)
        for row in self.rows:
            table.add_row(*(row[index] for index in kept))
        return table


def _kept(columns: Sequence[Column], floors: Sequence[int], room: int) -> list[int]:
    """The columns shown: by rank (ties: leftmost first), each that still fits at its fold width."""
    kept: list[int] = []
    for index in sorted(range(len(columns)), key=lambda i: (columns[i].rank, i)):
        if columns[index].rank == 0 or _span([floors[i] for i in [*kept, index]]) <= room:
            kept.append(index)
    return sorted(kept)


def _shrunk(widths: list[int], floors: list[int], room: int) -> list[int]:
    """The widths narrowed, the widest first and one character at a time, until the table fits ``room``."""
    widths = list(widths)
    while _span(widths) > room:
        shrinkable = [index for index, width in enumerate(widths) if width > floors[index]]
        if not shrinkable:
            break  # nothing left to narrow
        widths[max(shrinkable, key=lambda index: widths[index])] -= 1
    return widths


def _span(widths: Sequence[int]) -> int:
    """A table's width for these column widths."""
    return sum(widths) + CELL_FRAME * len(widths) + TABLE_FRAME


def status_text(status: str | None) -> Text:
    """A status word in its colour (plain when piped: rich drops styles without a terminal)."""
    return Text(status or NOTHING, style=STATUS_STYLES.get(status or "", ""))


SCHEDULE_COLUMNS = (Column("id", fold=NEVER_FOLD), Column("name"), Column("status"),
                    Column("next run", fold=INSTANT_FOLD), Column("last run", fold=INSTANT_FOLD, rank=1),
                    Column("cadence", rank=2), Column("missed", rank=3, justify="right"),
                    Column("timezone", rank=4))


def schedules_table(page: Json, *, last_runs: dict[str, Json | None], now: datetime,
                    wide: bool = False) -> FittedTable:
    """The ``schedules list`` table; ``last_runs`` maps a schedule id to its newest ledger row, if any."""
    length = None if wide else short_length([item["id"] for item in page["items"]])
    between = " " if wide else "\n"
    rows = [[item["id"][:length], item["name"], status_text(item["status"]),
             when(item["next_run_at"], zone_of(item["timezone"]), now),
             last_run(item, last_runs.get(item["id"]), now, between=between),
             item["cadence"], str(item["missed_count"]), item["timezone"]] for item in page["items"]]
    return FittedTable(_title("schedules", page), SCHEDULE_COLUMNS, rows, wide=wide)


def last_run(item: Json, run: Json | None, now: datetime, *, between: str = " ") -> Text:
    """The newest ledger row's status and occurrence, in the schedule's zone; "—" if it never ran.

    ``list`` and ``show`` both say it this way. ``last_run_at`` alone would not do: it moves only for
    the cadence's own occurrences, not for a run triggered by hand. It stands in when the ledger has
    no row (retention removed them). ``between`` goes between the status and the time (a table's
    narrow column reads better with a line break there than with a fold inside the time).
    """
    zone = zone_of(item["timezone"])
    if run is None:
        return Text(when(item["last_run_at"], zone, now))
    return status_text(run["status"]).append(between + when(run["scheduled_for"], zone, now))


def schedule_panel(item: Json, *, last: Json | None, now: datetime) -> Group:
    """The ``schedules show`` view: every field that matters, then the next runs (``last``: the newest run)."""
    zone = zone_of(item["timezone"])
    grid = _grid(_schedule_rows(item, zone, now, last))
    next_runs = [f"{local_time(value, zone)}  ({relative(value, now)})" for value in item["next_runs"]]
    upcoming = Panel(Text("\n".join(next_runs) or "none: the schedule will not fire again"), title="next runs",
                     title_align="left")
    return Group(Panel(grid, title=Text(f"schedule {item['name']}"), title_align="left"), upcoming)


def _schedule_rows(item: Json, zone: Any, now: datetime, last: Json | None) -> list[tuple[str, RenderableType]]:
    rows: list[tuple[str, RenderableType]] = [
        ("id", item["id"]), ("name", item["name"]), ("workflow", str(item["workflow_id"])),
        ("cadence", item["cadence"]), ("spec", _spec(item)), ("timezone", item["timezone"]),
        ("status", _status_line(item, zone)), ("next run", when(item["next_run_at"], zone, now)),
        ("last run", last_run(item, last, now)),
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


RUN_COLUMNS = (Column("id", fold=NEVER_FOLD), Column("scheduled for", fold=INSTANT_FOLD), Column("status"),
               Column("trigger", rank=3), Column("lateness", rank=2), Column("duration", rank=1),
               Column("tokens", rank=5, justify="right"), Column("cost", rank=5, justify="right"),
               Column("error", rank=1))


def runs_table(page: Json, *, timezone: str | None, wide: bool = False) -> FittedTable:
    """The ``schedules runs`` ledger, occurrences shown in the schedule's zone."""
    zone = zone_of(timezone)
    rows = [[str(run["id"]), local_time(run["scheduled_for"], zone), status_text(run["status"]),
             run["trigger_kind"], lateness(run["scheduled_for"], run["started_at"]),
             duration(run["duration_seconds"]), _spent(run), _cost(run), _run_note(run, zone)]
            for run in page["items"]]
    return FittedTable(_title("runs", page), RUN_COLUMNS, rows, wide=wide)


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


NOTIFICATION_COLUMNS = (Column("id", fold=NEVER_FOLD), Column("when", fold=INSTANT_FOLD), Column("outcome"),
                        Column("channel", rank=4), Column("target", rank=1), Column("status"),
                        Column("tries", rank=3, justify="right"), Column("last error", rank=2))


def notifications_table(page: Json, *, timezone: str | None, now: datetime,
                        wide: bool = False) -> FittedTable:
    """The ``schedules notifications`` table, newest first, times in the schedule's zone."""
    zone = zone_of(timezone)
    rows = [[str(item["id"]), when(item["created_at"], zone, now), item["outcome"], item["channel"],
             item["target"], status_text(item["status"]), str(item["attempts"]), _delivery_note(item, zone)]
            for item in page["items"]]
    return FittedTable(_title("notifications", page), NOTIFICATION_COLUMNS, rows, wide=wide)


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


WORKFLOW_COLUMNS = (Column("id", fold=NEVER_FOLD), Column("name"), Column("nodes", rank=2, justify="right"),
                    Column("triggers", rank=1), Column("updated", fold=INSTANT_FOLD, rank=3))


def workflows_table(page: Json, *, wide: bool = False) -> FittedTable:
    """The ``workflows list`` table."""
    rows = [[str(item["id"]), item["name"], str(len(item["nodes"])), _triggers(item),
             local_time(item["updated_at"], None)] for item in page["items"]]
    return FittedTable(_title("workflows", page), WORKFLOW_COLUMNS, rows, wide=wide)


def _triggers(workflow: Json) -> str:
    keys = [node["key"] for node in workflow["nodes"] if node["component_type"].startswith("trigger_")]
    return ", ".join(keys) or NOTHING


WORKFLOW_RUN_COLUMNS = (Column("id", fold=NEVER_FOLD), Column("status"), Column("trigger", rank=1),
                        Column("schedule run", rank=4), Column("started", fold=INSTANT_FOLD),
                        Column("duration", rank=1), Column("error", rank=2))


def workflow_runs_table(page: Json, *, wide: bool = False) -> FittedTable:
    """The ``workflows runs`` table (UTC: a workflow has no zone of its own)."""
    rows: list[list[RenderableType]] = [
        [str(run["id"]), status_text(run["status"]), trigger_of(run), str(run["schedule_run_id"] or NOTHING),
         local_time(run["started_at"], None), _elapsed(run["started_at"], run["finished_at"]),
         _first_line(run["error"])] for run in page["items"]]
    return FittedTable(_title("workflow runs", page), WORKFLOW_RUN_COLUMNS, rows, wide=wide)


def trigger_of(run: Json) -> str:
    """What started a workflow run: schedule, manual or backfill (its event type is "schedule" for all three).

    The API's ``trigger_kind`` when it sends one, else the schedule event's own (an API from before the
    field); a run without either shows its event type.
    """
    event = run.get("event")
    for kind in (run.get("trigger_kind"), event.get("trigger_kind") if isinstance(event, dict) else None):
        if isinstance(kind, str) and kind:
            return kind
    return str(run["event_type"])


TOKEN_COLUMNS = (Column("id", fold=NEVER_FOLD), Column("name"), Column("expires", fold=INSTANT_FOLD, rank=1),
                 Column("last used", fold=INSTANT_FOLD, rank=1), Column("revoked", fold=INSTANT_FOLD, rank=1),
                 Column("created", fold=INSTANT_FOLD, rank=2))


def tokens_table(tokens: list[Json], *, user: str, wide: bool = False) -> FittedTable:
    """``rqflow user tokens``: TokenPublic rows (never a token itself), times in UTC."""
    instants = ("expires_at", "last_used_at", "revoked_at", "created_at")
    rows: list[list[RenderableType]] = [
        [str(token["id"]), token["name"], *[local_time(token[key], None) for key in instants]]
        for token in tokens]
    return FittedTable(f"tokens of {user}: {len(tokens)}", TOKEN_COLUMNS, rows, wide=wide)


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
