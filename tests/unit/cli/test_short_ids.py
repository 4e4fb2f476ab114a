"""Short schedule ids: tables show the shortest start that tells the shown ids apart (8 characters at least,
like git's hashes), and every command taking a SCHEDULE_ID accepts a start that only one id has."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from typer.testing import Result

from rqflow.client.ids import short_length, starting_with
from tests.unit.cli.conftest import FakeApi, page, run_json, schedule_json

Rqflow = Callable[..., Result]
SCHEDULE = schedule_json()
SID = SCHEDULE["id"]  # 5f0c3a1e-0000-…
OTHER = "a1b2c3d4-0000-4000-8000-000000000002"
TWIN = "5f0c3a1e-9999-4000-8000-000000000003"  # the same first 8 characters as SID


def test_the_shown_length_is_the_shortest_that_tells_the_ids_apart() -> None:
    assert short_length([SID, OTHER]) == 8
    assert short_length([SID, TWIN, OTHER]) == 10  # "5f0c3a1e-0" and "5f0c3a1e-9": a dash alone tells nothing
    assert short_length([]) == 8 and short_length(["12", "123"]) == 8


def test_a_start_matches_in_any_case_and_a_whole_id_wins() -> None:
    assert starting_with("5F0C", [SID, TWIN, OTHER]) == [SID, TWIN]
    assert starting_with("12", ["12", "123"]) == ["12"]


def answer_every_route(fake_api: FakeApi, *schedules: dict[str, object]) -> None:
    """The listing of ``schedules`` and, for SID, what each command's call answers."""
    fake_api.on("GET", "/api/v1/schedules", page(list(schedules)))
    fake_api.on("GET", f"/api/v1/schedules/{SID}", SCHEDULE)
    for action in ("pause", "resume"):
        fake_api.on("POST", f"/api/v1/schedules/{SID}/{action}", SCHEDULE)
    fake_api.on("POST", f"/api/v1/schedules/{SID}/trigger", run_json(), status=202)
    fake_api.on("GET", f"/api/v1/schedules/{SID}/runs", page([run_json()]))
    fake_api.on("GET", f"/api/v1/schedules/{SID}/notifications", page([]))
    fake_api.on("DELETE", f"/api/v1/schedules/{SID}", httpx.Response(204))


COMMANDS = [(["show"], f"GET /api/v1/schedules/{SID}"), (["pause"], f"POST /api/v1/schedules/{SID}/pause"),
            (["resume"], f"POST /api/v1/schedules/{SID}/resume"),
            (["trigger"], f"POST /api/v1/schedules/{SID}/trigger"), (["runs"], f"GET /api/v1/schedules/{SID}/runs"),
            (["notifications"], f"GET /api/v1/schedules/{SID}/notifications"),
            (["delete", "--yes"], f"DELETE /api/v1/schedules/{SID}")]


@pytest.mark.parametrize(("command", "call"), COMMANDS, ids=[command[0] for command, _ in COMMANDS])
def test_every_command_takes_the_start_of_an_id(rqflow: Rqflow, fake_api: FakeApi, command: list[str],
                                                call: str) -> None:
    answer_every_route(fake_api, SCHEDULE, schedule_json(id=OTHER, name="other"))

    result = rqflow("schedules", command[0], SID[:8].upper(), *command[1:])

    assert result.exit_code == 0, result.output
    assert fake_api.paths()[0] == "GET /api/v1/schedules" and call in fake_api.paths()


def test_a_whole_id_goes_straight_through(rqflow: Rqflow, fake_api: FakeApi) -> None:
    answer_every_route(fake_api, SCHEDULE)

    result = rqflow("schedules", "pause", SID)

    assert result.exit_code == 0, result.output
    assert fake_api.paths() == [f"POST /api/v1/schedules/{SID}/pause"]


def test_a_start_no_id_has_is_refused_naming_it(rqflow: Rqflow, fake_api: FakeApi) -> None:
    answer_every_route(fake_api, SCHEDULE)

    result = rqflow("schedules", "pause", "abcd")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == "rqflow: no schedule id starts with 'abcd'\n"
    assert fake_api.paths() == ["GET /api/v1/schedules"]


def test_a_start_several_ids_share_is_refused_naming_them(rqflow: Rqflow, fake_api: FakeApi) -> None:
    answer_every_route(fake_api, SCHEDULE, schedule_json(id=TWIN, name="twin"), schedule_json(id=OTHER))

    result = rqflow("schedules", "delete", "5f0c3a1e", "--yes")

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith("rqflow: 2 schedule ids start with '5f0c3a1e': ")
    assert f"{SID} (morning)" in result.stderr and f"{TWIN} (twin)" in result.stderr and OTHER not in result.stderr
    assert result.stderr.count("\n") == 1 and "DELETE" not in " ".join(fake_api.paths())


def test_a_start_shorter_than_4_is_refused_without_asking_the_api(rqflow: Rqflow, fake_api: FakeApi) -> None:
    result = rqflow("schedules", "show", "5f0")

    assert result.exit_code == 1 and "at least 4 characters" in result.stderr
    assert fake_api.requests == []


def test_the_lookup_follows_every_page(rqflow: Rqflow, fake_api: FakeApi) -> None:
    def listing(request: httpx.Request) -> httpx.Response:
        limit, offset = int(request.url.params["limit"]), int(request.url.params["offset"])
        everyone = [schedule_json(id=f"{n:08x}-0000-4000-8000-000000000000") for n in range(700)] + [SCHEDULE]
        return httpx.Response(200, json=page(everyone[offset:offset + limit], total=701, limit=limit, offset=offset))

    answer_every_route(fake_api)
    fake_api.on("GET", "/api/v1/schedules", listing)

    result = rqflow("schedules", "show", "5f0c3a1e", "--json")

    assert result.exit_code == 0, result.output
    assert fake_api.paths() == ["GET /api/v1/schedules"] * 2 + [f"GET /api/v1/schedules/{SID}"]
