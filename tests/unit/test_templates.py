"""Template references inside node configs."""

from __future__ import annotations

import pytest
from jinja2.exceptions import SecurityError, UndefinedError

from rqflow.engine.templates import render_value

CONTEXT = {"event": {"scheduled_for": "2026-01-01T00:00:00+00:00", "payload": {"n": 3}},
           "nodes": {"fetch": {"output": {"status_code": 200}}}}


def test_a_whole_reference_keeps_its_type() -> None:
    assert render_value("{{ event.payload.n }}", CONTEXT) == 3
    assert render_value({"x": ["{{ nodes.fetch.output.status_code }}"]}, CONTEXT) == {"x": [200]}


def test_references_inside_text_are_rendered() -> None:
    assert render_value("at {{ event.scheduled_for }}!", CONTEXT) == "at 2026-01-01T00:00:00+00:00!"
    assert render_value("plain", CONTEXT) == "plain"
    assert render_value(5, CONTEXT) == 5


def test_unknown_references_fail_loudly() -> None:
    with pytest.raises(UndefinedError):
        render_value("{{ nodes.missing.output }}", CONTEXT)


def test_the_sandbox_blocks_python_internals() -> None:
    with pytest.raises(SecurityError):
        render_value("{{ event.__class__.__mro__ }}", CONTEXT)
