"""A scripted OpenAI-compatible chat-completions server, for tests that need a real HTTP round trip.

The stub is a real HTTP server (the standard library's, in a thread, on
127.0.0.1 and a port the OS picks). It answers ``POST /v1/chat/completions``
from a script, one entry per request, and records every request it received,
so a test can assert what was offered (tools, schemas) and fed back (tool
messages). It does not depend on pytest::

    with LlmStub([
        tool_calls(ToolCall("create", {"name": "report", "cron_expression": "0 9 * * 1-5"})),
        lambda request: tool_calls(ToolCall("pause", {"schedule_id": request.tool_results()[-1]["result"]["id"]})),
        final("Done."),
        error(500, {"error": {"message": "overloaded"}}),
    ]) as llm:
        ...  # point the client at llm.base_url ("http://127.0.0.1:<port>/v1")
        assert llm.requests[0].tools == [...]

A script entry is a :class:`Reply` or a function of the :class:`ChatRequest`
returning one (for answers that use an earlier tool result). Like OpenAI, the
stub answers 400 to a conversation that breaks the tool-call protocol (a tool
message that answers no earlier call, a call left unanswered, an empty
``tools`` list), and 500 once the script is used up.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

CHAT_PATH = "/v1/chat/completions"
# Keywords OpenAI's strict mode accepts in a function's parameters schema (the subset rqflow emits).
STRICT_KEYWORDS = {"type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf",
                   "description"}


@dataclass(frozen=True)
class ToolCall:
    """A function call the model makes: its name and arguments (an object, or raw text to send as is)."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True)
class Reply:
    """One scripted answer: tool calls, a final text, or an HTTP error (``status`` other than 200)."""

    text: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    status: int = 200
    body: Any = None
    usage: tuple[int, int] = (0, 0)  # prompt and completion tokens the answer reports


def final(text: str, *, usage: tuple[int, int] = (0, 0)) -> Reply:
    """A final answer: text and no tool calls."""
    return Reply(text=text, usage=usage)


def tool_calls(*calls: ToolCall, usage: tuple[int, int] = (0, 0)) -> Reply:
    """An answer asking for these function calls."""
    return Reply(tool_calls=calls, usage=usage)


def error(status: int, body: Any = None) -> Reply:
    """An HTTP error answer with this JSON body."""
    return Reply(status=status, body=body if body is not None else {"error": {"message": f"status {status}"}})


@dataclass(frozen=True)
class ChatRequest:
    """One request the stub received: its JSON body and headers (lower-cased names)."""

    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The conversation sent."""
        return list(self.body.get("messages", []))

    @property
    def tools(self) -> list[dict[str, Any]]:
        """The tool definitions offered."""
        return list(self.body.get("tools", []))

    @property
    def functions(self) -> dict[str, dict[str, Any]]:
        """The offered functions by name."""
        return {tool["function"]["name"]: tool["function"] for tool in self.tools}

    def tool_results(self) -> list[Any]:
        """The tool messages' contents, parsed from JSON, oldest first."""
        return [json.loads(m["content"]) for m in self.messages if m.get("role") == "tool"]


Responder = Callable[[ChatRequest], Reply]


class LlmStub:
    """The server; use it as a context manager (it listens from ``__enter__`` to ``__exit__``)."""

    def __init__(self, script: Iterable[Reply | Responder] = (), *, model: str = "stub-model") -> None:
        self.script: list[Reply | Responder] = list(script)
        self.model = model
        self.requests: list[ChatRequest] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL, ending in ``/v1``."""
        if self._server is None:
            raise RuntimeError("the stub is not running; use it in a with block")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> Self:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, name="llm-stub", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def answer(self, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Record the request and produce its (status, JSON body) from the script."""
        request = ChatRequest(body=body, headers=headers)
        problem = protocol_problem(body)
        with self._lock:
            self.requests.append(request)
            index = len(self.requests)
            entry = self.script.pop(0) if self.script and not problem else None
        if problem:
            return 400, {"error": {"message": problem, "type": "invalid_request_error"}}
        if entry is None:
            return 500, {"error": {"message": f"the stub's script is used up (request {index})"}}
        reply = entry if isinstance(entry, Reply) else entry(request)
        if reply.status != 200:
            return reply.status, reply.body
        return 200, self._completion(reply, index)

    def _completion(self, reply: Reply, index: int) -> dict[str, Any]:
        calls = [{"id": call.id or f"call_{index}_{n}", "type": "function", "function": {
            "name": call.name,
            "arguments": call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments),
        }} for n, call in enumerate(reply.tool_calls, start=1)]
        message: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": None}
        if calls:
            message["tool_calls"] = calls
        return {"id": f"chatcmpl-stub-{index}", "object": "chat.completion", "created": int(time.time()),
                "model": self.model, "choices": [{"index": 0, "message": message, "logprobs": None,
                                                  "finish_reason": "tool_calls" if calls else "stop"}],
                "usage": {"prompt_tokens": reply.usage[0], "completion_tokens": reply.usage[1],
                          "total_tokens": sum(reply.usage)}}


def protocol_problem(body: dict[str, Any]) -> str:
    """What OpenAI would refuse in this request's conversation (empty when nothing)."""
    if not isinstance(body.get("model"), str) or not isinstance(body.get("messages"), list):
        return "model (a string) and messages (a list) are required"
    if "tools" in body and not body["tools"]:
        return "tools: [] is too short - leave tools out when there are none"
    open_calls: set[str] = set()
    for message in body["messages"]:
        role = message.get("role")
        if role == "tool" and message.get("tool_call_id") not in open_calls:
            return "messages with role 'tool' must be a response to a preceding message with 'tool_calls'"
        if role == "tool":
            open_calls.discard(message["tool_call_id"])
        elif open_calls:
            return f"tool_calls {sorted(open_calls)} were not answered by tool messages"
        if role == "assistant":
            open_calls = {call["id"] for call in message.get("tool_calls") or []}
    return ""


def strict_problems(schema: Any, path: str = "parameters") -> list[str]:
    """Where a function's parameters schema breaks OpenAI's strict mode (empty when it is strict-valid)."""
    if not isinstance(schema, dict):
        return [f"{path} is not a schema object"]
    problems = [f"{path} uses {key!r}" for key in schema if key not in STRICT_KEYWORDS]
    if schema.get("type") == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is not False:
            problems.append(f"{path} lacks additionalProperties: false")
        if sorted(schema.get("required", [])) != sorted(properties):
            problems.append(f"{path} does not require every property")
        for name, sub in properties.items():
            problems += strict_problems(sub, f"{path}.{name}")
    for index, option in enumerate(schema.get("anyOf", [])):
        problems += strict_problems(option, f"{path}.anyOf[{index}]")
    if "items" in schema:
        problems += strict_problems(schema["items"], f"{path}.items")
    return problems


def _handler_for(stub: LlmStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # the name http.server calls
            if self.path.rstrip("/") != CHAT_PATH:
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw)
            except ValueError:
                self._send(400, {"error": {"message": "the body is not JSON"}})
                return
            headers = {name.lower(): value for name, value in self.headers.items()}
            self._send(*stub.answer(body, headers))

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet."""

    return Handler
