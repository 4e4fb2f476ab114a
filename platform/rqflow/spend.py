"""What a run spends on language models: tokens and their cost, and the budget that bounds them.

Every model call's ``usage`` (as the chat-completions endpoint reports it) becomes a
:class:`ModelCall`, priced from the operator's table (RQFLOW_LLM_PRICES, US dollars per
million input and output tokens; a model not in it costs 0 and is marked unpriced). A
run's calls add up in a :class:`Spend`, per node and for the whole run. A
:class:`RunBudget` is checked before each call: the call may not start once the run has
spent its budget, nor when the largest call so far, made once more, would take it past.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rqflow.settings import LlmPrice

# A count larger than this in an endpoint's usage is not believed (and is stored as this).
MAX_TOKENS_PER_CALL = 100_000_000


class BudgetExceeded(RuntimeError):
    """The run's budget (max_budget_per_run_usd or max_tokens_per_run) does not allow another model call."""

    retryable = False  # trying again would spend more of what is already gone


@dataclass(frozen=True)
class ModelCall:
    """One model call's tokens and what they cost."""

    model: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: float
    priced: bool

    def stored(self) -> dict[str, Any]:
        return {"model": self.model, "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "total_tokens": self.total_tokens, "cost_usd": self.cost_usd, "priced": self.priced}


def model_call(usage: Any, model: str, prices: dict[str, LlmPrice]) -> ModelCall:
    """The call an endpoint's ``usage`` object describes (missing or malformed counts are 0), priced."""
    prompt, completion = _count(usage, "prompt_tokens"), _count(usage, "completion_tokens")
    total = _count(usage, "total_tokens") or prompt + completion
    price = prices.get(model)
    cost = (prompt * price.input_per_million_usd + completion * price.output_per_million_usd) / 1e6 if price else 0.0
    return ModelCall(model, prompt, completion, total, round(cost, 10), price is not None)


def _count(usage: Any, key: str) -> int:
    value = usage.get(key) if isinstance(usage, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return 0
    return min(value, MAX_TOKENS_PER_CALL)


@dataclass
class Spend:
    """Calls and their totals, as they add up."""

    tokens: int = 0
    cost_usd: float = 0.0
    calls: list[ModelCall] = field(default_factory=list)

    def add(self, call: ModelCall) -> None:
        self.calls.append(call)
        self.tokens += call.total_tokens
        self.cost_usd = round(self.cost_usd + call.cost_usd, 10)

    def absorb(self, other: Spend) -> None:
        """Add another's totals (a node's, to its run's)."""
        self.tokens += other.tokens
        self.cost_usd = round(self.cost_usd + other.cost_usd, 10)

    @property
    def totals(self) -> tuple[int, float]:
        """``(tokens, US dollars)``, as the rows store them."""
        return self.tokens, self.cost_usd

    def summary(self) -> dict[str, Any]:
        """What a node's output shows of it."""
        return {"total_tokens": self.tokens, "cost_usd": self.cost_usd, "calls": [c.stored() for c in self.calls]}


@dataclass
class RunBudget:
    """The most a run may spend, what it has spent (across its nodes and attempts), and its largest call."""

    max_usd: float | None = None
    max_tokens: int | None = None
    spent_usd: float = 0.0
    spent_tokens: int = 0
    largest_usd: float = 0.0
    largest_tokens: int = 0

    def record(self, call: ModelCall) -> None:
        self.spent_usd = round(self.spent_usd + call.cost_usd, 10)
        self.spent_tokens += call.total_tokens
        self.largest_usd = max(self.largest_usd, call.cost_usd)
        self.largest_tokens = max(self.largest_tokens, call.total_tokens)

    def check_next(self) -> None:
        """Raise BudgetExceeded if the next call could take the run past its budget."""
        if self.max_usd is not None and (self.spent_usd >= self.max_usd
                                         or self.spent_usd + self.largest_usd > self.max_usd):
            raise BudgetExceeded(self._said("max_budget_per_run_usd", f"${self.max_usd:g}"))
        if self.max_tokens is not None and (self.spent_tokens >= self.max_tokens
                                            or self.spent_tokens + self.largest_tokens > self.max_tokens):
            raise BudgetExceeded(self._said("max_tokens_per_run", f"{self.max_tokens:,} tokens"))

    def _said(self, field_name: str, limit: str) -> str:
        return (f"budget exceeded: the run spent ${self.spent_usd:.6f} and {self.spent_tokens:,} tokens; another "
                f"model call could pass its {field_name} of {limit}")
