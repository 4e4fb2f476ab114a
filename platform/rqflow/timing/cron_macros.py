"""The `@daily`-style shorthands, expanded to the five fields they stand for."""

from __future__ import annotations

from rqflow.timing.cron_fields import CronSyntaxError

MACROS: dict[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


def expand_macro(expression: str) -> str:
    """Replace a known `@` shorthand by its five fields; @reboot has no time, so refuse it."""
    text = expression.strip()
    if not text.startswith("@"):
        return text
    key = text.lower()
    if key == "@reboot":
        raise CronSyntaxError("@reboot is not supported: schedules fire at times, not at boot")
    if key not in MACROS:
        raise CronSyntaxError(f"unknown cron macro {text!r}; known: {', '.join(MACROS)}")
    return MACROS[key]
