"""The scheduler lease: at most one scheduler process moves timers at a time.

A Redis key holding a random token, set with NX and a TTL, renewed only by its
holder (compare-and-expire in Lua). Unlike rq-scheduler's lock, which is taken
per tick and deleted unconditionally, the lease is renewed while its holder
works and never released by anyone else. A frozen holder loses it after
``ttl`` and, on waking, finds its renewal refused and steps down. The leader's
writes that enqueue are fenced by the lease (:meth:`Lease.fence`): a holder frozen
in the middle of a tick, woken after another took over, moves nothing. The ledger
still makes any overlap harmless; the lease keeps it rare.
"""

from __future__ import annotations

import uuid

from redis import Redis
from redis.client import Pipeline

from rqflow.broker.timers import as_text

LEASE_KEY = "rqflow:scheduler:lease"

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class Lease:
    """One process's claim on the scheduler role."""

    def __init__(self, connection: Redis, *, ttl_seconds: float, key: str = LEASE_KEY) -> None:
        self.connection = connection
        self.key = key
        self.ttl_ms = int(ttl_seconds * 1000)
        self.token = uuid.uuid4().hex
        self._renew = connection.register_script(_RENEW)
        self._release = connection.register_script(_RELEASE)

    def hold(self) -> bool:
        """Renew the lease if we hold it, else try to take it; True while we are the leader."""
        if self._renew(keys=[self.key], args=[self.token, self.ttl_ms]):
            return True
        return bool(self.connection.set(self.key, self.token, nx=True, px=self.ttl_ms))

    def fence(self, pipe: Pipeline) -> bool:
        """WATCH the lease on ``pipe``; True if it is ours, and then a transaction ``pipe`` goes on to
        execute fails with ``WatchError`` if the lease changes hands before it runs."""
        pipe.watch(self.key)  # type: ignore[no-untyped-call]  # redis-py leaves watch() untyped
        value = pipe.get(self.key)
        return value is not None and as_text(value) == self.token

    def release(self) -> None:
        """Give the lease up, only if it is still ours."""
        self._release(keys=[self.key], args=[self.token])

    def holder(self) -> str | None:
        """The token of whoever holds the lease now."""
        value = self.connection.get(self.key)
        return as_text(value) if value else None
