"""Filter tree → ``(sql, params)`` through a :class:`~.dialect.Dialect`.

User values only ever become bound parameters, numbered in visit order; identifiers only ever come
from the field registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from .ast import And, AtLeast, AtMost, Equals, Filter, StartsWith
from .dialect import DUCKDB, Dialect
from .fields import FIELDS, Coalesce, Col


@dataclass(frozen=True, slots=True)
class Compiled:
    sql: str
    params: list[Any]


class Compiler:
    """Renders filter nodes; keeps the parameter list so callers can add their own after."""

    _dispatch: ClassVar[dict[type, Callable[[Compiler, Any], str]]]

    def __init__(self, dialect: Dialect = DUCKDB, *, table_alias: str | None = None) -> None:
        self.dialect = dialect
        self.alias = table_alias
        self.params: list[Any] = []

    def compile(self, node: Any) -> str:
        return self._dispatch[type(node)](self, node)

    def param(self, value: object) -> str:
        """Bind ``value`` and return SQL that reads it back with the column's type."""
        self.params.append(self.dialect.bind(value))
        return self.dialect.typed(self.dialect.placeholder(len(self.params)), value)

    def column(self, name: str) -> str:
        quoted = self.dialect.ident(name)
        return f"{self.alias}.{quoted}" if self.alias else quoted

    def visit_And(self, node: And) -> str:
        if not node.items:
            return self.dialect.true
        return " AND ".join(self.compile(item) for item in node.items)

    def visit_Equals(self, node: Equals) -> str:
        return f"{self._target(node.field)} = {self.param(node.value)}"

    def visit_AtLeast(self, node: AtLeast) -> str:
        return f"{self._target(node.field)} >= {self.param(node.value)}"

    def visit_AtMost(self, node: AtMost) -> str:
        return f"{self._target(node.field)} <= {self.param(node.value)}"

    def visit_StartsWith(self, node: StartsWith) -> str:
        return self.dialect.starts_with(self._target(node.field), self.param(node.value))

    def visit_Col(self, node: Col) -> str:
        return self.column(node.name)

    def visit_Coalesce(self, node: Coalesce) -> str:
        return self.dialect.coalesce(self.compile(node.column), self.param(node.fallback))

    def _target(self, key: str) -> str:
        return self.compile(FIELDS[key].target)


Compiler._dispatch = {
    cls: getattr(Compiler, f"visit_{cls.__name__}")
    for cls in (And, Equals, AtLeast, AtMost, StartsWith, Col, Coalesce)
}


def filter_columns(node: Filter) -> set[str]:
    """The registry columns a filter tree reads."""
    if isinstance(node, And):
        return set().union(*(filter_columns(item) for item in node.items))
    target = FIELDS[node.field].target
    return {target.column.name if isinstance(target, Coalesce) else target.name}


def compile_filters(node: Filter, dialect: Dialect = DUCKDB) -> Compiled:
    """Compile a filter tree on its own: ``WHERE``-clause SQL and its parameters."""
    compiler = Compiler(dialect)
    return Compiled(compiler.compile(node), compiler.params)
