"""Workflow node types; see :mod:`rqflow.components.registry`."""

from rqflow.components.base import Component, NodeConfig, NodeContext
from rqflow.components.registry import get_component, load_components, register

__all__ = ["Component", "NodeConfig", "NodeContext", "get_component", "load_components", "register"]
