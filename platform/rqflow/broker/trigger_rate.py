"""How often one user may ask for run-now and backfill (``RQFLOW_TRIGGER_RATE_LIMIT``).

Both put work on the shared workers at a user's command, so a script in a loop
could keep them busy for everyone. Each request counts once, in a moving window
per user kept in Redis (the ``limits`` library), shared by every web process; a
request past any of the rates is refused with 429 and ``Retry-After``, before
anything is written. The number of runs a user may have queued or waiting is
capped separately, in the database (``rqflow.services.quotas``).

If Redis cannot be reached the request is let through (and logged): the run
itself only needs the database, and the database's cap still holds.
"""

from __future__ import annotations

import logging
import math
import time
from functools import lru_cache

from limits import RateLimitItem, parse_many
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter
from redis.exceptions import RedisError

from rqflow.broker.connection import get_redis
from rqflow.errors import RateLimited
from rqflow.settings import Settings

log = logging.getLogger(__name__)

KEY_PREFIX = "rqflow:rate"
NAMESPACE = "trigger"


def check_trigger_rate(settings: Settings, user_id: int, *, what: str = "run-now and backfill") -> None:
    """Count one run-now, backfill or test-notification request of ``user_id``; raise :class:`RateLimited` past the
    limit (``what`` names the kind in the refusal)."""
    limiter, rates = _limiter(settings.redis_url, settings.trigger_rate_limit)
    who = (NAMESPACE, str(user_id))
    try:
        refused = [rate for rate in rates if not limiter.test(rate, *who)]
        if not refused:
            for rate in rates:
                limiter.hit(rate, *who)
            return
        retry_after = max(_seconds_until_free(limiter, rate, who) for rate in refused)
    except RedisError as exc:
        log.warning("trigger rate limit not checked (Redis unavailable: %s); the queued-run cap still holds", exc)
        return
    raise RateLimited(
        f"too many {what} requests (at most {_words(refused)}, RQFLOW_TRIGGER_RATE_LIMIT); "
        f"try again in {retry_after} s",
        retry_after=retry_after,
    )


@lru_cache(maxsize=4)
def _limiter(redis_url: str, rate_text: str) -> tuple[MovingWindowRateLimiter, list[RateLimitItem]]:
    """One limiter per Redis and rates, over the process's shared Redis connection pool."""
    pool = get_redis(redis_url).connection_pool
    # The URI only tells `limits` which client library to use; connections come from the pool.
    storage = RedisStorage("redis://", connection_pool=pool, key_prefix=KEY_PREFIX)
    return MovingWindowRateLimiter(storage), parse_many(rate_text)


def _seconds_until_free(limiter: MovingWindowRateLimiter, rate: RateLimitItem, who: tuple[str, str]) -> int:
    """Whole seconds until the oldest request in the window leaves it (at least 1)."""
    reset_at = limiter.get_window_stats(rate, *who).reset_time
    return max(1, math.ceil(reset_at - time.time()))



def _words(rates: list[RateLimitItem]) -> str:
    """``60 per 1 minute and 600 per 1 hour``."""
    return " and ".join(str(rate) for rate in rates)
