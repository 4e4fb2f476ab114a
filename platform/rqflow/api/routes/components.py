"""``/api/v1/components``: the node types a workflow can use, for editors and agents."""

from __future__ import annotations

from rqflow.api.deps import CurrentUser
from rqflow.api.routing import SlashTolerantRouter
from rqflow.components import load_components
from rqflow.node_types.base import Component
from rqflow.schemas.components import ComponentPublic

router = SlashTolerantRouter(prefix="/api/v1/components", tags=["components"])


@router.get("", response_model=list[ComponentPublic])
def list_components(user: CurrentUser) -> list[ComponentPublic]:
    """Every node type with its palette metadata and config schema, by category then name."""
    classes = sorted(load_components().values(), key=lambda cls: (cls.category, cls.component_type))
    return [component_public(cls) for cls in classes]


def component_public(cls: type[Component]) -> ComponentPublic:
    """One node type as the API shows it."""
    return ComponentPublic(
        component_type=cls.component_type, label=cls.label or cls.component_type, category=cls.category,
        icon=cls.icon, color=cls.color, description=cls.description(), is_trigger=cls.is_trigger, is_tool=cls.is_tool,
        uses_tools=cls.uses_tools, enabled=cls.enabled(), config_schema=cls.config_schema(),
    )
