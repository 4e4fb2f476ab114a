"""Sending notifications: a signed webhook POST through the egress guard, or an email over the operator's SMTP.

Nothing here touches the database: a worker takes a delivery up
(:mod:`rqflow.services.notification_deliveries`), sends it with :func:`send`, and records
the :class:`SendResult`.
"""

from rqflow.notify.outgoing import Outgoing, SendResult
from rqflow.notify.sending import send

__all__ = ["Outgoing", "SendResult", "send"]
