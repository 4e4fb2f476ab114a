"""The agent node's loop: ask an OpenAI-compatible chat-completions endpoint, run the tool calls it asks for,
feed the answers back, and stop at a final answer or after ``max_steps`` model calls.

A tool call the model gets wrong (unparsable arguments, an unknown function, an
input the tool refuses) is answered like any refusal, ``{"ok": false, "error":
{... "hint"}}``, so the model can correct itself; only the endpoint itself and
the step limit fail the node::

    AgentError (RuntimeError)
    ├── EndpointUnreachable   the HTTP call did not complete (connection refused, timeout)
    ├── EndpointError         the endpoint answered, but not with a 2xx status
    ├── UnexpectedAnswer      a 2xx answer that is not a chat completion
    └── StepLimitReached      max_steps model calls without a final answer
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from rqflow.components.tool import ToolCaller, ToolComponent
from rqflow.components.tool_catalog import openai_tool
from rqflow.components.tool_results import failure
from rqflow.egress import exchange

# Characters of an endpoint's error body kept in the node's error: enough for its message, bounded.
BODY_SHOWN = 500
ARGUMENTS_HINT = "send the arguments as one JSON object that matches the function's parameters schema"


class AgentError(RuntimeError):
    """The agent could not reach a final answer."""


class EndpointUnreachable(AgentError):
    """The chat-completions request did not complete."""


class EndpointError(AgentError):
    """The chat-completions endpoint answered with an error status."""


class UnexpectedAnswer(AgentError):
    """The chat-completions endpoint answered 2xx, but not with a chat completion."""


class StepLimitReached(AgentError):
    """The model was still calling tools after ``max_steps`` model calls."""

    def __init__(self, max_steps: int, tool_calls: list[dict[str, Any]]) -> None:
        names = ", ".join(call["name"] for call in tool_calls)[:BODY_SHOWN]
        super().__init__(f"no final answer after {max_steps} model calls (max_steps={max_steps}); "
                         f"tool calls made: {names or 'none'}")


@dataclass(frozen=True)
class Endpoint:
    """Where to ask and as whom: base URL, model, API key (never shown) and the timeout of one call."""

    base_url: str
    model: str
    api_key: str = field(repr=False)
    timeout: float

    @property
    def url(self) -> str:
        """The chat-completions URL."""
        return self.base_url.rstrip("/") + "/chat/completions"

    @property
    def headers(self) -> dict[str, str]:
        """A bearer token when there is a key (local servers often need none)."""
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}


@dataclass(frozen=True)
class OfferedTool:
    """A tool node offered to the model: its key (the function name), its component and its preset arguments."""

    name: str
    component: type[ToolComponent]
    presets: dict[str, Any]

    def definition(self) -> dict[str, Any]:
        """The strict OpenAI function, named after the node, without the fields its presets fix."""
        tool = copy.deepcopy(openai_tool(self.component))
        function = tool["function"]
        function["name"] = self.name
        parameters = function["parameters"]
        parameters["properties"] = {k: v for k, v in parameters["properties"].items() if k not in self.presets}
        parameters["required"] = [name for name in parameters["required"] if name not in self.presets]
        return tool

    def call(self, arguments: dict[str, Any], caller: ToolCaller) -> tuple[dict[str, Any], dict[str, Any]]:
        """Run the tool with the model's arguments, presets winning; return the arguments used and the answer."""
        merged = {**arguments, **self.presets}
        return merged, self.component.invoke(merged, caller)


