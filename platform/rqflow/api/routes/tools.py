"""``/api/v1/tools``: the scheduler tools, listed in LLM formats and invoked as the calling user.

A refused call answers 422, 404 or 409 (by the error's ``kind``) with the same body
an agent or an MCP client gets: ``{"ok": false, "error": {type, kind, field, message, hint}}``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Body
from fastapi.responses import JSONResponse

from rqflow.api.deps import CurrentUser, SessionDep, SignalsDep
from rqflow.api.routing import SlashTolerantRouter
from rqflow.components.strict_schema import strict_schema
from rqflow.components.tool import ToolCaller, ToolComponent
from rqflow.components.tool_catalog import anthropic_tool, invoke_tool, list_tools, openai_tool
from rqflow.schemas.components import ToolAnnotations, ToolPublic
from rqflow.schemas.errors import ErrorPublic
from rqflow.schemas.tools import ToolAnswer

router = SlashTolerantRouter(prefix="/api/v1/tools", tags=["tools"])
STATUS_BY_KIND = {"invalid_input": 422, "not_found": 404, "conflict": 409}
# A refused call answers a ToolAnswer; a request FastAPI refuses before the tool sees it, an ErrorPublic.
REFUSALS: dict[int | str, dict[str, Any]] = {
    status: {"model": ToolAnswer | ErrorPublic, "description": f"Refused ({kind}); see the body's error."}
    for kind, status in STATUS_BY_KIND.items()
}


@router.get("", response_model=list[ToolPublic])
def list_all(user: CurrentUser) -> list[ToolPublic]:
    """Every tool with its strict input schema, also as OpenAI and Anthropic tool definitions."""
    return [tool_public(tool) for tool in list_tools()]


@router.post("/{name}/invoke", response_model=ToolAnswer, responses=REFUSALS)
def invoke(
    name: str, db: SessionDep, user: CurrentUser, signals: SignalsDep,
    arguments: dict[str, Any] = Body(default_factory=dict, description="The tool's input."),  # noqa: B008
) -> JSONResponse:
    """Run one tool as you; the answer is ``{"ok": true, "result": ...}`` or a structured refusal."""
    answer = invoke_tool(name, arguments, ToolCaller(db=db, owner=user, signals=signals))
    status = 200 if answer["ok"] else STATUS_BY_KIND[answer["error"]["kind"]]
    return JSONResponse(answer, status_code=status)


def tool_public(tool: type[ToolComponent]) -> ToolPublic:
    """One tool as the API shows it."""
    return ToolPublic(
        name=tool.component_type, description=tool.description(),
        annotations=ToolAnnotations(read_only=tool.read_only, idempotent=tool.idempotent,
                                    destructive=tool.destructive),
        input_schema=strict_schema(tool.input_model), openai=openai_tool(tool), anthropic=anthropic_tool(tool),
    )
