"""Tool components: node types that agents can call as functions, with one answer shape for every caller.

A tool's input is a :class:`~rqflow.schemas.tools.ToolInput`, validated when it
is called (not when the workflow is saved: an agent fills it in at run time),
and its answer is ``{"ok": ..., "result" | "error": ...}`` (:mod:`rqflow.components.tool_results`).
The call runs in a savepoint of the caller's transaction, so a refused call
leaves nothing written. As a plain workflow step, a refused call fails the node,
with the same answer kept as the node's output.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from pydantic import ValidationError
from sqlalchemy.orm import Session

from rqflow.components.tool_results import from_domain_error, from_validation_error, success
from rqflow.db import savepoint
from rqflow.errors import RqflowError
from rqflow.models import UserProfile, utcnow
from rqflow.node_types.base import Component, NodeContext
from rqflow.schemas.tools import ToolInput
from rqflow.signals import NullSignals, SchedulerSignals

SCHEDULER_CATEGORY = "Scheduler"
SCHEDULER_COLOR = "#d97706"  # amber


@dataclass
class ToolCaller:
    """Who calls a tool and through what: the acting user, their transaction, the scheduler's signals,
    and the workflow whose run makes the call (none for the REST API and MCP)."""

    db: Session
    owner: UserProfile
    signals: SchedulerSignals = field(default_factory=NullSignals)
    clock: Callable[[], datetime] = utcnow
    workflow_id: int | None = None


class ToolFailed(RuntimeError):
    """A tool refused its input inside a workflow; ``output`` is the structured refusal, kept on the node run."""

    def __init__(self, answer: dict[str, Any]) -> None:
        error = answer["error"]
        super().__init__(f"{error['message']} (hint: {error['hint']})")
        self.output = answer


class ToolComponent(Component):
    """A node type that is also a function for agents, MCP clients and the tool API."""

    input_model: ClassVar[type[ToolInput]]
    is_tool = True
    # MCP annotations: what a client may assume about a call.
    read_only: ClassVar[bool] = False
    idempotent: ClassVar[bool] = False
    destructive: ClassVar[bool] = False
    category = SCHEDULER_CATEGORY
    color = SCHEDULER_COLOR

    @classmethod
    def description(cls) -> str:
        """What the tool does, for the model choosing it (the input model's docstring)."""
        return (cls.input_model.__doc__ or cls.__doc__ or "").strip()

    @classmethod
    def config_schema(cls) -> dict[str, Any]:
        """A tool node's config is its input (every field optional there: the agent may fill it in)."""
        return cls.input_model.model_json_schema()

    @classmethod
    def parse_config(cls, raw: dict[str, Any]) -> Any:
        """Refuse keys that are not fields (a typo must not vanish); keep the values raw.

        Values are validated at call time, so a bad one gets a structured answer; a
        node's config may hold templates, or presets that an agent completes.
        """
        unknown = sorted(set(raw) - set(cls.input_model.model_fields))
        if unknown:
            fields = ", ".join(cls.input_model.model_fields)
            raise ValueError(f"{', '.join(unknown)} not fields of {cls.component_type} (its fields: {fields})")
        return raw

    @classmethod
    def invoke(cls, arguments: dict[str, Any], caller: ToolCaller) -> dict[str, Any]:
        """Validate and run one call; never raises for bad input or a refused change."""
        try:
            data = cls.input_model.model_validate(arguments)
            with savepoint(caller.db):
                result = cls().call(data, caller)
        except ValidationError as exc:
            return from_validation_error(exc)
        except RqflowError as exc:
            return from_domain_error(exc)
        return success(result)

    @abstractmethod
    def call(self, data: Any, caller: ToolCaller) -> Any:
        """Do the work through a service and return a JSON-able result."""

    def run(self, config: Any, context: NodeContext) -> Any:
        """As a workflow step: call as the workflow's owner; a refusal fails the node."""
        if context.db is None or context.user_profile is None:
            raise RuntimeError(f"{self.component_type} needs the workflow's owner and database")
        caller = ToolCaller(db=context.db, owner=context.user_profile, signals=context.signals,
                            workflow_id=context.workflow_id)
        answer = self.invoke(config, caller)
        if not answer["ok"]:
            raise ToolFailed(answer)
        return answer
