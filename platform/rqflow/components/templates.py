"""References inside node configs: ``{{ event.scheduled_for }}``, ``{{ nodes.fetch.output.status }}``.

A string that is exactly one ``{{ expression }}`` becomes the expression's value
(so a number stays a number); any other string with ``{{`` is rendered as text.
Expressions run in a bounded sandbox (:mod:`rqflow.components.sandbox`): a workflow author
cannot reach Python internals, nor make a value or a rendered string larger than
``RQFLOW_TEMPLATE_MAX_CHARS``. Statements (``{% ... %}``) are not allowed.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from rqflow.components.sandbox import SETTING, BoundedEnvironment, TemplateTooLarge
from rqflow.settings import get_settings

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


@lru_cache(maxsize=4)
def environment(max_chars: int) -> BoundedEnvironment:
    """One bounded environment per limit (the settings are read once per process)."""
    return BoundedEnvironment(max_chars)


def _render_string(text: str, context: dict[str, Any]) -> Any:
    if "{{" not in text and "{%" not in text:
        return text
    if "{%" in text:
        raise TemplateTooLarge("statements ({% ... %}) are not allowed in node configs; use {{ expressions }}")
    env = environment(get_settings().template_max_chars)
    whole = _WHOLE.match(text)
    if whole and "}}" not in whole.group(1):
        value = env.compile_expression(whole.group(1), undefined_to_none=False)(**context)
        if isinstance(value, str):
            env.bounded(len(value), "the rendered value")
        return value
    return _render_capped(env, text, context)


def _render_capped(env: BoundedEnvironment, text: str, context: dict[str, Any]) -> str:
    """Render piece by piece, stopping as soon as the text would pass the limit."""
    pieces, size = [], 0
    for piece in env.from_string(text).generate(**context):
        size += len(piece)
        if size > env.max_chars:
            raise TemplateTooLarge(f"the rendered text passes {env.max_chars:,} characters ({SETTING})")
        pieces.append(piece)
    return "".join(pieces)
