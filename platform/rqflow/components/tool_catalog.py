"""The tool catalog for every kind of caller: listing tools in LLM formats and invoking them.

The tool API, the agent node and the MCP server all go through here; the tools
themselves are component classes (:mod:`rqflow.components.schedule_tools`).
"""

from __future__ import annotations

from typing import Any

from rqflow.components.strict_schema import strict_schema
from rqflow.components.tool import ToolCaller, ToolComponent
from rqflow.components.tool_results import failure
from rqflow.node_types.registry import load_components

SCHEDULER_TOOLS = ("schedule_create", "schedule_pause", "schedule_resume", "schedule_stop", "schedule_list")


def list_tools() -> list[type[ToolComponent]]:
    """Every registered tool, the scheduler's five first."""
    tools = [cls for cls in load_components().values() if issubclass(cls, ToolComponent)]
    return sorted(tools, key=lambda cls: (cls.component_type not in SCHEDULER_TOOLS, _rank(cls.component_type)))


def get_tool(name: str) -> type[ToolComponent] | None:
    """The tool called ``name``, or None."""
    return next((cls for cls in list_tools() if cls.component_type == name), None)


def invoke_tool(name: str, arguments: dict[str, Any], caller: ToolCaller) -> dict[str, Any]:
    """Run one tool call as ``caller``; an unknown name is a structured refusal like any other."""
    tool = get_tool(name)
    if tool is None:
        known = ", ".join(cls.component_type for cls in list_tools())
        return failure("UnknownTool", f"there is no tool named {name!r}", "name", f"use one of: {known}", "not_found")
    return tool.invoke(arguments, caller)


def openai_tool(tool: type[ToolComponent]) -> dict[str, Any]:
    """The tool as an OpenAI chat-completions function, in strict mode."""
    return {"type": "function", "function": {
        "name": tool.component_type, "description": tool.description(),
        "parameters": strict_schema(tool.input_model), "strict": True,
    }}


def anthropic_tool(tool: type[ToolComponent]) -> dict[str, Any]:
    """The tool as an Anthropic Messages API tool."""
    return {"name": tool.component_type, "description": tool.description(),
            "input_schema": strict_schema(tool.input_model)}


def _rank(name: str) -> int:
    return SCHEDULER_TOOLS.index(name) if name in SCHEDULER_TOOLS else len(SCHEDULER_TOOLS)
