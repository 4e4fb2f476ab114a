"""JSON that rqflow can store and answer with the same way on SQLite and PostgreSQL.

``json.loads`` accepts more than that, and each extra ends in a 500 somewhere later:

- ``NaN`` and ``Infinity``: PostgreSQL's json type refuses them and the API's encoder cannot write them;
- a lone UTF-16 surrogate (``"\\ud800"``): no UTF-8 encoder takes it (database drivers, the answer);
- nesting that exhausts Python's recursion limit in the decoder, a later encoder or a validator;
- an integer of more digits than Python converts (``sys.get_int_max_str_digits()``).

:func:`loads_safe` refuses all four with :class:`UnsafeJson`, naming where in the value the problem is.
"""

from __future__ import annotations

import json
from typing import Any

# Deep enough for any payload or node config a person writes; shallow enough that no encoder,
# validator or error renderer after the parser comes near Python's recursion limit (1,000 frames).
MAX_JSON_DEPTH = 64


class UnsafeJson(ValueError):
    """Valid JSON that rqflow cannot store or answer with; ``field`` is its dotted path, or None."""

    def __init__(self, message: str, path: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.field = ".".join(path) or None


def loads_safe(text: str | bytes) -> Any:
    """``json.loads``, refusing what :mod:`this module <rqflow.schemas.json_values>` lists.

    A syntax error stays a :class:`json.JSONDecodeError`, so callers can tell the two apart.
    """
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise UnsafeJson(f"JSON nested more than {MAX_JSON_DEPTH} levels deep") from None
    except ValueError as exc:  # an integer of too many digits
        raise UnsafeJson(f"JSON cannot be read: {exc}") from None
    check_json(value)
    return value


def check_json(value: Any) -> None:
    """Raise :class:`UnsafeJson` for nesting past ``MAX_JSON_DEPTH`` or a string no UTF-8 encoder takes.

    Walks with an explicit stack, so it cannot itself run out of recursion.
    """
    stack: list[tuple[tuple[str, ...], Any]] = [((), value)]
    while stack:
        path, item = stack.pop()
        if len(path) > MAX_JSON_DEPTH:
            raise UnsafeJson(f"JSON nested more than {MAX_JSON_DEPTH} levels deep", path[:1])
        if isinstance(item, str):
            _check_text(item, path)
        elif isinstance(item, dict):
            for key, child in item.items():
                _check_text(key, path)
                stack.append(((*path, key), child))
        elif isinstance(item, list):
            stack.extend(((*path, str(index)), child) for index, child in enumerate(item))


def _check_text(text: str, path: tuple[str, ...]) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise UnsafeJson(f"a string holds a lone UTF-16 surrogate ({exc.object[exc.start]!a}), "
                         "which is not text", path) from None


def _refuse_constant(name: str) -> Any:
    raise UnsafeJson(f"{name} is not a JSON number; use null or a string")


def bounded(value: Any, limit: int) -> Any:
    """``value`` as a JSON column holds it (datetimes and other objects become text), whole up to ``limit``
    characters of JSON, else a preview that says so: ``{"truncated": true, "size_bytes", "limit_bytes",
    "preview"}``, the preview being the first quarter of the limit."""
    text = json.dumps(value, default=str)
    if len(text) <= limit:
        return json.loads(text)
    return {"truncated": True, "size_bytes": len(text), "limit_bytes": limit, "preview": text[:limit // 4]}
