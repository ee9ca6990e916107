"""The search language's syntax tree and the filter tree it is bound to.

Syntax nodes (:class:`Query`, :class:`KeyTerm`, :class:`BareTerm`) say what was written; filter
nodes (:class:`And`, :class:`Or`, :class:`Not`, :class:`Equals`, :class:`Glob`, :class:`AtLeast`,
:class:`AtMost`, :class:`Above`, :class:`Below`, :class:`StartsWith`, :class:`Contains`) say what to
select and are what the compiler turns into SQL.
Source spans never take part in equality.
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
class AllOf:
    """Terms or groups written side by side (the extended language's AND)."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """Terms or groups joined by ``OR``."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class NotGroup:
    """``-( ... )``."""

    item: Node


Node = Term | AllOf | AnyOf | NotGroup


@dataclass(frozen=True, slots=True)
class Query:
    """``terms`` as written, in order; ``tree`` their grouping, for a query of the extended
    language that uses groups or ``OR`` (None: the terms are ANDed, as Coder reads them)."""

    terms: tuple[Term, ...] = ()
    text: str = field(default="", compare=False)
    tree: Node | None = None


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
class Above(_Comparison):
    """``field > value``."""


@dataclass(frozen=True, slots=True)
class Below(_Comparison):
    """``field < value``."""


@dataclass(frozen=True, slots=True)
class Contains(_Comparison):
    """``value`` occurs in ``field``, ignoring case; ``%`` and ``_`` are plain characters."""


@dataclass(frozen=True, slots=True)
class Glob(_Comparison):
    """``field`` matches ``value``, in which ``*`` stands for any text (none too) and every other
    character for itself; case-sensitive, as exact matches are."""


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Filter, ...] = ()


@dataclass(frozen=True, slots=True)
class Or:
    """Any of ``items`` (never empty)."""

    items: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Filter


Filter = And | Or | Not | Equals | Glob | AtLeast | AtMost | Above | Below | StartsWith | Contains
