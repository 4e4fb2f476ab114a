"""``agent``: a language model that calls the tool nodes connected to it until it gives a final answer.

The node talks to any OpenAI-compatible chat-completions endpoint
(``RQFLOW_LLM_BASE_URL``, ``RQFLOW_LLM_MODEL``, ``RQFLOW_LLM_API_KEY``; a node
may name its own ``base_url`` and ``model``). Each tool node that a ``tool``
edge hands it is offered as a function named after the node's key, so two
differently preset ``schedule_create`` nodes can sit side by side. A tool node's
config holds preset arguments: they win over what the model sends, and they are
left out of the offered schema, so the model cannot even try to change them
(e.g. a fixed ``workflow_id``). The loop itself is :mod:`rqflow.components.agent_loop`.

API keys are never in workflow JSON, and a workflow never chooses one: it names
an operator's ``provider`` (:mod:`rqflow.components.llm_providers`), whose key only
ever goes to that provider's URL. A node with its own ``base_url`` sends no key, and
its requests go through the egress guard. (``api_key_env``, which once let a node pick
a worker's environment variable, is refused: it let any user send a team's key to a
URL of their choosing.)

The output records every tool call: ``{"answer", "steps", "tool_calls": [{"id",
"name", "tool", "arguments", "answer"}], "model"}``. A refused tool call is fed
back to the model and does not fail the node; the node fails when the endpoint
fails (naming its status) or after ``max_steps`` model calls without a final
answer, and the failed node run keeps the same output (``answer`` null), so the
tool calls made before the failure stay on record. Each tool call is committed
as it is made: its effect stands even if the node fails later.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import Field, field_validator, model_validator

from rqflow.components.agent_loop import ChatClient, Endpoint, OfferedTool, run_loop
from rqflow.components.llm_providers import (
    DEFAULT,
    PROVIDERS_SETTING,
    ProviderRefused,
    own_endpoint,
    provider_named,
)
from rqflow.components.templates import render_value
from rqflow.components.tool import ToolCaller, ToolComponent
from rqflow.egress import EgressPolicy, guarded_client, url_for_config
from rqflow.node_types.base import Component, NodeConfig, NodeContext
from rqflow.node_types.registry import get_component, register
from rqflow.settings import Settings, get_settings
from rqflow.spend import model_call

# OpenAI refuses function names longer than this; a node key is the function name.
MAX_FUNCTION_NAME = 64


class AgentConfigError(ValueError):
    """The agent node or one of its tool nodes is set up wrongly."""


class AgentConfig(NodeConfig):
    """The prompt, optional system message, endpoint overrides, and the limits of the loop."""

    prompt: str = Field(min_length=1, max_length=100_000, description="The user message; may use templates.")
    system: str | None = Field(default=None, max_length=100_000, description="The system message.")
    provider: str | None = Field(default=None, min_length=1, max_length=64,
                                 description="An operator's provider by name; default: 'default' (RQFLOW_LLM_*).")
    model: str | None = Field(default=None, min_length=1, max_length=200,
                              description="One of the provider's models; default: its first (or RQFLOW_LLM_MODEL).")
    base_url: str | None = Field(default=None, max_length=2048, pattern=r"^https?://",
                                 description="An endpoint of your own instead of a provider: no key is sent to it.")
    api_key_env: str | None = Field(default=None, description="No longer accepted; use provider.")
    max_steps: int = Field(default=8, ge=1, le=50, description="At most this many model calls.")
    temperature: float | None = Field(default=None, ge=0, le=2)
    timeout_seconds: float | None = Field(default=None, gt=0, le=3600,
                                          description="Per model call. Default: RQFLOW_HTTP_TIMEOUT_SECONDS.")

    @field_validator("base_url")
    @classmethod
    def _reachable(cls, value: str | None) -> str | None:
        return None if value is None else url_for_config(value)

    @field_validator("api_key_env")
    @classmethod
    def _no_key_choice(cls, value: str | None) -> str | None:
        if value is not None:
            raise ValueError("api_key_env is no longer accepted: API keys belong to the operator's providers "
                             f"({PROVIDERS_SETTING}); name one with 'provider' (its key only goes to its own URL)")
        return value

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                provider_named(value, get_settings())
            except ProviderRefused as exc:
                raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _one_endpoint(self) -> AgentConfig:
        if self.provider is not None and self.base_url is not None:
            raise ValueError("give either provider (the operator's endpoint and key) or base_url (your own, no key)")
        return self


@register("agent")
class Agent(Component):
    """Ask a language model, let it call the connected tool nodes, and return its final answer."""

    config_model = AgentConfig
    uses_tools = True
    category = "AI"
    label = "Agent"
    icon = "bot"
    color = "#8b5cf6"  # violet

    def run(self, config: Any, context: NodeContext) -> Any:
        """Run the loop as the workflow's owner; the output records every tool call and what each model call
        used and cost. Each call is first checked against the run's budget."""
        if context.db is None or context.user_profile is None:
            raise RuntimeError("agent needs the workflow's owner and database")
        caller = ToolCaller(db=context.db, owner=context.user_profile, signals=context.signals,
                            workflow_id=context.workflow_id)
        tools = offered_tools(context)
        definitions = [tool.definition() for tool in tools.values()]
        settings = get_settings()
        endpoint = resolve_endpoint(config, settings, owner_name=context.user_profile.name)
        def on_call(model: str, usage: Any) -> None:
            call = model_call(usage, model, settings.llm_prices)
            context.record_call(call)
            context.signals.llm_used(model=call.model, prompt_tokens=call.prompt_tokens,
                                     completion_tokens=call.completion_tokens, cost_usd=call.cost_usd)

        with _http_client(config, settings, endpoint) as http:
            chat = ChatClient(http, endpoint, tools=definitions, temperature=config.temperature,
                              max_bytes=settings.http_max_response_bytes, on_call=on_call)
            try:
                output = run_loop(chat=chat, tools=tools, caller=caller, messages=_messages(config),
                                  max_steps=config.max_steps, before_call=context.budget.check_next)
            except Exception as exc:  # what was spent is part of what the failed node shows
                if isinstance(getattr(exc, "output", None), dict):
                    exc.output["usage"] = context.spend.summary()  # type: ignore[attr-defined]
                raise
        return {**output, "usage": context.spend.summary()}


