"""Filter tree → ``(sql, params)`` through a :class:`~.dialect.Dialect`.

User values only ever become bound parameters, numbered in visit order; identifiers only ever come
from the field registry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from .ast import Above, And, AtLeast, AtMost, Below, Contains, Equals, Filter, Glob, Not, Or, StartsWith
from .dialect import DUCKDB, Dialect
from .fields import (
    FIELDS,
    INTERCEPTIONS_TABLE,
    SESSION_COSTS_TABLE,
    SESSIONS_TABLE,
    TOTALS_TABLE,
    Child,
    Coalesce,
    Col,
    Duration,
    Missing,
    SessionFigure,
    Totals,
)


@dataclass(frozen=True, slots=True)
class Compiled:
    sql: str
    params: list[Any]


class Compiler:
    """Renders filter nodes; keeps the parameter list so callers can add their own after."""

    _dispatch: ClassVar[dict[type, Callable[[Compiler, Any], str]]]

    def __init__(
        self, dialect: Dialect = DUCKDB, *, table_alias: str | None = None, totals_row: bool = False,
        session_row: bool = False, params: list[Any] | None = None,
    ) -> None:
        self.dialect = dialect
        self.alias = table_alias
        self.totals_row = totals_row
        """The row is one of the interception totals: their columns are read directly."""
        self.session_row = session_row
        """The row is one of the session rollup's: session figures are read from it directly."""
        self.params: list[Any] = [] if params is None else params
        self._among_others = False
        """Whether the term being compiled is one of several that all must hold."""

    def compile(self, node: Any) -> str:
        return self._dispatch[type(node)](self, node)

    def param(self, value: object) -> str:
        """Bind ``value`` and return SQL that reads it back with the column's type."""
        self.params.append(self.dialect.bind(value))
        return self.dialect.typed(self.dialect.placeholder(len(self.params)), value)

    def in_ids(self, column: str, ids: Sequence[str]) -> str:
        """Whether a UUID ``column`` is one of ``ids`` (UUID text), bound as one value."""
        return self.dialect.in_ids(column, self.param(self.dialect.id_list(ids)))

    def column(self, name: str) -> str:
        quoted = self.dialect.ident(name)
        return f"{self.alias}.{quoted}" if self.alias else quoted

    def visit_And(self, node: And) -> str:
        if not node.items:
            return self.dialect.true
        among, self._among_others = self._among_others, self._among_others or len(node.items) > 1
        try:
            return " AND ".join(self.compile(item) for item in node.items)
        finally:
            self._among_others = among

    def visit_Or(self, node: Or) -> str:
        fields = {item.field for item in node.items if isinstance(item, Equals)}
        if len(fields) == 1 and all(isinstance(item, Equals) for item in node.items):
            # A list of values for one key: one IN test, which engines push into the scan.
            values = [item.value for item in node.items if isinstance(item, Equals)]
            return self._leaf(fields.pop(), lambda target: f"{target} IN ({', '.join(map(self.param, values))})")
        return "(" + " OR ".join(self.compile(item) for item in node.items) + ")"

    def visit_Not(self, node: Not) -> str:
        if _never_null(node.item):
            return f"NOT ({self.compile(node.item)})"
        # What is unknown (the duration of an interception in flight) is not selected by a term,
        # so its negation selects it.
        return f"NOT COALESCE({self.compile(node.item)}, {self.dialect.false})"

    def visit_Glob(self, node: Glob) -> str:
        assert isinstance(node.value, str), "glob patterns are text"
        pattern = node.value
        return self._leaf(node.field, lambda target: self.dialect.glob(target, pattern, self.param))

    def visit_Contains(self, node: Contains) -> str:
        assert isinstance(node.value, str), "searched text is text"
        pattern = self.dialect.contains_pattern(node.value)
        return self._leaf(node.field, lambda target: self.dialect.contains(target, self.param(pattern)))

    def visit_Equals(self, node: Equals) -> str:
        return self._compare(node.field, "=", node.value)

    def visit_AtLeast(self, node: AtLeast) -> str:
        return self._compare(node.field, ">=", node.value)

    def visit_AtMost(self, node: AtMost) -> str:
        return self._compare(node.field, "<=", node.value)

    def visit_Above(self, node: Above) -> str:
        return self._compare(node.field, ">", node.value)

    def visit_Below(self, node: Below) -> str:
        return self._compare(node.field, "<", node.value)

    def visit_StartsWith(self, node: StartsWith) -> str:
        return self._leaf(node.field, lambda target: self.dialect.starts_with(target, self.param(node.value)))

    def visit_Col(self, node: Col) -> str:
        return self.column(node.name)

    def visit_Coalesce(self, node: Coalesce) -> str:
        return self.dialect.coalesce(self.compile(node.column), self.param(node.fallback))

    def visit_Missing(self, node: Missing) -> str:
        return f"({self.compile(node.column)} IS NULL)"

    def visit_Duration(self, node: Duration) -> str:
        return self.dialect.micros_between(self.column("started_at"), self.column("ended_at"))

    def _session(self, target: SessionFigure, test: Callable[[str], str]) -> str:
        """The rows whose (session id, initiator) has a rollup row (a session cost) that passes
        ``test``."""
        ident, column = self.dialect.ident, (self.column if self.session_row else self.dialect.ident)
        outer = f'({self.column("session_id")}, {self.column("initiator_id")})'
        inner = f'{ident("session_id")}, {ident("initiator_id")}'
        if target.name == "cost":
            return f"{outer} IN (SELECT {inner} FROM {ident(SESSION_COSTS_TABLE)} WHERE {test(ident('cost_usd'))})"
        figure = {
            "tokens": " + ".join(column(c) for c in ("input_tokens", "output_tokens", "cache_read_input_tokens",
                                                       "cache_write_input_tokens")),
            "threads": column("threads"),
            "duration": self.dialect.micros_between(column("started_at"), column("ended_at")),
        }[target.name]
        if self.session_row:
            return test(f"({figure})")
        return f"{outer} IN (SELECT {inner} FROM {ident(SESSIONS_TABLE)} WHERE {test(f'({figure})')})"

    def _compare(self, key: str, operator: str, value: object) -> str:
        # The target first, then the value: parameters are numbered in visit order.
        return self._leaf(key, lambda target: f"{target} {operator} {self.param(value)}")

    def _leaf(self, key: str, test: Callable[[str], str]) -> str:
        """``test`` applied to the field's target: on the row itself, or, for what the totals
        and the child rows hold, as the set of interception ids whose rows pass it."""
        target = FIELDS[key].target
        if isinstance(target, SessionFigure):
            return self._session(target, test)
        if isinstance(target, Totals) and self.totals_row:
            return test(self.column(target.column))
        if isinstance(target, Totals):
            rows, ids = TOTALS_TABLE, "id"
        elif isinstance(target, Child):
            rows, ids = target.table, "interception_id"
        else:
            return test(self.compile(target))
        ident = self.dialect.ident
        if self.dialect.probes_index and (isinstance(target, Totals) or self._among_others):
            row_id = self.column("id") if self.alias else f"{ident(INTERCEPTIONS_TABLE)}.{ident('id')}"
            inner = test(f"aibridge_set.{ident(target.column)}")
            return (f"EXISTS (SELECT 1 FROM {ident(rows)} AS aibridge_set "
                    f"WHERE aibridge_set.{ident(ids)} = {row_id} AND {inner})")
        inner = test(ident(target.column))
        return f"{self.column('id')} IN (SELECT {ident(ids)} FROM {ident(rows)} WHERE {inner})"


