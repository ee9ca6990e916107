"""The search language's syntax tree and the filter tree it is bound to.

Syntax nodes (:class:`Query`, :class:`KeyTerm`, :class:`BareTerm`) say what was written; filter
nodes (:class:`And`, :class:`Equals`, :class:`AtLeast`, :class:`AtMost`,
:class:`StartsWith`) say what to select and are
what the compiler turns into SQL. Source spans never take part in equality.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class KeyTerm:
    """``key:value`` as written, quotes already trimmed from both ends of each part."""

    key: str
    value: str
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class BareTerm:
    """A term without a key; ``raw`` keeps its quotes (bare terms are joined before trimming)."""

    raw: str
    span: Span | None = field(default=None, compare=False)


Term = KeyTerm | BareTerm


@dataclass(frozen=True, slots=True)
class Query:
    terms: tuple[Term, ...] = ()
    text: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class _Comparison:
    field: str
    value: object


@dataclass(frozen=True, slots=True)
class Equals(_Comparison):
    """``field = value`` (exact, case-sensitive)."""


@dataclass(frozen=True, slots=True)
class AtLeast(_Comparison):
    """``field >= value`` (inclusive lower bound)."""


@dataclass(frozen=True, slots=True)
class AtMost(_Comparison):
    """``field <= value`` (inclusive upper bound)."""


@dataclass(frozen=True, slots=True)
class StartsWith(_Comparison):
    """``field`` begins with ``value``; ``%`` and ``_`` in the value are plain characters."""


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Filter, ...] = ()


Filter = And | Equals | AtLeast | AtMost | StartsWith
