"""Workflow node types; see :mod:`rqflow.node_types.registry`."""

from rqflow.node_types.base import Component, NodeConfig, NodeContext
from rqflow.node_types.registry import get_component, load_components, register

__all__ = ["Component", "NodeConfig", "NodeContext", "get_component", "load_components", "register"]
