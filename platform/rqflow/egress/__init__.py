"""Outbound requests that a user controls (``http_request``, an agent's own ``base_url``).

Users are not trusted with the network the workers sit in: :mod:`.policy` decides which
addresses a user's request may reach (the public Internet, plus what the operator opens
with ``RQFLOW_EGRESS_ALLOW``), and :mod:`.client` resolves each host once, checks every
address, and connects to the address it checked, so a DNS answer that changes between the
check and the connection (rebinding) cannot reach inside.
"""

from __future__ import annotations

from rqflow.egress.client import (
    Answer,
    EgressFailed,
    ExchangeTooSlow,
    ResponseTooLarge,
    exchange,
    guarded_client,
)
from rqflow.egress.policy import EgressPolicy, EgressRefused, check_literal_url, url_for_config

__all__ = ["Answer", "EgressFailed", "EgressPolicy", "EgressRefused", "ExchangeTooSlow", "ResponseTooLarge",
           "check_literal_url", "exchange", "guarded_client", "url_for_config"]
