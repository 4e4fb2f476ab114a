"""One handler per process: JSON or text, carrying the bound ids, and libraries' lines printed once."""

from __future__ import annotations

import io
import json
import logging
import warnings

import pytest
from rq.logutils import setup_loghandlers

from rqflow.observability.context import log_context
from rqflow.observability.logs import configure_logging, wants_json
from rqflow.settings import Settings

pytestmark = pytest.mark.usefixtures("restore_logging")


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _settings(log_format: str) -> Settings:
    return Settings(log_format=log_format, log_level="INFO")  # type: ignore[arg-type]


def _lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_json_lines_carry_the_bound_ids() -> None:
    stream = io.StringIO()
    configure_logging(_settings("json"), stream)
    with log_context(schedule_id="s1", run_id=4, rq_job_id="rqflow-fire-s1-1"):
        logging.getLogger("rqflow.test").info("ran %s", "it")
    [line] = _lines(stream)
    entry = json.loads(line)
    assert entry["message"] == "ran it" and entry["level"] == "INFO" and entry["logger"] == "rqflow.test"
    assert (entry["schedule_id"], entry["run_id"], entry["rq_job_id"]) == ("s1", 4, "rqflow-fire-s1-1")
    assert "time" in entry and "request_id" not in entry


def test_a_traceback_stays_inside_its_json_line() -> None:
    stream = io.StringIO()
    configure_logging(_settings("json"), stream)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("rqflow.test").exception("failed")
    [line] = _lines(stream)
    assert "ValueError: boom" in json.loads(line)["exc_info"]


def test_text_lines_end_with_the_ids() -> None:
    stream = io.StringIO()
    configure_logging(_settings("text"), stream)
    with log_context(request_id="abc"):
        logging.getLogger("rqflow.test").warning("slow")
    [line] = _lines(stream)
    assert line.endswith("WARNING rqflow.test: slow [request_id=abc]")


@pytest.mark.parametrize(("log_format", "terminal", "json_expected"), [
    ("auto", True, False), ("auto", False, True), ("json", True, True), ("text", False, False),
])
def test_auto_means_text_on_a_terminal_and_json_elsewhere(log_format: str, terminal: bool,
                                                          json_expected: bool) -> None:
    stream = Terminal() if terminal else io.StringIO()
    assert wants_json(log_format, stream) is json_expected


def test_rq_worker_lines_go_through_the_one_handler_once() -> None:
    stream = io.StringIO()
    configure_logging(_settings("json"), stream)
    setup_loghandlers("INFO", name="rq.worker")  # what Worker.work() does first
    logging.getLogger("rq.worker").info("Worker w: started")
    assert [json.loads(line)["message"] for line in _lines(stream)] == ["Worker w: started"]


def test_uvicorn_loggers_propagate_to_the_one_handler() -> None:
    logging.getLogger("uvicorn.access").addHandler(logging.NullHandler())
    logging.getLogger("uvicorn.access").propagate = False  # as uvicorn's own config leaves it
    stream = io.StringIO()
    configure_logging(_settings("json"), stream)
    logging.getLogger("uvicorn.access").info("GET /livez 200")
    assert [json.loads(line)["logger"] for line in _lines(stream)] == ["uvicorn.access"]


def test_warnings_become_log_lines() -> None:
    stream = io.StringIO()
    configure_logging(_settings("json"), stream)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("careful", FutureWarning, stacklevel=1)
    [line] = _lines(stream)
    assert json.loads(line)["logger"] == "py.warnings"


def test_the_setting_refuses_an_unknown_format() -> None:
    with pytest.raises(ValueError, match="log_format"):
        Settings(log_format="xml")  # type: ignore[arg-type]


def test_configuring_again_replaces_the_handler_instead_of_adding_one() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging(_settings("json"), first)
    configure_logging(_settings("json"), second)
    logging.getLogger("rqflow.test").info("once")
    assert (first.getvalue(), len(_lines(second))) == ("", 1)


def test_text_lines_escape_control_characters_so_no_line_can_be_forged() -> None:
    """Finding 9: an endpoint's answer in a log message once wrote a line of its own."""
    stream = io.StringIO()
    configure_logging(_settings("text"), stream)
    forged = "done\n2026-12-04 00:00:00,000 CRITICAL rqflow.auth: admin token rotated\x1b[2J"
    with log_context(request_id="a\rb"):
        logging.getLogger("rqflow.test").warning("answer: %s", forged)
    [line] = _lines(stream)
    assert "answer: done\\n2026-12-04 00:00:00,000 CRITICAL" in line and "\\x1b[2J" in line
    assert line.endswith("[request_id=a\\rb]")


def test_a_traceback_still_follows_its_escaped_line() -> None:
    stream = io.StringIO()
    configure_logging(_settings("text"), stream)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("rqflow.test").exception("failed\nhere")
    first, *rest = _lines(stream)
    assert first.endswith("failed\\nhere") and rest[0].startswith("Traceback") and "ValueError: boom" in rest[-1]
