"""A webhook receiver on 127.0.0.1 for the notification tests: it records each POST whole and answers as told.

``statuses`` are the answers to the first requests in turn (``[500, 200]``: fail once, then
accept); once they run out every request gets 200. The received requests are kept with their
headers and raw body, so a test checks the signature over exactly the bytes sent.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

from tests.helpers import wait_for


@dataclass(frozen=True)
class Received:
    """One request as it arrived."""

    path: str
    headers: dict[str, str]
    body: bytes


class WebhookReceiver:
    """Serves on a free port of 127.0.0.1 until closed (also as a context manager)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.received: list[Received] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: the tests read ``received``."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port: int = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, *, timeout: float) -> list[Received]:
        """The received requests once there are ``count`` of them; AssertionError past ``timeout`` seconds."""
        def enough() -> list[Received] | None:
            with self.lock:
                return list(self.received) if len(self.received) >= count else None
        return wait_for(enough, timeout=timeout, what=f"the webhook to receive {count} requests")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
