"""How a failed node is tried again: the policy a node (or its workflow) carries, and the waits it gives.

The shape is Temporal's retry policy: at most ``max_attempts`` tries in all, the first
wait ``initial_interval_seconds``, each next wait ``backoff_coefficient`` times the one
before, never more than ``max_interval_seconds`` (default: 100 times the first, as in
Temporal). A wait is never slept in a worker: the run is continued later by a timer
(:mod:`rqflow.worker.continuation`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# Without max_interval_seconds, the longest wait is this many times the first (Temporal's default).
DEFAULT_MAX_INTERVAL_FACTOR = 100


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``max_attempts`` tries, waiting longer after each failure (exponential back-off)."""

    max_attempts: int
    initial_interval_seconds: float = 1.0
    backoff_coefficient: float = 2.0
    max_interval_seconds: float | None = None

    @classmethod
    def from_stored(cls, value: dict[str, Any] | None) -> RetryPolicy | None:
        """The policy stored as JSON on a node or a workflow (None: no retries)."""
        return cls(**value) if value else None

    def stored(self) -> dict[str, Any]:
        """The policy as it is stored and shown."""
        return asdict(self)

    def allows_after(self, attempt: int) -> bool:
        """Whether another try may follow the failed try number ``attempt`` (1 for the first)."""
        return attempt < self.max_attempts

    def wait_after(self, attempt: int) -> float:
        """Seconds to wait after the failed try number ``attempt`` before the next."""
        longest = self.max_interval_seconds or self.initial_interval_seconds * DEFAULT_MAX_INTERVAL_FACTOR
        return min(self.initial_interval_seconds * self.backoff_coefficient ** (attempt - 1), longest)

    def describe(self) -> str:
        """The policy in words, as the dashboard shows it: "up to 3 tries, waiting 1 s, then x2 (at most 100 s)"."""
        if self.max_attempts <= 1:
            return "no retry"
        longest = self.max_interval_seconds or self.initial_interval_seconds * DEFAULT_MAX_INTERVAL_FACTOR
        waits = f"waiting {self.initial_interval_seconds:g} s"
        if self.backoff_coefficient != 1:
            waits += f", then x{self.backoff_coefficient:g} (at most {longest:g} s)"
        return f"up to {self.max_attempts} tries, {waits}"
