"""The wake channel: how web processes and workers wake the scheduler instead of waiting for its poll.

Two messages travel on one Redis pub/sub channel: a schedule changed (re-arm or
cancel its timer now), and a worker armed a timer (look at the timers now). A
message that is lost only costs the scheduler's next poll or reconcile pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis

WAKE_CHANNEL = "rqflow:scheduler:wake"
_CHANGED = "changed:"
_ARMED = "armed"


@dataclass(frozen=True)
class ScheduleChanged:
    """A schedule's row changed (created, edited, paused, resumed, deleted)."""

    schedule_id: str


@dataclass(frozen=True)
class TimerArmed:
    """A worker armed a timer (the next occurrence of a schedule it just claimed)."""


WakeMessage = ScheduleChanged | TimerArmed


def publish(connection: Redis, message: WakeMessage) -> None:
    """Send ``message`` to whichever scheduler is listening (raises RedisError; callers decide)."""
    text = f"{_CHANGED}{message.schedule_id}" if isinstance(message, ScheduleChanged) else _ARMED
    connection.publish(WAKE_CHANNEL, text)


def parse(data: object) -> WakeMessage | None:
    """The message a pub/sub payload holds, or None for anything else on the channel."""
    text = data.decode() if isinstance(data, bytes) else str(data)
    if text.startswith(_CHANGED):
        return ScheduleChanged(text.removeprefix(_CHANGED))
    if text == _ARMED:
        return TimerArmed()
    return None
