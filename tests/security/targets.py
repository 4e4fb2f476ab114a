"""python_call targets for the attack tests: one the operator may allow, and a dangerous one imported here.

``run`` is ``subprocess.run`` imported into this module: reachable as ``tests.security.targets:run``
by a user whose operator allowed ``tests.security.targets.*``, but not *defined* here, so rqflow
refuses it.
"""

from __future__ import annotations

from subprocess import run  # noqa: F401 - the attack: a dangerous function reachable through an allowed module
from typing import Any


def harmless(event: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """What an operator means to allow: returns what it was given."""
    return {"scheduled_job_id": event.get("scheduled_job_id"), "kwargs": kwargs}
