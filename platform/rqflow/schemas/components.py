"""Node types and tools on the wire: ``ComponentPublic``, ``ToolPublic``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ComponentPublic(BaseModel):
    """A node type, with what a workflow editor needs to draw it and fill in its config."""

    component_type: str
    label: str
    category: str
    icon: str
    color: str
    description: str
    is_trigger: bool
    is_tool: bool
    uses_tools: bool
    enabled: bool = Field(description="Whether workflows on this server may use the node type "
                                      "(python_call: only with RQFLOW_PYTHON_CALLABLES set by the operator).")
    config_schema: dict[str, Any] = Field(description="JSON Schema of the node's config.")


class ToolAnnotations(BaseModel):
    """What a caller may assume about a call (the MCP hints)."""

    read_only: bool
    idempotent: bool
    destructive: bool


class ToolPublic(BaseModel):
    """A tool, with its input schema in the formats LLM APIs take."""

    name: str
    description: str
    annotations: ToolAnnotations
    input_schema: dict[str, Any] = Field(description="Strict JSON Schema: closed objects, every property required.")
    openai: dict[str, Any] = Field(description="As an OpenAI chat-completions tool (strict function).")
    anthropic: dict[str, Any] = Field(description="As an Anthropic Messages API tool.")
