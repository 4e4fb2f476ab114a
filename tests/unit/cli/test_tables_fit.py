"""Tables fit the terminal: at 80 columns ids are short, names fold into words (not ``mor/nin/g``) and the
least important columns are left out; at 120 more of them show; ``wide`` shows everything."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from rich.cells import cell_len
from rich.console import Console

from rqflow.client import tables
from tests.unit.cli.conftest import page, run_json, schedule_json

NOW = datetime(2030, 1, 1, 8, 1, tzinfo=UTC)
LONG_NAME = "nightly-report-for-the-finance-team"
SCHEDULES = [schedule_json(), schedule_json(id="a1b2c3d4-0000-4000-8000-000000000002", name=LONG_NAME,
                                            cadence="At 02:00 AM, Monday through Friday", status="stopped")]
LAST_RUNS = {SCHEDULES[0]["id"]: run_json(), SCHEDULES[1]["id"]: run_json(status="failed", trigger_kind="manual")}
ERROR = "ValueError: the http node's answer was not JSON: Expecting value: line 1 column 1 (char 0)"
NOTIFICATION = {"id": 12, "created_at": "2030-01-01T07:00:00Z", "outcome": "budget_exceeded", "channel": "webhook",
                "target": "https://hooks.example.com/services/T000/B000/XXXXXXXXXXXX", "status": "pending",
                "attempts": 3, "last_error": "HTTP 503: Service Unavailable",
                "next_attempt_at": "2030-01-01T08:10:00Z"}
WORKFLOW = {"id": 4, "name": LONG_NAME, "updated_at": "2030-01-01T00:00:00Z",
            "nodes": [{"key": "every_morning", "component_type": "trigger_schedule"},
                      {"key": "call", "component_type": "http_request"}]}
WORKFLOW_RUN = {"id": 9, "workflow_id": 4, "schedule_run_id": 7, "event_type": "schedule", "status": "failed",
                "event": {"trigger_kind": "backfill"}, "error": ERROR, "started_at": "2030-01-01T00:00:00Z",
                "finished_at": "2030-01-01T00:00:02.500000Z"}
TOKEN = {"id": 3, "name": "deploys from the CI server", "created_at": "2030-01-01T00:00:00Z",
         "expires_at": "2030-04-01T00:00:00Z", "last_used_at": "2030-01-01T08:00:00Z", "revoked_at": None}

Table = Callable[[bool], tables.FittedTable]
TABLES: dict[str, Table] = {
    "schedules list": lambda wide: tables.schedules_table(page(SCHEDULES), last_runs=LAST_RUNS, now=NOW, wide=wide),
    "schedules runs": lambda wide: tables.runs_table(page([run_json(error=ERROR, total_tokens=12345,
                                                                    total_cost_usd=0.0123)]),
                                                     timezone="Europe/Berlin", wide=wide),
    "schedules notifications": lambda wide: tables.notifications_table(page([NOTIFICATION]), timezone="Europe/Berlin",
                                                                       now=NOW, wide=wide),
    "workflows list": lambda wide: tables.workflows_table(page([WORKFLOW]), wide=wide),
    "workflows runs": lambda wide: tables.workflow_runs_table(page([WORKFLOW_RUN]), wide=wide),
    "user tokens": lambda wide: tables.tokens_table([TOKEN], user="alice", wide=wide),
}


def rendered(table: tables.FittedTable, width: int) -> list[str]:
    """The lines a terminal ``width`` columns wide shows, printed uncropped as the commands print."""
    console = Console(width=width, file=io.StringIO(), color_system=None)
    console.print(table, crop=False)
    output = console.file.getvalue()  # type: ignore[attr-defined]
    return output.splitlines()


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("command", sorted(TABLES))
def test_every_table_fits_the_terminal(command: str, width: int) -> None:
    lines = rendered(TABLES[command](False), width)

    assert max(cell_len(line) for line in lines) <= width, "\n".join(lines)


@pytest.mark.parametrize("width", [80, 120])
def test_schedules_show_short_ids_and_names_folded_into_words(width: int) -> None:
    text = "\n".join(rendered(TABLES["schedules list"](False), width))

    assert SCHEDULES[0]["id"][:8] in text and SCHEDULES[0]["id"] not in text
    assert "morning" in text and "nightly-report" in text, text  # not "mor" / "nin" / "g"
    for header in ("name", "status", "next run", "last run"):
        assert header in text


def test_a_wider_terminal_shows_more_columns() -> None:
    narrow = rendered(TABLES["schedules list"](False), 80)[2]
    wide = rendered(TABLES["schedules list"](False), 120)[2]

    assert "cadence" not in narrow and "missed" not in narrow
    assert "cadence" in wide and "missed" in wide


@pytest.mark.parametrize("command", sorted(TABLES))
def test_wide_shows_every_column_unfolded(command: str) -> None:
    table = TABLES[command](True)
    lines = rendered(table, 80)

    assert all(column.header in lines[2] for column in table.columns), lines[2]
    assert len([line for line in lines if line.startswith("│")]) == len(table.rows), "\n".join(lines)


def test_wide_shows_whole_ids() -> None:
    text = "\n".join(rendered(TABLES["schedules list"](True), 80))

    assert all(item["id"] in text and item["name"] in text for item in SCHEDULES)


def test_a_very_narrow_terminal_folds_further_but_never_an_id() -> None:
    lines = rendered(TABLES["schedules list"](False), 40)

    assert max(cell_len(line) for line in lines) <= 40 and "cadence" not in "\n".join(lines)
    assert all(item["id"][:8] in "\n".join(lines) for item in SCHEDULES)
