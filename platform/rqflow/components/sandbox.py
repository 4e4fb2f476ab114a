"""The Jinja environment node configs are rendered in: Jinja's sandbox, bounded in size.

Jinja's sandbox keeps a template away from Python's internals, but not from the
worker's memory: ``{{ 'a' * 10**9 }}`` or ``{{ '%0999999999d' % 1 }}`` take gigabytes
in under a second. Templates here are written by users, so every way of making a value
much larger than its inputs is bounded by ``RQFLOW_TEMPLATE_MAX_CHARS`` *before* the value
is made:

- expressions only (``{{ ... }}``): no statements, so no loops and no assignments;
- ``*``, ``+`` and ``~`` on text and lists, ``**`` on numbers, ``%`` formatting and the
  ``format`` filter (widths and precisions), ``range``;
- the filters that can amplify (``center``, ``indent``, ``join``, ``replace``, ``batch``,
  ``slice``, ``wordwrap``) check the size they would make;
- methods: text and lists keep only those that cannot grow their input (no ``center``,
  ``ljust``, ``zfill``, ``format``, ``join``, ``replace`` ...), numbers none at all;
- the rendered text of one string stops at the limit (see :mod:`rqflow.components.templates`).

A refusal is a :class:`TemplateTooLarge` (a Jinja ``SecurityError``): the node fails with
it, the worker does not notice. Time is bounded separately, by the node's deadline.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from jinja2 import StrictUndefined
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.nodes import Concat
from jinja2.sandbox import ImmutableSandboxedEnvironment

SETTING = "RQFLOW_TEMPLATE_MAX_CHARS"
MAX_RANGE = 10_000
# A number may have at most this many bits (about 1,200 decimal digits).
MAX_NUMBER_BITS = 4096
TEXT_METHODS = frozenset({
    "lower", "upper", "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith", "endswith",
    "title", "capitalize", "casefold", "swapcase", "isdigit", "isalpha", "isalnum", "isnumeric", "isspace",
    "islower", "isupper", "count", "find", "rfind", "index", "rindex", "partition", "rpartition",
    "removeprefix", "removesuffix",
})
SEQUENCE_METHODS = frozenset({"index", "count"})
MAPPING_METHODS = frozenset({"get", "keys", "values", "items"})
# %-formatting: a conversion's flags, width and precision.
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


class TemplateTooLarge(SecurityError):
    """The template would make a value larger than RQFLOW_TEMPLATE_MAX_CHARS (or use what is not allowed here)."""


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, with every amplifying operation checked against ``max_chars``."""

    intercepted_binops = frozenset({"*", "+", "%", "**"})

    def __init__(self, max_chars: int) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False)
        self.max_chars = max_chars
        self.code_generator_class = _BoundedConcat
        self.globals = {"range": self._range, "dict": dict}
        for name, check in _FILTER_CHECKS.items():
            self.filters[name] = _checked(self.filters[name], check, self)
        self.filters["format"] = self._format

    def bounded(self, size: int, what: str) -> None:
        """Refuse an operation that would make a value of ``size`` characters (or items)."""
        if size > self.max_chars:
            raise TemplateTooLarge(f"{what} would make {size:,} characters or items; the limit is "
                                   f"{self.max_chars:,} ({SETTING})")

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        """Attributes as the sandbox allows them, and only methods that cannot grow their input."""
        if not super().is_safe_attribute(obj, attr, value):
            return False
        if isinstance(obj, (bool, int, float, complex, bytes)):
            return False
        if isinstance(obj, str):
            return attr in TEXT_METHODS
        if isinstance(obj, (list, tuple)):
            return attr in SEQUENCE_METHODS
        if isinstance(obj, dict) and callable(value):
            return attr in MAPPING_METHODS
        return True

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format`` and ``format_map`` (which Jinja lets through before any attribute check) are refused."""
        if super().wrap_str_format(value) is None:
            return None

        def refused(*_args: Any, **_kwargs: Any) -> str:
            raise TemplateTooLarge("str.format is not allowed in templates; use '%' formatting or '~'")

        return refused

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        """``*``, ``+``, ``%`` and ``**`` with the size of their result checked first."""
        if operator == "*":
            self._check_repeat(left, right)
        elif operator == "+" and isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
            self.bounded(len(left) + len(right), "'+'")
        elif operator == "%" and isinstance(left, str):
            self._check_percent(left, right)
        elif operator == "**":
            _check_power(left, right)
        return super().call_binop(context, operator, left, right)

    def bounded_concat(self, parts: Iterable[Any]) -> str:
        """``a ~ b ~ c``: the parts joined as text, once their total size is known to be within the limit."""
        texts = [str(part) for part in parts]
        self.bounded(sum(map(len, texts)), "'~'")
        return "".join(texts)

    def _check_repeat(self, left: Any, right: Any) -> None:
        if isinstance(left, int) and isinstance(right, int):
            if left.bit_length() + right.bit_length() > MAX_NUMBER_BITS:
                raise TemplateTooLarge(f"'*' would make a number of more than {MAX_NUMBER_BITS} bits")
            return
        for sequence, times in ((left, right), (right, left)):
            if isinstance(sequence, (str, list, tuple)) and isinstance(times, int):
                self.bounded(len(sequence) * max(times, 0), "'*'")

    def _check_percent(self, text: str, args: Any) -> None:
        for width, precision in _PERCENT_SPEC.findall(text):
            if "*" in (width, precision):
                raise TemplateTooLarge("'%' formatting with '*' widths is not allowed in templates")
            self.bounded(max(int(width or 0), int(precision or 0)), "a '%' width or precision")
        values = args if isinstance(args, tuple) else (args,)
        self.bounded(len(text) + sum(len(str(value)) for value in values), "'%'")

    def _format(self, value: Any, *args: Any, **kwargs: Any) -> str:
        """The ``format`` filter (``"%s"|format(x)``), with the same checks as ``%``."""
        text = str(value)
        self._check_percent(text, tuple(args) or tuple(kwargs.values()))
        return text % (kwargs or args)

    def _range(self, *args: int) -> range:
        numbers = range(*args)
        self.bounded(len(numbers), "range()")
        if len(numbers) > MAX_RANGE:
            raise TemplateTooLarge(f"range() of more than {MAX_RANGE:,} numbers is not allowed in templates")
        return numbers


def _check_power(base: Any, exponent: Any) -> None:
    growing = isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1 and exponent > 0
    if growing and exponent * math.log2(abs(base)) > MAX_NUMBER_BITS:
        raise TemplateTooLarge(f"'**' would make a number of more than {MAX_NUMBER_BITS} bits")


class _BoundedConcat(CodeGenerator):
    """Compiles ``~`` to :meth:`BoundedEnvironment.bounded_concat` instead of an unchecked join."""

    def visit_Concat(self, node: Concat, frame: Frame) -> None:
        self.write("environment.bounded_concat((")
        for part in node.nodes:
            self.visit(part, frame)
            self.write(", ")
        self.write("))")


# -- the filters that can make more than they are given -----------------------------------------------

SizeCheck = Callable[..., int]


def _text(value: Any) -> str:
    return str(value)


def _joined(items: Any, separator: str = "", attribute: Any = None) -> int:
    texts = [str(item) for item in items]
    return sum(map(len, texts)) + len(str(separator)) * max(len(texts) - 1, 0)


def _replaced(value: Any, old: str, new: str, count: int | None = None) -> int:
    text, old, new = str(value), str(old), str(new)
    found = text.count(old) if old else len(text) + 1
    return len(text) + min(found, count if count is not None and count >= 0 else found) * len(new)


def _indented(value: Any, width: Any = 4, first: bool = False, blank: bool = False) -> int:
    text = str(value)
    pad = len(width) if isinstance(width, str) else int(width)
    return len(text) + (text.count("\n") + 1) * pad


def _wrapped(value: Any, width: int = 79, break_long_words: bool = True, wrapstring: str | None = None,
             break_on_hyphens: bool = True) -> int:
    return len(str(value)) * (1 + len(wrapstring or "\n"))


_FILTER_CHECKS: dict[str, SizeCheck] = {
    "center": lambda value, width=80: max(len(_text(value)), int(width)),
    "indent": _indented,
    "join": _joined,
    "replace": _replaced,
    "wordwrap": _wrapped,
    "batch": lambda value, linecount, fill_with=None: int(linecount) + len(list(value)),
    "slice": lambda value, slices, fill_with=None: int(slices) + len(list(value)),
}


def _checked(filter_function: Callable[..., Any], size: SizeCheck, env: BoundedEnvironment) -> Callable[..., Any]:
    """The filter, refusing a call whose result would be over the limit before making it."""

    @wraps(filter_function)
    def checked(*args: Any, **kwargs: Any) -> Any:
        lead = 1 if args and _is_context(args[0]) else 0
        if len(args) > lead and not isinstance(args[lead], (str, list, tuple, dict)):
            args = (*args[:lead], list(args[lead]), *args[lead + 1:])  # measured and then used: read it once
        env.bounded(size(*args[lead:], **kwargs), f"the {filter_function.__name__} filter")
        return filter_function(*args, **kwargs)

    return checked


def _is_context(value: Any) -> bool:
    """Jinja passes some filters (pass_context, pass_environment) a context or an environment first."""
    return type(value).__name__ in ("Context", "EvalContext", "BoundedEnvironment")