Compiler._dispatch = {
    cls: getattr(Compiler, f"visit_{cls.__name__}")
    for cls in (And, Or, Not, Equals, Glob, Contains, AtLeast, AtMost, Above, Below, StartsWith, Col, Coalesce,
                Missing, Duration)
}


def _never_null(node: Filter) -> bool:
    """Whether a filter is never NULL: true or false for every row (a plain NOT then negates
    it, which engines push into the scan, unlike the COALESCE that guards a NULL)."""
    if isinstance(node, And | Or):
        return all(_never_null(item) for item in node.items)
    if isinstance(node, Not):
        return _never_null(node.item)
    target = FIELDS[node.field].target
    if isinstance(target, Col):
        return target.never_null
    # A set of ids (totals, child rows, sessions) or a column made whole by COALESCE or IS NULL.
    return not isinstance(target, Duration)


def filter_fields(node: Filter) -> set[str]:
    """The registry fields a filter tree tests."""
    if isinstance(node, And | Or):
        return set().union(*(filter_fields(item) for item in node.items))
    if isinstance(node, Not):
        return filter_fields(node.item)
    return {node.field}


def reads_totals(node: Filter) -> bool:
    """Whether a filter tree tests what the interception totals hold."""
    return any(isinstance(FIELDS[name].target, Totals) for name in filter_fields(node))


def filter_columns(node: Filter) -> set[str]:
    """The interception columns a filter tree reads (``id`` for what the totals and the child
    rows hold, which is looked up by it)."""
    columns: set[str] = set()
    for name in filter_fields(node):
        target = FIELDS[name].target
        if isinstance(target, Coalesce | Missing):
            columns.add(target.column.name)
        elif isinstance(target, Col):
            columns.add(target.name)
        elif isinstance(target, Duration):
            columns |= {"started_at", "ended_at"}
        elif isinstance(target, SessionFigure):
            columns |= {"session_id", "initiator_id"}
        else:
            columns.add("id")
    return columns


def compile_filters(node: Filter, dialect: Dialect = DUCKDB) -> Compiled:
    """Compile a filter tree on its own: ``WHERE``-clause SQL and its parameters."""
    compiler = Compiler(dialect)
    return Compiled(compiler.compile(node), compiler.params)
