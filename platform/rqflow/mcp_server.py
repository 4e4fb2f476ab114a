"""The MCP server: the scheduler's tools for MCP clients, over stdio or streamable HTTP.

A thin shell like every entry point: each tool call opens its own transaction,
authenticates the caller's API token and goes through
:func:`rqflow.components.tool_catalog.invoke_tool`, so an MCP client gets the answers an
agent node gets (``{"ok": ..., "result" | "error": ...}``), a refusal flagged as
an error result so the model reads the hint and tries again.

Who the caller is:

- over stdio, the owner of the token the process was started with
  (``RQFLOW_TOKEN``, checked at startup and again on every call);
- over streamable HTTP, the owner of the ``Authorization: Bearer`` token of each
  request. The SDK's bearer middleware checks it first and answers 401 without
  a valid one; the call then authenticates the same token in its own transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any

import anyio
import anyio.to_thread
from mcp import types
from mcp.server import Server, ServerRequestContext
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.stdio import stdio_server
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.requests import Request

from rqflow import __version__
from rqflow.broker.connection import get_redis
from rqflow.broker.signals import RedisSignals
from rqflow.components.tool import ToolCaller, ToolComponent
from rqflow.components.tool_catalog import get_tool, invoke_tool, list_tools
from rqflow.components.tool_results import from_domain_error
from rqflow.db import session_scope
from rqflow.errors import AuthenticationFailed
from rqflow.services.users import authenticate
from rqflow.settings import Settings, get_settings

SERVER_NAME = "rqflow"
INSTRUCTIONS = (
    "Create, pause, resume, stop and list the schedules that start your rqflow workflows. Every answer "
    "is {ok: true, result} or {ok: false, error: {type, field, message, hint}}; after a refusal, follow "
    "the hint."
)

Context = ServerRequestContext[Any, Any]
# Reads the caller's API token off one request; None when it carries none.
TokenSource = Callable[[Context], str | None]


def build_server(token_of: TokenSource) -> Server[Any]:
    """An MCP server over the tool catalog; each call acts as the owner of the token ``token_of`` finds."""

    # The low-level Server, not MCPServer: the tools already have their schemas (their input
    # models) and their answer shape; MCPServer would derive both from a Python signature.
    async def on_list_tools(
        _ctx: Context, _params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[mcp_tool(tool) for tool in list_tools()])

    async def on_call_tool(ctx: Context, params: types.CallToolRequestParams) -> types.CallToolResult:
        call = partial(call_tool, params.name, params.arguments or {}, token=token_of(ctx))
        # Services are synchronous (SQLAlchemy, redis-py): keep them off the event loop.
        return tool_result(await anyio.to_thread.run_sync(call))

    return Server(SERVER_NAME, version=__version__, instructions=INSTRUCTIONS, on_list_tools=on_list_tools,
                  on_call_tool=on_call_tool, get_tool_input_schema=input_schema)


def mcp_tool(tool: type[ToolComponent]) -> types.Tool:
    """The tool as MCP lists it: its input model's schema, its description and what a client may assume."""
    return types.Tool(name=tool.component_type, title=tool.label, description=tool.description(),
                      input_schema=tool.input_model.model_json_schema(), annotations=tool_annotations(tool))


def input_schema(name: str) -> dict[str, Any] | None:
    """The input model's own JSON schema, or None for an unknown tool.

    Not the OpenAI strict-mode schema: MCP clients may leave optional fields out,
    and this one keeps the bounds (``maxLength``, ``minimum``) strict mode drops.
    """
    tool = get_tool(name)
    return tool.input_model.model_json_schema() if tool is not None else None


def tool_annotations(tool: type[ToolComponent]) -> types.ToolAnnotations:
    """The tool's own flags as MCP hints; none of the tools reaches past rqflow's database and queue."""
    return types.ToolAnnotations(title=tool.label, read_only_hint=tool.read_only,
                                 destructive_hint=tool.destructive, idempotent_hint=tool.idempotent,
                                 open_world_hint=False)