def _http_client(config: AgentConfig, settings: Settings, endpoint: Endpoint) -> httpx.Client:
    """A provider's endpoint is the operator's, trusted as configured; a node's own goes through the egress guard."""
    if config.base_url is not None:
        return guarded_client(EgressPolicy.from_settings(settings), timeout=endpoint.timeout)
    return httpx.Client(follow_redirects=False)  # a key must never follow a redirect elsewhere


def offered_tools(context: NodeContext) -> dict[str, OfferedTool]:
    """The tool nodes handed to the agent, by key, with their presets rendered like any node config."""
    template_context = {"event": context.event, "nodes": context.outputs}
    return {key: _offered(key, component_type, render_value(config, template_context))
            for key, (component_type, config) in sorted(context.tools.items())}


def _offered(key: str, component_type: str, presets: dict[str, Any]) -> OfferedTool:
    component = get_component(component_type)
    if not issubclass(component, ToolComponent):
        raise AgentConfigError(f"node {key!r} ({component_type}) is not a tool")
    if len(key) > MAX_FUNCTION_NAME:
        raise AgentConfigError(f"tool node key {key!r} is longer than {MAX_FUNCTION_NAME} characters, "
                               "the longest function name OpenAI accepts")
    try:
        component.parse_config(presets)  # a misspelt preset must not silently vanish
    except ValueError as exc:
        raise AgentConfigError(f"tool node {key!r} presets {exc}") from None
    return OfferedTool(name=key, component=component, presets=presets)


def resolve_endpoint(config: AgentConfig, settings: Settings, *, owner_name: str) -> Endpoint:
    """The node's own endpoint (no key), or its provider's URL and key, if its owner may use that provider."""
    timeout = config.timeout_seconds or settings.http_timeout_seconds
    if config.base_url is not None:
        return own_endpoint(config.base_url, model=config.model, settings=settings, timeout=timeout)
    provider = provider_named(config.provider or DEFAULT, settings)
    provider.check_user(owner_name)
    return provider.endpoint(model=config.model, timeout=timeout)


def _messages(config: AgentConfig) -> list[dict[str, Any]]:
    system = [{"role": "system", "content": config.system}] if config.system else []
    return [*system, {"role": "user", "content": config.prompt}]
