"""References inside node configs: ``{{ event.scheduled_for }}``, ``{{ nodes.fetch.output.status }}``.

A string that is exactly one ``{{ expression }}`` becomes the expression's value
(so a number stays a number); any other string with ``{{`` is rendered as text.
Expressions run in Jinja's sandbox: a workflow author cannot reach Python internals.
"""

from __future__ import annotations

import re
from typing import Any

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_WHOLE = re.compile(r"^\{\{\s*(.+?)\s*\}\}$", re.DOTALL)


def render_value(value: Any, context: dict[str, Any]) -> Any:
    """Resolve every template inside ``value`` (dicts and lists recursively)."""
    if isinstance(value, str):
        return _render_string(value, context)
    if isinstance(value, dict):
        return {key: render_value(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render_value(item, context) for item in value]
    return value


def _render_string(text: str, context: dict[str, Any]) -> Any:
    if "{{" not in text and "{%" not in text:
        return text
    whole = _WHOLE.match(text)
    if whole and "}}" not in whole.group(1):
        return _env.compile_expression(whole.group(1), undefined_to_none=False)(**context)
    return _env.from_string(text).render(**context)
