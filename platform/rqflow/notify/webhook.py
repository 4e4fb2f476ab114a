"""Webhook notifications: the payload as JSON, POSTed through the egress guard, signed with the user's secret.

The signature is HMAC-SHA256 over ``<timestamp>.<body>`` with the user's webhook secret,
sent as ``X-Rqflow-Signature: sha256=<hex>`` beside ``X-Rqflow-Timestamp`` (Unix seconds).
Signing the timestamp with the body lets a receiver refuse a replayed request: check the
signature, then that the timestamp is recent. ``X-Rqflow-Delivery`` is the same on every try
of one notification, so a receiver can drop the duplicates that at-least-once sending makes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx

from rqflow.egress import EgressPolicy, EgressRefused
from rqflow.egress.client import EgressFailed, ExchangeTooSlow, ResponseTooLarge, exchange, guarded_client
from rqflow.notify.outgoing import Outgoing, SendResult
from rqflow.settings import get_settings

SIGNATURE_HEADER = "X-Rqflow-Signature"
TIMESTAMP_HEADER = "X-Rqflow-Timestamp"
# The most of a receiver's answer read (only its status matters; a little of the body explains a failure).
ANSWER_MAX_BYTES = 65_536


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``<timestamp>.<body>`` under ``secret``."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: str, headers: dict[str, str], body: bytes, *, max_age_seconds: float = 300,
           now: float | None = None) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent (the docs show the same steps)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    timestamp = lowered.get(TIMESTAMP_HEADER.lower(), "")
    given = lowered.get(SIGNATURE_HEADER.lower(), "").removeprefix("sha256=")
    if not timestamp.isdigit() or abs((now or time.time()) - int(timestamp)) > max_age_seconds:
        return False
    return hmac.compare_digest(given, signature(secret, timestamp, body))


def body_of(outgoing: Outgoing) -> bytes:
    """The JSON body: the payload with the delivery's id, compact and in a stable key order."""
    document = {"delivery_id": outgoing.delivery_id, **outgoing.payload}
    return json.dumps(document, separators=(",", ":"), sort_keys=True, default=str).encode()


def send_webhook(outgoing: Outgoing, *, timeout: float) -> SendResult:
    """POST the notification once; a 2xx answer delivers it."""
    body = body_of(outgoing)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "rqflow-notifications/1",
        "X-Rqflow-Delivery": str(outgoing.delivery_id),
        "X-Rqflow-Attempt": str(outgoing.attempt),
        "X-Rqflow-Event": outgoing.outcome,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: "sha256=" + signature(outgoing.secret, timestamp, body),
    }
    policy = EgressPolicy.from_settings(get_settings())
    try:
        with guarded_client(policy, timeout=timeout) as http:
            answer = exchange(http, "POST", outgoing.target, seconds=timeout, max_bytes=ANSWER_MAX_BYTES,
                              content=body, headers=headers)
    except EgressRefused as exc:
        return SendResult(ok=False, error=str(exc), permanent=True)
    except (EgressFailed, ExchangeTooSlow, ResponseTooLarge, httpx.HTTPError) as exc:
        return SendResult(ok=False, error=str(exc) or type(exc).__name__)
    if answer.is_success:
        return SendResult(ok=True, status_code=answer.status_code)
    said = answer.body[:300].decode(answer.encoding, errors="replace").strip()
    return SendResult(ok=False, status_code=answer.status_code,
                      error=f"HTTP {answer.status_code}" + (f": {said}" if said else ""))
