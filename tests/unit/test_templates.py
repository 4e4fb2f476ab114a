"""Template references inside node configs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from jinja2.exceptions import SecurityError, UndefinedError

from rqflow.components.templates import render_value
from rqflow.settings import get_settings

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


# -- bombs: every way of making a value much larger than its inputs is refused before it is made ------------

BOMBS = [
    "{{ 'a' * 10**9 }}", "{{ [0] * 10**9 }}", "{{ 10**(10**6) }}", "{{ 2 ** 100000 }}", "{{ '%0999999999d' % 1 }}",
    "{{ '%.999999999f' % 1.5 }}", "{{ '%*d' % (999999999, 1) }}", "{{ '%0999999999d'|format(1) }}",
    "{{ 'a'|center(999999999) }}", "{{ 'a'.center(999999999) }}", "{{ 'a'.ljust(999999999) }}",
    "{{ '1'.zfill(999999999) }}", "{{ '{:0999999999}'.format(1) }}", "{{ (1).to_bytes(999999999, 'big') }}",
    "{{ range(999999999)|list }}", "{{ range(10**5)|join('x' * 50000) }}", "{{ ('a' * 50000)|replace('a', 'bb') }}",
    "{{ 'x'|indent(999999999) }}", "{{ [1]|batch(999999999, 0)|list }}", "{{ lipsum(999999) }}",
    "x{{ 'a' * 60000 }}{{ 'a' * 60000 }}", "{{ ('a' * 60000) ~ ('a' * 60000) }}", "{{ ('a' * 60000) + ('a' * 60000) }}",
    "{% for i in range(10) %}{{ i }}{% endfor %}", "{% set x = 1 %}",
]


@pytest.mark.parametrize("template", BOMBS)
def test_template_bombs_are_refused_before_they_are_made(template: str, settings_env: None) -> None:
    with pytest.raises((SecurityError, UndefinedError)):
        render_value(template, CONTEXT)


def test_what_templates_are_for_still_works(settings_env: None) -> None:
    context = {**CONTEXT, "event": {**CONTEXT["event"], "payload": {"n": 3, "names": ["a", "b"], "s": "Ab"}}}
    assert render_value("{{ event.payload.names|join(', ') }}", context) == "a, b"
    assert render_value("{{ event.payload.n * 2 + 1 }}", context) == 7
    assert render_value("{{ '%05.1f' % event.payload.n }}", context) == "003.0"
    assert render_value("{{ event.payload.s.lower() ~ '-' ~ event.payload.names[0] }}", context) == "ab-a"
    assert render_value("{{ event.payload.get('n') }} {{ 'x' * 10 }}", context) == "3 xxxxxxxxxx"
    assert render_value("{{ range(3)|list }}", context) == [0, 1, 2]
    assert render_value("{{ event.payload|tojson }}", context).startswith("{")


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("RQFLOW_TEMPLATE_MAX_CHARS", "100000")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
