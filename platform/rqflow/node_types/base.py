"""The contract every workflow node type fulfils."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from rqflow.models import UserProfile
from rqflow.signals import NullSignals, SchedulerSignals
from rqflow.spend import ModelCall, RunBudget, Spend


class NodeConfig(BaseModel):
    """Base of node configs: unknown keys are refused so typos surface when the workflow is saved."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class NodeContext:
    """What a running node can see: the triggering event, earlier outputs, its owner and the database."""

    event: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    user_profile: UserProfile | None = None
    db: Session | None = None
    workflow_id: int | None = None
    workflow_run_id: int | None = None
    signals: SchedulerSignals = field(default_factory=NullSignals)
    # For a node that calls tools: the tool nodes its tool edges hand it, by key -> (component type, config).
    tools: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    # What the node being run spent on model calls (a fresh one per node), and the run's budget across its nodes.
    spend: Spend = field(default_factory=Spend)
    budget: RunBudget = field(default_factory=RunBudget)

    def record_call(self, call: ModelCall) -> None:
        """A model call this node made: counted for the node and against the run's budget."""
        self.spend.add(call)
        self.budget.record(call)


class Component(ABC):
    """A node type. Subclasses set the class attributes and implement :meth:`run`."""

    component_type: ClassVar[str]
    config_model: ClassVar[type[NodeConfig]] = NodeConfig
    is_trigger: ClassVar[bool] = False
    # A tool node can be handed to an agent node by a tool edge; an agent node calls tools.
    is_tool: ClassVar[bool] = False
    uses_tools: ClassVar[bool] = False
    # Palette metadata, so an editor can draw the node.
    category: ClassVar[str] = "General"
    label: ClassVar[str] = ""
    icon: ClassVar[str] = "box"
    color: ClassVar[str] = "#64748b"

    @classmethod
    def enabled(cls) -> bool:
        """Whether this server lets workflows use the node type (the operator may keep some off)."""
        return True

    @classmethod
    def description(cls) -> str:
        """What the node does, in a sentence (its class docstring)."""
        return (cls.__doc__ or "").strip()

    @classmethod
    def config_schema(cls) -> dict[str, Any]:
        """The JSON Schema of the node's config, for a workflow editor's form."""
        return cls.config_model.model_json_schema()

    @classmethod
    def parse_config(cls, raw: dict[str, Any]) -> Any:
        """Validate a raw config dict against this component's model."""
        return cls.config_model.model_validate(raw)

    @abstractmethod
    def run(self, config: Any, context: NodeContext) -> Any:
        """Execute the node and return its (JSON-serialisable) output; raise to fail it."""
