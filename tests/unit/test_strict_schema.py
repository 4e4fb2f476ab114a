"""Every tool's input schema follows OpenAI's strict-mode rules; the conversion itself on small models."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from rqflow.components.strict_schema import strict_schema
from rqflow.components.tool import ToolComponent
from rqflow.components.tool_catalog import SCHEDULER_TOOLS, anthropic_tool, list_tools, openai_tool

# The stub's checker keeps its own list of the keywords strict mode accepts, not the one of the
# code under test, so a keyword wrongly let through fails these tests.
from tests.llm_stub import strict_problems


def accepts_null(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    return kind == "null" or (isinstance(kind, list) and "null" in kind) or any(
        accepts_null(option) for option in schema.get("anyOf", []))


TOOLS = [pytest.param(tool, id=tool.component_type) for tool in list_tools()]


def test_the_five_scheduler_tools_are_listed_first() -> None:
    """The catalog holds the scheduler's five tools, in their documented order."""
    assert [tool.component_type for tool in list_tools()][:5] == list(SCHEDULER_TOOLS)


@pytest.mark.parametrize("tool", TOOLS)
def test_tool_schemas_pass_strict_mode(tool: type[ToolComponent]) -> None:
    """Closed objects, every property required, no keyword strict mode refuses."""
    schema = strict_schema(tool.input_model)
    assert strict_problems(schema) == []
    assert schema["type"] == "object" and schema["properties"]


@pytest.mark.parametrize("tool", TOOLS)
def test_optional_fields_are_nullable_and_required_ones_are_not(tool: type[ToolComponent]) -> None:
    """A field with a default must accept null (null means the default); a field without one must not."""
    schema = strict_schema(tool.input_model)
    for name, field in tool.input_model.model_fields.items():
        assert accepts_null(schema["properties"][name]) == (not field.is_required()), name


@pytest.mark.parametrize("tool", TOOLS)
def test_openai_and_anthropic_formats_wrap_the_same_schema(tool: type[ToolComponent]) -> None:
    """Both formats carry the tool's name, a description and the strict schema."""
    openai, anthropic = openai_tool(tool), anthropic_tool(tool)
    assert openai["type"] == "function" and openai["function"]["strict"] is True
    assert openai["function"]["name"] == anthropic["name"] == tool.component_type
    assert openai["function"]["parameters"] == anthropic["input_schema"] == strict_schema(tool.input_model)
    assert len(anthropic["description"]) > 10


class Inner(BaseModel):
    """A nested model, reached through a reference."""

    label: str = Field(max_length=5)
    weight: float | None = Field(default=None, ge=0)


class Outer(BaseModel):
    """Nested models, lists, enums and defaults."""

    inner: Inner
    items: list[Inner] = Field(default_factory=list, min_length=0)
    mode: Literal["a", "b"] = "a"
    note: str = Field(default="", pattern="^x")


def test_conversion_inlines_refs_closes_objects_and_nulls_defaults() -> None:
    """Refs are inlined, every object closed, defaulted fields nullable, validation keywords dropped."""
    schema = strict_schema(Outer)
    assert strict_problems(schema) == []
    assert "$defs" not in str(schema) and "$ref" not in str(schema)
    inner = schema["properties"]["inner"]
    assert inner["properties"]["label"] == {"type": "string"}
    assert accepts_null(inner["properties"]["weight"]) and not accepts_null(inner["properties"]["label"])
    assert accepts_null(schema["properties"]["items"]) and accepts_null(schema["properties"]["mode"])
    assert schema["properties"]["note"] == {"type": ["string", "null"]}
    assert strict_problems({"type": "object", "properties": {"x": {"type": "string"}}}) != [], (
        "the checker itself must catch an open object")
