"""What a newcomer meets in the first hour, against the real API: tables that fit 80 columns, short ids
taken back by every command, and a "no" to a confirmation that is not an error."""

from __future__ import annotations

import os
import subprocess

from rqflow.settings import Settings
from tests.e2e.conftest import rqflow_command
from tests.integration.cli.conftest import Rqflow
from tests.integration.cli.test_cli_against_the_api import loads, ok
from tests.integration.conftest import ApiUser, make_workflow

NARROW = {"COLUMNS": "80"}


def create(rqflow: Rqflow, alice: ApiUser, name: str) -> str:
    """A new schedule's whole id."""
    created = loads(rqflow("schedules", "create", "--name", name, "--workflow", str(make_workflow(alice)),
                           "--cron", "0 9 * * 1-5", "--timezone", "Europe/Berlin", "--json"))
    return str(created["id"])


def test_the_list_fits_80_columns_and_its_short_ids_work(rqflow: Rqflow, alice: ApiUser) -> None:
    sid = create(rqflow, alice, "morning")
    create(rqflow, alice, "nightly-report-for-the-finance-team")

    table = ok(rqflow("schedules", "list", env=NARROW)).stdout
    assert max(len(line) for line in table.splitlines()) <= 80, table
    assert f"│ {sid[:8]} │ morning " in table and sid not in table

    paused = ok(rqflow("schedules", "pause", sid[:8], "--reason", "short ids")).stdout
    assert paused.startswith(f"paused morning ({sid})")
    assert loads(rqflow("schedules", "show", sid[:6], "--json"))["paused_reason"] == "short ids"
    triggered = loads(rqflow("schedules", "trigger", sid[:8], "--json"))
    assert triggered["scheduled_job_id"] == sid and triggered["trigger_kind"] == "manual"
    shown = ok(rqflow("schedules", "show", sid[:8])).stdout
    assert "last run" in shown and "—" not in shown.split("last run")[1].splitlines()[0]


def test_a_start_no_id_has_is_refused_with_exit_1(rqflow: Rqflow, alice: ApiUser) -> None:
    sid = create(rqflow, alice, "morning")
    unused = next(f"{digit}{digit}{digit}{digit}" for digit in "0123456789abcdef" if not sid.startswith(digit))

    result = rqflow("schedules", "runs", unused)

    assert (result.exit_code, result.stderr) == (1, f"rqflow: no schedule id starts with '{unused}'\n")


def test_saying_no_to_delete_keeps_the_schedule_and_exits_0(rqflow: Rqflow, alice: ApiUser) -> None:
    sid = create(rqflow, alice, "morning")

    declined = rqflow("schedules", "delete", sid[:8], input="n\n")

    assert declined.exit_code == 0 and "Not deleted." in declined.stderr, declined.output
    assert loads(rqflow("schedules", "show", sid, "--json"))["id"] == sid


def test_user_tokens_is_a_table_that_fits(settings: Settings, alice: ApiUser) -> None:
    table, wide = user_tokens(settings), user_tokens(settings, "--wide")

    assert table.returncode == 0, table.stderr
    assert max(len(line) for line in table.stdout.splitlines()) <= 80, table.stdout
    assert "created with" in table.stdout and alice.token not in table.stdout
    assert "created" in wide.stdout.splitlines()[2] and alice.token not in wide.stdout


def user_tokens(settings: Settings, *options: str) -> subprocess.CompletedProcess[str]:
    """``rqflow user tokens alice`` in a process of its own (it sets up logging), output 80 columns wide."""
    env = {**os.environ, "RQFLOW_DATABASE_URL": settings.database_url, "RQFLOW_REDIS_URL": settings.redis_url,
           **NARROW}
    return subprocess.run([rqflow_command(), "user", "tokens", "alice", *options], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
