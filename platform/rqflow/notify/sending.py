"""One try at a notification, by its channel."""

from __future__ import annotations

from rqflow.notify.email import send_email
from rqflow.notify.outgoing import Outgoing, SendResult
from rqflow.notify.webhook import send_webhook
from rqflow.settings import get_settings


def send(outgoing: Outgoing) -> SendResult:
    """Send ``outgoing`` once, within RQFLOW_NOTIFY_TIMEOUT_SECONDS; the target's failures are returned, not raised."""
    timeout = get_settings().notify_timeout_seconds
    if outgoing.channel == "webhook":
        return send_webhook(outgoing, timeout=timeout)
    return send_email(outgoing, timeout=timeout)
