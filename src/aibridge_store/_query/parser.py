"""Text → syntax tree. Lark's exceptions stop here and come out as :class:`QuerySyntaxError`."""

from __future__ import annotations

from typing import Any

from lark import Token, Transformer, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
)
from lark.tree import Meta

from .._gocompat import go_quote, go_trim_quotes
from ..errors import QuerySyntaxError, Validation
from .ast import AllOf, AnyOf, BareTerm, KeyTerm, Node, NotGroup, Query, Span, Term
from .grammar import search_parser


def parse_query(text: str, *, message: str = "Invalid search query.", extended: bool = False) -> Query:
    """Parse a ``q`` string into a :class:`Query`; raise :class:`QuerySyntaxError` if malformed.
    ``extended``: a query with groups or ``OR`` gets its :attr:`Query.tree`; any other is read
    as Coder reads it."""
    if not isinstance(text, str):
        raise QuerySyntaxError(
            message,
            detail=f"the query must be a string, not {type(text).__name__}",
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise QuerySyntaxError(
            message,
            query=text,
            validations=[Validation("q", "the query is not valid UTF-8 text (it holds a lone surrogate)")],
            start=e.start,
            end=e.end,
        ) from None
    if extended:
        grouped = _grouped(text)
        if grouped is not None:
            return grouped
    try:
        tree = search_parser().parse(text, start="start")
    except UnexpectedInput as e:
        raise _syntax_error(text, e, message) from None
    terms = _Reader().transform(tree)
    return Query(terms=tuple(terms), text=text)


def _grouped(text: str) -> Query | None:
    """The query as the extended grammar reads it, when it parses there and has a group or an
    ``OR``; None otherwise."""
    try:
        parsed = search_parser().parse(text.rstrip(" "), start="extended")
    except UnexpectedInput:
        return None
    reader = _Reader()
    node = reader.transform(parsed)
    if not reader.grouped:
        return None
    return Query(terms=tuple(_leaves(node)), text=text, tree=node)


def _leaves(node: Node) -> list[Term]:
    if isinstance(node, AllOf | AnyOf):
        return [term for item in node.items for term in _leaves(item)]
    if isinstance(node, NotGroup):
        return _leaves(node.item)
    return [node]


def _span(meta: Meta) -> Span:
    return Span(meta.start_pos, meta.end_pos)


@v_args(meta=True)
class _Reader(Transformer[Token, Any]):
    """Both of the grammar's readings: Coder's (``start``: the terms in order) and the extended
    one (``extended``: the tree of groups), which share the rules of terms."""

    grouped = False
    """Whether the query has a group or an ``OR`` (even a group around one term)."""

    def start(self, meta: Meta, children: list[Term]) -> list[Term]:
        return children

    def text(self, meta: Meta, tokens: list[Token]) -> tuple[str, Span]:
        return "".join(tokens), _span(meta)

    def key_term(self, meta: Meta, children: list[tuple[str, Span] | Token]) -> KeyTerm:
        key, _colons, value = children
        assert isinstance(key, tuple) and isinstance(value, tuple), "key and value are text nodes"
        return KeyTerm(go_trim_quotes(key[0]), go_trim_quotes(value[0]), _span(meta))

    def bare_term(self, meta: Meta, children: list[tuple[str, Span]]) -> BareTerm:
        raw, span = children[0]
        return BareTerm(raw, span)

    def extended(self, meta: Meta, children: list[Node]) -> Node:
        return children[0]

    def any_of(self, meta: Meta, children: list[Node]) -> Node:
        if len(children) == 1:
            return children[0]
        self.grouped = True
        return AnyOf(tuple(children))

    def all_of(self, meta: Meta, children: list[Node]) -> Node:
        return children[0] if len(children) == 1 else AllOf(tuple(children))

    def group(self, meta: Meta, children: list[Node | Token]) -> Node:
        self.grouped = True
        (inner,) = [c for c in children if not isinstance(c, Token)]
        return inner

    def not_group(self, meta: Meta, children: list[Node | Token]) -> Node:
        self.grouped = True
        (inner,) = [c for c in children if not isinstance(c, Token)]
        return NotGroup(inner)


def element_at(text: str, position: int) -> tuple[int, int]:
    """The (start, end) of the space-separated element at ``position``, quotes respected."""
    start, quoted = 0, False
    for i, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char == " " and not quoted:
            if i >= position and i > start:
                return start, i
            start = i + 1
    return start, len(text)


def _syntax_error(text: str, error: UnexpectedInput, message: str) -> QuerySyntaxError:
    position = error.pos_in_stream if error.pos_in_stream is not None else len(text)
    if isinstance(error, UnexpectedEOF) or (
        isinstance(error, UnexpectedToken) and error.token.type == "$END"
    ):
        position = len(text)
    position = min(position, len(text))
    # The element the parser stopped in: an unexpected space or end closes the element before it.
    probe = position - 1 if position == len(text) or text[position : position + 1] == " " else position
    start, end = element_at(text, max(probe, 0))
    while end > start and text[end - 1] == " ":
        end -= 1
    element = text[start:end]
    if element.startswith(":") or element.endswith(":"):
        detail = f"Query element {go_quote(element)} cannot start or end with ':'"
    elif isinstance(error, UnexpectedCharacters):
        detail = f"Query element {go_quote(element)} cannot be read at this character"
    else:
        detail = f"Query element {go_quote(element)} can only contain 1 ':'"
    hint = ""
    if element.count(":") > 1 and not element.startswith(":"):
        key = go_trim_quotes(element.split(":", 1)[0])
        hint = f"quote values that contain ':', as in {key}:\"{element.split(':', 1)[1].strip(':')}\""
    return QuerySyntaxError(
        message,
        query=text,
        validations=[Validation("q", detail)],
        start=position,
        end=position + 1,
        hint=hint,
    )