class ChatClient:
    """Sends the conversation to the endpoint, offering the tools; remembers the model that answered, and tells
    ``on_call`` what each call used (before the answer is looked at, so a call is counted even if it fails)."""

    def __init__(self, http: httpx.Client, endpoint: Endpoint, *, tools: list[dict[str, Any]],
                 temperature: float | None, max_bytes: int,
                 on_call: Callable[[str, Any], None] = lambda model, usage: None) -> None:
        self.http, self.endpoint, self.model, self.max_bytes = http, endpoint, endpoint.model, max_bytes
        self.on_call = on_call
        self.options: dict[str, Any] = {"tools": tools, "tool_choice": "auto"} if tools else {}
        if temperature is not None:
            self.options["temperature"] = temperature

    def ask(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """One chat completion; its first choice's message."""
        completion = self._post({"model": self.endpoint.model, "messages": messages, **self.options})
        self.on_call(str(completion.get("model") or self.endpoint.model), completion.get("usage"))
        try:
            message = completion["choices"][0]["message"]
        except (KeyError, IndexError, TypeError):
            raise UnexpectedAnswer(f"{self.endpoint.url} answered without choices[0].message: "
                                   f"{json.dumps(completion)[:BODY_SHOWN]}") from None
        self.model = str(completion.get("model") or self.model)
        return dict(message)

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        url = self.endpoint.url
        try:  # the answer is read within its time and size limits, like any other a node receives
            answer = exchange(self.http, "POST", url, seconds=self.endpoint.timeout, max_bytes=self.max_bytes,
                              json=body, headers=self.endpoint.headers, timeout=self.endpoint.timeout)
        except httpx.HTTPError as exc:
            raise EndpointUnreachable(f"POST {url} failed: {type(exc).__name__}: {exc}") from exc
        text = answer.body.decode(answer.encoding, errors="replace")
        if not answer.is_success:
            raise EndpointError(f"POST {url} answered {answer.status_code}: {text[:BODY_SHOWN]}")
        try:
            completion = json.loads(text)
        except ValueError:
            raise UnexpectedAnswer(f"POST {url} answered non-JSON: {text[:BODY_SHOWN]}") from None
        if not isinstance(completion, dict):
            raise UnexpectedAnswer(f"POST {url} answered {text[:BODY_SHOWN]}")
        return completion


def run_loop(*, chat: ChatClient, tools: dict[str, OfferedTool], caller: ToolCaller,
             messages: list[dict[str, Any]], max_steps: int,
             before_call: Callable[[], None] = lambda: None) -> dict[str, Any]:
    """Ask, run the requested tool calls, repeat; ``{"answer", "steps", "tool_calls", "model"}`` at the end.

    A failure keeps what happened so far as its ``output`` (the runner stores it on the failed node
    run), so every tool call is recorded whether or not the loop reaches a final answer.
    """
    output: dict[str, Any] = {"answer": None, "steps": 0, "tool_calls": [], "model": chat.model}
    try:
        output["answer"] = _converse(chat, tools, caller, messages, max_steps, output, before_call)
    except Exception as exc:
        if getattr(exc, "output", None) is None:
            exc.output = {**output, "model": chat.model}  # type: ignore[attr-defined]
        raise
    return {**output, "model": chat.model}


def _converse(chat: ChatClient, tools: dict[str, OfferedTool], caller: ToolCaller,
              messages: list[dict[str, Any]], max_steps: int, output: dict[str, Any],
              before_call: Callable[[], None]) -> str:
    """The loop itself, counting steps and recording tool calls in ``output``; the final answer's text.

    ``before_call`` may refuse the next model call (the run's budget) by raising."""
    records: list[dict[str, Any]] = output["tool_calls"]
    for step in range(1, max_steps + 1):
        before_call()
        output["steps"] = step
        message = chat.ask(messages)
        requested = _tool_calls(message, first_id=len(records) + 1)
        if not requested:
            return _text(message)
        messages.append({"role": "assistant", "content": message.get("content"), "tool_calls": requested})
        for call in requested:
            record = run_tool_call(call, tools, caller)
            records.append(record)
            messages.append({"role": "tool", "tool_call_id": record["id"], "content": json.dumps(record["answer"])})
    raise StepLimitReached(max_steps, records)


def run_tool_call(call: dict[str, Any], tools: dict[str, OfferedTool], caller: ToolCaller) -> dict[str, Any]:
    """Run one requested call; a call the model got wrong is answered with a refusal, never raised."""
    name, raw = call["function"]["name"], call["function"]["arguments"]
    record: dict[str, Any] = {"id": call["id"], "name": name, "tool": None, "arguments": raw}
    tool = tools.get(name)
    if tool is None:
        known = ", ".join(tools) or "none"
        return {**record, "answer": failure("UnknownTool", f"there is no function named {name!r}", "name",
                                            f"call one of the functions offered: {known}", "not_found")}
    record["tool"] = tool.component.component_type
    try:
        arguments = _parse_arguments(raw)
    except (ValueError, TypeError) as exc:
        return {**record, "answer": failure("InvalidArguments", str(exc), None, ARGUMENTS_HINT)}
    record["arguments"], record["answer"] = tool.call(arguments, caller)
    # Each call is committed as it is made: the model is told it happened, and no transaction (on SQLite,
    # the database's single write lock) may stay open across the next model call, which can take seconds.
    caller.db.commit()
    return record


def _tool_calls(message: dict[str, Any], *, first_id: int) -> list[dict[str, Any]]:
    """The message's function calls, normalised (an id for each, arguments as text) to be echoed back."""
    calls = message.get("tool_calls") or []
    return [{"id": str(call.get("id") or f"call_{first_id + index}"), "type": "function", "function": {
        "name": str((call.get("function") or {}).get("name") or ""),
        "arguments": _arguments_text((call.get("function") or {}).get("arguments")),
    }} for index, call in enumerate(calls)]


def _arguments_text(arguments: Any) -> str:
    """Arguments as JSON text (some servers send an object instead of the string OpenAI sends)."""
    return arguments if isinstance(arguments, str) else json.dumps(arguments if arguments is not None else {})


def _parse_arguments(raw: str) -> dict[str, Any]:
    """The arguments as an object; a ValueError (not JSON) or TypeError (not an object) says what is wrong."""
    try:
        arguments = json.loads(raw or "{}")
    except ValueError as exc:
        raise ValueError(f"the arguments are not valid JSON ({exc}): {raw[:BODY_SHOWN]}") from None
    if not isinstance(arguments, dict):
        raise TypeError(f"the arguments must be a JSON object, not {type(arguments).__name__}")
    return arguments


def _text(message: dict[str, Any]) -> str:
    """The final answer's text: a string, text parts joined, or the model's refusal."""
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content or message.get("refusal") or "")
