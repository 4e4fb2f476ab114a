"""``agent``: a language model that calls the tool nodes connected to it until it gives a final answer.

The node talks to any OpenAI-compatible chat-completions endpoint
(``RQFLOW_LLM_BASE_URL``, ``RQFLOW_LLM_MODEL``, ``RQFLOW_LLM_API_KEY``; a node
may name its own ``base_url`` and ``model``). Each tool node that a ``tool``
edge hands it is offered as a function named after the node's key, so two
differently preset ``schedule_create`` nodes can sit side by side. A tool node's
config holds preset arguments: they win over what the model sends, and they are
left out of the offered schema, so the model cannot even try to change them
(e.g. a fixed ``workflow_id``). The loop itself is :mod:`rqflow.components.agent_loop`.

API keys are never stored in workflow JSON: a node that needs a key other than
the operator's names an environment variable of the worker (``api_key_env``),
which must start with ``RQFLOW_LLM_API_KEY_``, so a workflow author cannot make
the agent send some other secret (say the database URL) to an endpoint of their
choosing. For the same reason the operator's ``RQFLOW_LLM_API_KEY`` is only sent
to ``RQFLOW_LLM_BASE_URL``; a node with its own ``base_url`` sends the key named
by its ``api_key_env``, or none.

The output records every tool call: ``{"answer", "steps", "tool_calls": [{"id",
"name", "tool", "arguments", "answer"}], "model"}``. A refused tool call is fed
back to the model and does not fail the node; the node fails when the endpoint
fails (naming its status) or after ``max_steps`` model calls without a final
answer, and the failed node run keeps the same output (``answer`` null), so the
tool calls made before the failure stay on record. Each tool call is committed
as it is made: its effect stands even if the node fails later.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
from pydantic import Field, field_validator

from rqflow.components.agent_loop import ChatClient, Endpoint, OfferedTool, run_loop
from rqflow.components.base import Component, NodeConfig, NodeContext
from rqflow.components.registry import get_component, register
from rqflow.components.tool import ToolCaller, ToolComponent
from rqflow.egress import EgressPolicy, guarded_client, url_for_config
from rqflow.engine.templates import render_value
from rqflow.settings import Settings, get_settings

# Only environment variables with this prefix can hold a per-node key (see the module docstring).
API_KEY_ENV_PREFIX = "RQFLOW_LLM_API_KEY_"
# OpenAI refuses function names longer than this; a node key is the function name.
MAX_FUNCTION_NAME = 64


class AgentConfigError(ValueError):
    """The agent node or one of its tool nodes is set up wrongly."""


class AgentConfig(NodeConfig):
    """The prompt, optional system message, endpoint overrides, and the limits of the loop."""

    prompt: str = Field(min_length=1, max_length=100_000, description="The user message; may use templates.")
    system: str | None = Field(default=None, max_length=100_000, description="The system message.")
    model: str | None = Field(default=None, min_length=1, max_length=200, description="Default: RQFLOW_LLM_MODEL.")
    base_url: str | None = Field(default=None, max_length=2048, pattern=r"^https?://",
                                 description="Default: RQFLOW_LLM_BASE_URL, e.g. 'https://api.openai.com/v1'.")
    api_key_env: str | None = Field(default=None, max_length=200, pattern=rf"^{API_KEY_ENV_PREFIX}[A-Z0-9_]+$",
                                    description="The worker's environment variable holding the API key.")
    max_steps: int = Field(default=8, ge=1, le=50, description="At most this many model calls.")
    temperature: float | None = Field(default=None, ge=0, le=2)
    timeout_seconds: float | None = Field(default=None, gt=0, le=3600,
                                          description="Per model call. Default: RQFLOW_HTTP_TIMEOUT_SECONDS.")

    @field_validator("base_url")
    @classmethod
    def _reachable(cls, value: str | None) -> str | None:
        return None if value is None else url_for_config(value)


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
        """Run the loop as the workflow's owner; the output records every tool call."""
        if context.db is None or context.user_profile is None:
            raise RuntimeError("agent needs the workflow's owner and database")
        caller = ToolCaller(db=context.db, owner=context.user_profile, signals=context.signals)
        tools = offered_tools(context)
        definitions = [tool.definition() for tool in tools.values()]
        settings = get_settings()
        endpoint = resolve_endpoint(config, settings)
        with _http_client(config, settings, endpoint) as http:
            chat = ChatClient(http, endpoint, tools=definitions, temperature=config.temperature)
            return run_loop(chat=chat, tools=tools, caller=caller, messages=_messages(config),
                            max_steps=config.max_steps)


def _http_client(config: AgentConfig, settings: Settings, endpoint: Endpoint) -> httpx.Client:
    """The operator's endpoint is trusted as configured; one a workflow names goes through the egress guard."""
    if config.base_url and config.base_url.rstrip("/") != settings.llm_base_url.rstrip("/"):
        return guarded_client(EgressPolicy.from_settings(settings), timeout=endpoint.timeout)
    return httpx.Client()


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


def resolve_endpoint(config: AgentConfig, settings: Settings) -> Endpoint:
    """The node's overrides over the settings."""
    base_url = config.base_url or settings.llm_base_url
    return Endpoint(base_url=base_url, model=config.model or settings.llm_model,
                    api_key=_api_key(config, settings, base_url),
                    timeout=config.timeout_seconds or settings.http_timeout_seconds)


def _api_key(config: AgentConfig, settings: Settings, base_url: str) -> str:
    if config.api_key_env:
        # The one read of the environment outside settings.py: which variable is a per-node choice.
        key = os.environ.get(config.api_key_env, "")
        if not key:
            raise AgentConfigError(f"api_key_env {config.api_key_env} is not set in the worker's environment")
        return key
    if base_url.rstrip("/") == settings.llm_base_url.rstrip("/"):
        return settings.llm_api_key.get_secret_value()
    return ""  # the operator's key never goes to an endpoint a workflow author chose


def _messages(config: AgentConfig) -> list[dict[str, Any]]:
    system = [{"role": "system", "content": config.system}] if config.system else []
    return [*system, {"role": "user", "content": config.prompt}]
