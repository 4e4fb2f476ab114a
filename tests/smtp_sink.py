"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it accepts, for the email tests."""

from __future__ import annotations

import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from types import TracebackType
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.helpers import free_port, wait_for


class _Keep:
    """aiosmtpd's handler: accept every message and keep it parsed, with its envelope's recipients."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        parsed: Any = message_from_bytes(content, policy=policy.default)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


class SmtpSink:
    """Listens on a free port of 127.0.0.1 until closed; ``url`` is what RQFLOW_SMTP_URL takes."""

    def __init__(self) -> None:
        self.handler = _Keep()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        self.url = f"smtp://127.0.0.1:{self.port}"

    def wait_for(self, count: int, *, timeout: float) -> list[tuple[list[str], EmailMessage]]:
        """The messages once there are ``count``; AssertionError past ``timeout`` seconds."""
        def enough() -> list[tuple[list[str], EmailMessage]] | None:
            with self.handler.lock:
                return list(self.handler.messages) if len(self.handler.messages) >= count else None
        return wait_for(enough, timeout=timeout, what=f"the SMTP server to receive {count} messages")

    def close(self) -> None:
        self.controller.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