def call_tool(name: str, arguments: dict[str, Any], *, token: str | None) -> dict[str, Any]:
    """One call as the token's owner, in its own transaction; a bad token is a refusal like any other."""
    try:
        with session_scope() as db:
            owner = authenticate(db=db, token=token or "")  # no token matches no stored digest
            caller = ToolCaller(db=db, owner=owner, signals=RedisSignals(get_redis()))
            return invoke_tool(name, arguments, caller)
    except AuthenticationFailed as exc:
        return from_domain_error(exc)


def tool_result(answer: dict[str, Any]) -> types.CallToolResult:
    """The answer as JSON text and as structured content; a refusal is an error result with the same JSON."""
    text = types.TextContent(text=json.dumps(answer))
    return types.CallToolResult(content=[text], structured_content=answer, is_error=not answer["ok"])


def check_token(token: str) -> str:
    """The name of the token's owner; AuthenticationFailed if it is not a valid API token."""
    with session_scope() as db:
        return authenticate(db=db, token=token).name


def serve_stdio(token: str) -> None:
    """Serve over stdin/stdout as the owner of ``token`` until the client closes the pipe."""
    anyio.run(_serve_stdio, build_server(lambda _ctx: token))


async def _serve_stdio(server: Server[Any]) -> None:
    # While it serves, stdio_server points fd 1 at stderr, so stray output cannot corrupt the protocol.
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


class ApiTokenVerifier:
    """The SDK's TokenVerifier over rqflow's API tokens."""

    async def verify_token(self, token: str) -> AccessToken | None:
        """Access for the token's owner, or None (the SDK then answers 401)."""
        user_id = await anyio.to_thread.run_sync(_user_id, token)
        if user_id is None:
            return None
        # The principal is the user: the SDK binds an HTTP session to it, so no one else can use that session.
        return AccessToken(token=token, client_id=f"rqflow-user-{user_id}", scopes=[], subject=str(user_id))


def _user_id(token: str) -> int | None:
    try:
        with session_scope() as db:
            return authenticate(db=db, token=token).id
    except AuthenticationFailed:
        return None


def bearer_token(ctx: Context) -> str | None:
    """The bearer token the SDK's middleware accepted for the HTTP request carrying this call."""
    request = ctx.request
    user = request.scope.get("user") if isinstance(request, Request) else None
    return user.access_token.token if isinstance(user, AuthenticatedUser) else None


def http_app(*, host: str, port: int) -> Starlette:
    """The streamable HTTP app, at ``/mcp``; a request without a valid bearer token gets 401."""
    # The SDK installs its bearer middleware only along with AuthSettings, which must name an
    # issuer: rqflow itself issues the tokens (`rqflow user create`). With no resource_server_url
    # and no OAuth provider, no OAuth metadata or endpoints are served.
    auth = AuthSettings(issuer_url=AnyHttpUrl(_origin(host, port)), resource_server_url=None)
    server = build_server(bearer_token)
    return server.streamable_http_app(host=host, auth=auth, token_verifier=ApiTokenVerifier(),
                                      transport_security=transport_security(host, port, get_settings()))


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def transport_security(host: str, port: int, settings: Settings) -> TransportSecuritySettings:
    """Which Host and Origin headers the HTTP transport answers (DNS rebinding protection, always on).

    On loopback, loopback names by default; on any other address, only that address unless the
    operator lists the names clients use (RQFLOW_MCP_ALLOWED_HOSTS, RQFLOW_MCP_ALLOWED_ORIGINS).
    """
    if settings.mcp_allowed_hosts or settings.mcp_allowed_origins:
        hosts, origins = settings.mcp_allowed_hosts, settings.mcp_allowed_origins
    elif host in LOOPBACK_HOSTS:
        hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
        origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    else:
        hosts, origins = [_origin(host, port).removeprefix("http://")], [_origin(host, port)]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=list(hosts),
                                     allowed_origins=list(origins))


def serve_http(*, host: str, port: int, log_level: str) -> None:
    """Serve streamable HTTP on ``host:port`` until interrupted."""
    import uvicorn

    # log_config=None: uvicorn logs through the handler rqflow.observability.logs installed
    uvicorn.run(http_app(host=host, port=port), host=host, port=port, log_level=log_level, log_config=None)


def _origin(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
