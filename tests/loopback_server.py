"""A TCP server on 127.0.0.1 for tests that need a real peer: it counts connections and records requests.

Each connection is handled in a thread of its own: the server reads the whole request (its
head is kept in ``heads``) and hands the socket to ``answer``, which writes whatever the test
needs: an HTTP answer, a trickle, garbage, nothing. Nothing here listens anywhere but loopback.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Self

Answer = Callable[[socket.socket], None]


def http_answer(status: str, body: bytes, *headers: str) -> Answer:
    """An answer that writes one HTTP response and closes."""
    head = "".join(f"{header}\r\n" for header in headers)

    def write(connection: socket.socket) -> None:
        connection.sendall(f"HTTP/1.1 {status}\r\n{head}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                           .encode() + body)

    return write


def _read_request(connection: socket.socket) -> bytes:
    """The request's head, after reading its whole body (answering before would reset the connection)."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(65536)
        if not chunk:
            return received
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    return head


class LoopbackServer:
    """Serves on a free port of 127.0.0.1 until closed (also as a context manager)."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.heads: list[bytes] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def connections(self) -> int:
        """How many connections were accepted so far."""
        return len(self.heads)

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        with connection:
            try:
                self.heads.append(_read_request(connection))
                self.answer(connection)
            except OSError:
                pass  # the client hung up, as a cut-off client should

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
