"""Turning user-supplied zone names into IANA zones, safely."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from rqflow.errors import UnknownTimezone

# Present in the zone list on some hosts but not zones a schedule can live in:
# "localtime" is whatever the server uses, "Factory" means "no zone configured".
_NOT_SCHEDULE_ZONES = frozenset({"localtime", "Factory"})


@lru_cache(maxsize=1)
def _known_names() -> frozenset[str]:
    """List the IANA names once, since scanning the zone database costs milliseconds."""
    return frozenset(available_timezones()) - _NOT_SCHEDULE_ZONES


def resolve_timezone(name: object) -> ZoneInfo:
    """Map a zone name to a ZoneInfo, refusing paths and unknown names with a clear error."""
    if not isinstance(name, str):
        raise UnknownTimezone(f"timezone must be a string, got {name!r}")
    if not name or ".." in name or name.startswith("/") or name not in _known_names():
        raise UnknownTimezone(f"unknown timezone {name!r}: use an IANA name such as 'Europe/Berlin' or 'UTC'")
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError) as error:
        raise UnknownTimezone(f"timezone {name!r} cannot be loaded: {error}") from error
