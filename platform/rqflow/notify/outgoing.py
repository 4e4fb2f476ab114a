"""One try at one notification, whatever its channel, and what came of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Outgoing:
    """A delivery as a worker sends it: where, what, and the secret that signs a webhook."""

    delivery_id: int
    attempt: int
    channel: str
    target: str
    outcome: str
    payload: dict[str, Any]
    secret: str


@dataclass(frozen=True)
class SendResult:
    """What one try came to. ``permanent``: trying again cannot help (a target users may not reach)."""

    ok: bool
    status_code: int | None = None
    error: str = ""
    permanent: bool = False
