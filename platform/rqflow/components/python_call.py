"""``python_call``: call an existing Python function with the event, for teams that already have jobs.

Calling a function by name is running code on the workers, so it is the operator's
decision, never a user's: only the dotted paths in ``RQFLOW_PYTHON_CALLABLES`` may be
called (exact paths, or ``package.module.*`` for everything under a module). The list
is empty by default, so by default the node is refused when a workflow is saved, and
again when it runs if the list changed since. The path is checked before anything is
imported (importing a module runs its code), and the function found must also be
*defined* under an allowed path, so ``allowed.module:run`` cannot reach a
``subprocess.run`` that the module merely imported.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from pydantic import Field, field_validator

from rqflow.node_types.base import Component, NodeConfig, NodeContext
from rqflow.node_types.registry import register
from rqflow.settings import get_settings

SETTING = "RQFLOW_PYTHON_CALLABLES"


class CallableNotAllowed(PermissionError):
    """The operator has not allowed this dotted path (RQFLOW_PYTHON_CALLABLES)."""


class PythonCallConfig(NodeConfig):
    """``callable`` is a dotted path (``package.module:function`` or ``package.module.function``)."""

    callable: str = Field(min_length=3, max_length=255, pattern=r"^[A-Za-z_][\w.]*[:.][A-Za-z_]\w*$")
    kwargs: dict[str, Any] = Field(default_factory=dict)

    @field_validator("callable")
    @classmethod
    def _allowed(cls, value: str) -> str:
        try:
            check_allowed(value)
        except CallableNotAllowed as exc:
            raise ValueError(str(exc)) from None  # pydantic reports ValueError as this field's error
        return value


@register("python_call")
class PythonCall(Component):
    """Import the callable and call it as ``fn(event, **kwargs)``; its return value is the output."""

    config_model = PythonCallConfig
    category = "Actions"
    label = "Python call"
    icon = "code"
    color = "#10b981"

    @classmethod
    def enabled(cls) -> bool:
        """Only where the operator allowed at least one callable."""
        return bool(get_settings().python_callables)

    def run(self, config: Any, context: NodeContext) -> Any:
        """Call the function with the event and the configured keyword arguments."""
        return resolve_callable(config.callable)(context.event, **config.kwargs)


def dotted(path: str) -> str:
    """``package.module:function`` and ``package.module.function`` name the same thing."""
    return path.replace(":", ".")


def is_allowed(path: str, allowed: list[str]) -> bool:
    """An exact entry, or an entry ``prefix.*`` with ``path`` under ``prefix``."""
    name = dotted(path)
    return any(name == entry or (entry.endswith(".*") and name.startswith(entry[:-1])) for entry in allowed)


def check_allowed(path: str) -> None:
    """Raise CallableNotAllowed unless the operator's list allows ``path``."""
    allowed = get_settings().python_callables
    if not allowed:
        raise CallableNotAllowed(f"python_call is disabled on this server: the operator allows no callables ({SETTING})")
    if not is_allowed(path, allowed):
        raise CallableNotAllowed(f"{path!r} is not among the callables the operator allows ({SETTING})")


def resolve_callable(path: str) -> Callable[..., Any]:
    """Check, import ``module:attr`` or ``module.attr`` and return it, or raise naming the path."""
    check_allowed(path)
    module_name, _, attr = dotted(path).rpartition(".")
    try:
        target = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise LookupError(f"cannot import {path!r}: {exc}") from exc
    if not callable(target):
        raise TypeError(f"{path!r} is not callable")
    _check_defined_where_allowed(path, target)
    function: Callable[..., Any] = target
    return function


def _check_defined_where_allowed(path: str, target: Callable[..., Any]) -> None:
    """The function must live under an allowed path, not merely be reachable from one."""
    module, qualname = getattr(target, "__module__", None), getattr(target, "__qualname__", None)
    if not module or not qualname or not is_allowed(f"{module}.{qualname}", get_settings().python_callables):
        raise CallableNotAllowed(
            f"{path!r} resolves to {module}.{qualname}, which is not among the callables the operator allows ({SETTING})"
        )
