"""Which language-model endpoint an agent node talks to, and with which key.

Keys belong to the operator, and each key is bound to its own provider's URL. The
operator names providers in settings: ``default`` is ``RQFLOW_LLM_BASE_URL`` with
``RQFLOW_LLM_API_KEY`` and ``RQFLOW_LLM_MODEL``; ``RQFLOW_LLM_PROVIDERS`` adds more (a
base URL, a key, the models allowed, optionally the users allowed). A workflow picks a
provider by name and never sees or chooses a key, so no workflow can send one anywhere
but where the operator meant it to go. A node that names its own ``base_url`` instead
sends no key at all, and its requests go through the egress guard like any other
request a user controls.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rqflow.components.agent_loop import Endpoint
from rqflow.settings import Settings

DEFAULT = "default"
PROVIDERS_SETTING = "RQFLOW_LLM_PROVIDERS"


class ProviderRefused(PermissionError):
    """The node names a provider, or a model of it, that its owner may not use."""


@dataclass(frozen=True)
class Provider:
    """One operator-configured endpoint with its key (never shown) and what may be asked of it."""

    name: str
    base_url: str
    api_key: str = field(repr=False)
    models: tuple[str, ...]
    default_model: str
    users: tuple[str, ...] | None  # None: every user

    def endpoint(self, *, model: str | None, timeout: float) -> Endpoint:
        """The endpoint for one node: this provider's URL and key, and a model it offers."""
        chosen = model or self.default_model
        if self.models and chosen not in self.models:
            raise ProviderRefused(f"provider {self.name!r} offers the models {', '.join(self.models)}, not {chosen!r}")
        return Endpoint(base_url=self.base_url, model=chosen, api_key=self.api_key, timeout=timeout)

    def check_user(self, user_name: str) -> None:
        """Refuse an owner the operator did not list for this provider."""
        if self.users is not None and user_name not in self.users:
            raise ProviderRefused(f"provider {self.name!r} is not available to user {user_name!r}")


def providers(settings: Settings) -> dict[str, Provider]:
    """``default`` from the RQFLOW_LLM_* settings, then those of RQFLOW_LLM_PROVIDERS (which may replace it)."""
    found = {DEFAULT: Provider(DEFAULT, settings.llm_base_url, settings.llm_api_key.get_secret_value(), (),
                               settings.llm_model, None)}
    for name, spec in settings.llm_providers.items():
        models = tuple(spec.models)
        found[name] = Provider(name, spec.base_url, spec.api_key.get_secret_value(), models,
                               models[0] if models else settings.llm_model,
                               tuple(spec.users) if spec.users is not None else None)
    return found


def provider_named(name: str, settings: Settings) -> Provider:
    """The provider, or an error listing the ones there are."""
    known = providers(settings)
    if name not in known:
        raise ProviderRefused(f"unknown provider {name!r}; this server has {', '.join(sorted(known))} "
                              f"(the operator adds providers with {PROVIDERS_SETTING})")
    return known[name]


def own_endpoint(base_url: str, *, model: str | None, settings: Settings, timeout: float) -> Endpoint:
    """A node's own endpoint: no key is ever sent there."""
    return Endpoint(base_url=base_url, model=model or settings.llm_model, api_key="", timeout=timeout)
