"""``rqflow schedules ...`` against a fake API: what is sent, what is printed, and how errors read."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import httpx
from typer.testing import Result

from tests.unit.cli.conftest import FakeApi, page, run_json, schedule_json

Rqflow = Callable[..., Result]
SCHEDULE = schedule_json()
SID = SCHEDULE["id"]


def test_list_shows_a_table_with_the_newest_runs_status(rqflow: Rqflow, fake_api: FakeApi) -> None:
    fake_api.on("GET", "/api/v1/schedules", page([SCHEDULE]))
    fake_api.on("GET", f"/api/v1/schedules/{SID}/runs", page([run_json(status="failed")], total=3))

    result = rqflow("schedules", "list")

    assert result.exit_code == 0, result.output
    for text in (SID[:8], "morning", "every 5 minutes", "Europe/Berlin", "active", "2030-01-01 09:05 CET", "failed"):
        assert text in result.stdout
    assert SID not in result.stdout, "the table shows ids short; --wide shows them whole"
    assert SID in rqflow("schedules", "list", "--wide").stdout
    assert fake_api.requests[1].url.params["limit"] == "1"


def test_list_json_prints_the_apis_page_and_nothing_else(rqflow: Rqflow, fake_api: FakeApi) -> None:
    answer = page([SCHEDULE])
    fake_api.on("GET", "/api/v1/schedules", answer)

    result = rqflow("schedules", "list", "--json", "--status", "paused", "--search", "morn")

    assert result.exit_code == 0 and json.loads(result.stdout) == answer
    assert fake_api.paths() == ["GET /api/v1/schedules"]  # no extra requests for the table
    assert dict(fake_api.requests[0].url.params) == {"status": "paused", "name": "morn", "limit": "50",
                                                     "offset": "0"}


def test_list_follows_the_apis_pages_up_to_the_limit(rqflow: Rqflow, fake_api: FakeApi) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        limit, offset = int(request.url.params["limit"]), int(request.url.params["offset"])
        items = [schedule_json(id=str(n)) for n in range(offset, min(offset + limit, 800))]
        return httpx.Response(200, json=page(items, total=800, limit=limit, offset=offset))

    fake_api.on("GET", "/api/v1/schedules", answer)

    result = rqflow("schedules", "list", "--json", "--limit", "700")

    shown = json.loads(result.stdout)
    assert [(r.url.params["limit"], r.url.params["offset"]) for r in fake_api.requests] == [("500", "0"),
                                                                                           ("200", "500")]
    assert len(shown["items"]) == 700 and shown["total"] == 800 and shown["items"][-1]["id"] == "699"


def test_names_are_printed_as_is_not_as_markup(rqflow: Rqflow, fake_api: FakeApi) -> None:
    fake_api.on("GET", f"/api/v1/schedules/{SID}", schedule_json(name="[red]x[/] [/oops]"))
    fake_api.on("GET", f"/api/v1/schedules/{SID}/runs", page([]))

    result = rqflow("schedules", "show", SID)

    assert result.exit_code == 0, result.output
    assert "[red]x[/] [/oops]" in result.stdout


def test_show_prints_the_schedule_and_its_next_runs(rqflow: Rqflow, fake_api: FakeApi) -> None:
    paused = schedule_json(status="paused", paused_reason="maintenance", paused_at="2030-01-01T07:00:00Z")
    fake_api.on("GET", f"/api/v1/schedules/{SID}", paused)
    fake_api.on("GET", f"/api/v1/schedules/{SID}/runs", page([]))

    result = rqflow("schedules", "show", SID)

    for text in ("paused since 2030-01-01 08:00 CET: maintenance", "next runs", "2030-01-01 09:10 CET",
                 "3 (1 failed, 0 in a row; 2 missed)"):
        assert text in result.stdout


def test_create_sends_the_cadence_and_options(rqflow: Rqflow, fake_api: FakeApi) -> None:
    fake_api.on("POST", "/api/v1/schedules", SCHEDULE, status=201)

    result = rqflow("schedules", "create", "--name", "n", "--workflow", "3", "--interval", "5m",
                    "--payload", '{"request": "hi"}', "--overlap", "allow", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == SCHEDULE
    assert fake_api.body() == {"name": "n", "workflow_id": 3, "timezone": "UTC", "description": "",
                               "schedule_type": "interval", "interval_seconds": 300,
                               "trigger_payload": {"request": "hi"}, "overlap_policy": "allow"}


def test_create_reads_a_time_without_offset_in_the_timezone(rqflow: Rqflow, fake_api: FakeApi) -> None:
    fake_api.on("POST", "/api/v1/schedules", SCHEDULE, status=201)

    rqflow("schedules", "create", "--name", "n", "--workflow", "3", "--at", "2030-07-01T09:00",
           "--timezone", "Europe/Berlin")

    assert fake_api.body()["run_at"] == "2030-07-01T09:00:00+02:00"


def test_create_refuses_bad_input_before_calling(rqflow: Rqflow, fake_api: FakeApi) -> None:
    cases = [(["--cron", "* * * * *", "--interval", "60"], "give exactly one of --cron, --interval, --at"),
             ([], "give exactly one of"), (["--interval", "soon"], "--interval: 'soon' is not"),
             (["--cron", "0 9 * * *", "--payload", "{nope"], "--payload: not valid JSON")]
    for extra, message in cases:
        result = rqflow("schedules", "create", "--name", "n", "--workflow", "1", *extra)
        assert (result.exit_code, result.stdout) == (1, ""), extra
        assert result.stderr.startswith(f"rqflow: {message}"), result.stderr
    assert fake_api.requests == []


def test_a_refusal_prints_field_and_message_and_exits_1(rqflow: Rqflow, fake_api: FakeApi) -> None:
    body = {"detail": [], "message": "'61 * * * *' is not a valid cron expression", "field": "cron_expression"}
    fake_api.on("POST", "/api/v1/schedules", body, status=422)

    result = rqflow("schedules", "create", "--name", "n", "--workflow", "1", "--cron", "61 * * * *", "--json")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == "rqflow: cron_expression: '61 * * * *' is not a valid cron expression\n"


def test_a_message_that_names_its_field_is_not_repeated(rqflow: Rqflow, fake_api: FakeApi) -> None:
    body = {"detail": [], "message": "until: Input should have timezone info", "field": "until"}
    fake_api.on("POST", f"/api/v1/schedules/{SID}/pause", body, status=422)

    result = rqflow("schedules", "pause", SID, "--until", "2030-01-01T00:00")

    assert result.stderr == "rqflow: until: Input should have timezone info\n"


def test_401_says_the_token_is_wrong_or_missing(rqflow: Rqflow, fake_api: FakeApi) -> None:
    fake_api.on("GET", f"/api/v1/schedules/{SID}", {"detail": [], "message": "invalid token", "field": None},
                status=401)

    wrong = rqflow("schedules", "show", SID)
    missing = rqflow("schedules", "show", SID, env={"RQFLOW_TOKEN": ""})

    assert wrong.exit_code == 2 and "refused the token in RQFLOW_TOKEN" in wrong.stderr
    assert missing.exit_code == 2 and "no API token: set RQFLOW_TOKEN" in missing.stderr
    assert "Authorization" not in fake_api.requests[-1].headers


def test_no_answer_is_one_line_naming_the_url(rqflow: Rqflow, fake_api: FakeApi) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    fake_api.on("GET", "/api/v1/schedules", refuse)

    result = rqflow("schedules", "list")

    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("rqflow: cannot reach the rqflow API at http://api.test (connection refused)")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_an_answer_that_is_not_json_still_reads_as_one_line(rqflow: Rqflow, fake_api: FakeApi) -> None:
    fake_api.on("GET", f"/api/v1/schedules/{SID}", httpx.Response(502, text="<html>Bad Gateway</html>\n..."))

    result = rqflow("schedules", "show", SID)

    assert (result.exit_code, result.stderr) == (1, "rqflow: HTTP 502: <html>Bad Gateway</html>\n")


def test_pause_sends_reason_and_until_and_says_so(rqflow: Rqflow, fake_api: FakeApi) -> None:
    paused = schedule_json(status="paused", paused_reason="db upgrade", paused_until="2030-01-02T05:00:00Z")
    fake_api.on("POST", f"/api/v1/schedules/{SID}/pause", paused)

    result = rqflow("schedules", "pause", SID, "--reason", "db upgrade", "--until", "2030-01-02T06:00:00+01:00")

    assert fake_api.body() == {"reason": "db upgrade", "until": "2030-01-02T06:00:00+01:00"}
    assert result.stdout.startswith(f"paused morning ({SID}) until 2030-01-02 06:00 CET")
    assert result.stdout.rstrip().endswith(": db upgrade")


def test_trigger_and_runs(rqflow: Rqflow, fake_api: FakeApi) -> None:
    fake_api.on("POST", f"/api/v1/schedules/{SID}/trigger", run_json(trigger_kind="manual", status="enqueued"),
                status=202)
    fake_api.on("GET", f"/api/v1/schedules/{SID}/runs", page([run_json(error="boom\ntrace")]))
    fake_api.on("GET", f"/api/v1/schedules/{SID}", SCHEDULE)

    triggered = rqflow("schedules", "trigger", SID)
    ledger = rqflow("schedules", "runs", SID, "--status", "failed")

    assert "manual" in triggered.stdout and "enqueued" in triggered.stdout
    for text in ("2030-01-01 09:00 CET", "succeeded", "+0.25 s", "1.5 s", "boom"):
        assert text in ledger.stdout
    assert "trace" not in ledger.stdout  # the first line of an error only
    assert fake_api.requests[1].url.params["status"] == "failed"


def test_delete_asks_first(rqflow: Rqflow, fake_api: FakeApi) -> None:
    fake_api.on("GET", f"/api/v1/schedules/{SID}", SCHEDULE)
    fake_api.on("DELETE", f"/api/v1/schedules/{SID}", httpx.Response(204))

    declined = rqflow("schedules", "delete", SID, input="n\n")
    # Saying no is not a refused request (exit 1): nothing went wrong, nothing was deleted.
    assert declined.exit_code == 0 and "deleted" not in declined.stdout, declined.output
    assert "Delete schedule morning" in declined.stderr and "Not deleted." in declined.stderr
    assert fake_api.paths() == [f"GET /api/v1/schedules/{SID}"]

    confirmed = rqflow("schedules", "delete", SID, "--yes", "--json")
    assert (confirmed.exit_code, confirmed.stdout) == (0, "")
    assert fake_api.paths()[-1] == f"DELETE /api/v1/schedules/{SID}"


def test_ids_stay_one_path_segment(rqflow: Rqflow, fake_api: FakeApi) -> None:
    fake_api.on("GET", "/api/v1/schedules", page([schedule_json(id="../workflows")]))

    rqflow("schedules", "show", "../workflows")

    assert fake_api.requests[1].url.raw_path == b"/api/v1/schedules/..%2Fworkflows"


def test_needs_no_database_settings(rqflow: Rqflow, fake_api: FakeApi) -> None:
    fake_api.on("GET", "/api/v1/schedules", page([]))

    result = rqflow("schedules", "list", env={"RQFLOW_DATABASE_URL": "mysql://not-a-setting-rqflow-takes"})

    assert result.exit_code == 0 and "schedules: none" in result.stdout


def test_list_and_show_say_the_same_last_run_with_its_time(rqflow: Rqflow, fake_api: FakeApi) -> None:
    # A run triggered by hand is the newest ledger row but does not move last_run_at.
    schedule = schedule_json(last_run_at=None)
    fake_api.on("GET", "/api/v1/schedules", page([schedule]))
    fake_api.on("GET", f"/api/v1/schedules/{SID}", schedule)
    fake_api.on("GET", f"/api/v1/schedules/{SID}/runs",
                page([run_json(trigger_kind="manual", scheduled_for="2030-01-01T07:30:00Z")]))

    listed, shown = rqflow("schedules", "list").stdout, rqflow("schedules", "show", SID).stdout

    assert re.search(r"last run\s+succeeded 2030-01-01 08:30 CET \(", shown), shown
    row = next(line for line in listed.splitlines() if "morning" in line)
    assert "│ succeeded" in row and "│ 2030-01-01 08:30 CET (" in listed, listed  # the time under the status


def test_list_and_show_say_never_run_alike(rqflow: Rqflow, fake_api: FakeApi) -> None:
    schedule = schedule_json(last_run_at=None, missed_count=0)
    fake_api.on("GET", "/api/v1/schedules", page([schedule]))
    fake_api.on("GET", f"/api/v1/schedules/{SID}", schedule)
    fake_api.on("GET", f"/api/v1/schedules/{SID}/runs", page([]))

    listed, shown = rqflow("schedules", "list").stdout, rqflow("schedules", "show", SID).stdout

    assert re.search(r"last run\s+—", shown), shown
    assert "│ — " in next(line for line in listed.splitlines() if "morning" in line), listed


def test_list_fits_an_80_column_terminal(rqflow: Rqflow, fake_api: FakeApi) -> None:
    fake_api.on("GET", "/api/v1/schedules", page([SCHEDULE]))
    fake_api.on("GET", f"/api/v1/schedules/{SID}/runs", page([run_json()]))

    result = rqflow("schedules", "list", env={"COLUMNS": "80"})

    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.stdout.splitlines()) <= 80, result.stdout
    assert f"│ {SID[:8]} │ morning " in result.stdout
