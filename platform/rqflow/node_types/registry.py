"""The component registry: ``@register("type")`` classes, loaded by one explicit call."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from rqflow.errors import InvalidInput
from rqflow.node_types.base import Component

BUILTIN_MODULES = (
    "rqflow.components.trigger_schedule",
    "rqflow.components.http_request",
    "rqflow.components.python_call",
    "rqflow.components.schedule_tools",
    "rqflow.components.agent",
)

_registry: dict[str, type[Component]] = {}


def register(component_type: str) -> Callable[[type[Component]], type[Component]]:
    """Register a component class under ``component_type``; a duplicate name is a bug and raises."""

    def decorator(cls: type[Component]) -> type[Component]:
        if component_type in _registry and _registry[component_type] is not cls:
            raise ValueError(f"component type {component_type!r} is already registered")
        cls.component_type = component_type
        _registry[component_type] = cls
        return cls

    return decorator


def load_components() -> dict[str, type[Component]]:
    """Import every built-in component module (idempotent) and return the registry."""
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    return dict(_registry)


def get_component(component_type: str) -> type[Component]:
    """The class for ``component_type``, or an error naming the known types."""
    load_components()
    try:
        return _registry[component_type]
    except KeyError:
        known = ", ".join(sorted(_registry))
        raise InvalidInput(
            f"unknown component_type {component_type!r}; known: {known}", field="component_type"
        ) from None
