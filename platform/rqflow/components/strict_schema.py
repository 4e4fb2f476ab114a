"""JSON Schemas that LLM function calling accepts, from Pydantic models.

OpenAI's strict mode wants closed objects (``additionalProperties: false``),
every property listed in ``required`` (an optional one is made nullable
instead), no ``$ref`` it cannot follow and none of the validation keywords it
does not support. The model itself still validates every call, so dropping a
keyword such as ``maxLength`` here loses no check, only its mention.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

# Keywords strict mode accepts; everything else is dropped from the schema.
KEPT_KEYWORDS = {"type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf",
                 "description"}


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's input schema, inlined and closed, with every property required."""
    raw = model.model_json_schema()
    definitions = raw.pop("$defs", {})
    schema = _strict(_inline(raw, definitions))
    schema.pop("title", None)
    return schema


def _inline(node: Any, definitions: dict[str, Any]) -> Any:
    """Replace every ``$ref`` by a copy of its definition (the tool schemas are small and not recursive)."""
    if isinstance(node, dict):
        if "$ref" in node:
            target = copy.deepcopy(definitions[node["$ref"].rsplit("/", 1)[-1]])
            merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            return _inline(merged, definitions)
        return {key: _inline(value, definitions) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    return node


def _strict(node: dict[str, Any]) -> dict[str, Any]:
    """Close objects, require every property, make optional ones nullable, drop unsupported keywords."""
    result = {key: value for key, value in node.items() if key in KEPT_KEYWORDS}
    if "anyOf" in result:
        result["anyOf"] = [_strict(option) for option in result["anyOf"]]
    if "items" in result:
        result["items"] = _strict(result["items"])
    if result.get("type") == "object" or "properties" in result:
        required = set(node.get("required", []))
        properties = node.get("properties", {})
        result["properties"] = {
            name: _strict(schema) if name in required else _nullable(_strict(schema))
            for name, schema in properties.items()
        }
        result["required"] = list(properties)
        result["additionalProperties"] = False
    return result


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """Let ``null`` through (meaning "the default"), unless the schema already does."""
    options = schema.get("anyOf")
    if options is not None:
        if not any(option.get("type") == "null" for option in options):
            schema["anyOf"] = [*options, {"type": "null"}]
        return schema
    kind = schema.get("type")
    if isinstance(kind, str) and "enum" not in schema:
        schema["type"] = [kind, "null"]
        return schema
    description = schema.pop("description", None)
    nullable: dict[str, Any] = {"anyOf": [schema, {"type": "null"}]}
    if description:
        nullable["description"] = description
    return nullable
