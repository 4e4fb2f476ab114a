"""``python_call``: call an existing Python function with the event, for teams that already have jobs."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from pydantic import Field

from rqflow.components.base import Component, NodeConfig, NodeContext
from rqflow.components.registry import register


class PythonCallConfig(NodeConfig):
    """``callable`` is a dotted path (``package.module:function`` or ``package.module.function``)."""

    callable: str = Field(min_length=3, max_length=255, pattern=r"^[A-Za-z_][\w.]*[:.][A-Za-z_]\w*$")
    kwargs: dict[str, Any] = Field(default_factory=dict)


@register("python_call")
class PythonCall(Component):
    """Import the callable and call it as ``fn(event, **kwargs)``; its return value is the output."""

    config_model = PythonCallConfig
    category = "Actions"
    label = "Python call"
    icon = "code"
    color = "#10b981"

    def run(self, config: Any, context: NodeContext) -> Any:
        """Call the function with the event and the configured keyword arguments."""
        return resolve_callable(config.callable)(context.event, **config.kwargs)


def resolve_callable(path: str) -> Callable[..., Any]:
    """Import ``module:attr`` or ``module.attr`` and return it, or raise naming the path."""
    module_name, _, attr = path.replace(":", ".").rpartition(".")
    try:
        target = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise LookupError(f"cannot import {path!r}: {exc}") from exc
    if not callable(target):
        raise TypeError(f"{path!r} is not callable")
    return target
