"""How filter SQL is spelled in each engine: the seam that lets one filter tree run elsewhere.

A dialect quotes identifiers, writes parameter placeholders and converts the few typed values
(UUIDs, instants) to what its driver binds. The compiler asks; it never writes engine syntax itself.
"""

from __future__ import annotations

import uuid

from .._gocompat import GoTime


class Dialect:
    """The DuckDB spelling, and the base the others adjust."""

    name = "duckdb"
    true = "TRUE"

    def ident(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def placeholder(self, index: int) -> str:
        return f"${index}"

    def bind(self, value: object) -> object:
        if isinstance(value, GoTime):
            return value.micros
        return value

    def typed(self, placeholder: str, value: object) -> str:
        """SQL reading a bound value back as the column's type."""
        if isinstance(value, GoTime):
            return f"make_timestamptz({placeholder})"
        return placeholder

    def coalesce(self, *args: str) -> str:
        return f"COALESCE({', '.join(args)})"

    def starts_with(self, subject: str, prefix: str) -> str:
        return f"starts_with({subject}, {prefix})"


class SQLiteDialect(Dialect):
    """SQLite: instants stored as integer microseconds, UUIDs as lower-case text."""

    name = "sqlite"
    true = "1"

    def placeholder(self, index: int) -> str:
        return f"?{index}"

    def bind(self, value: object) -> object:
        if isinstance(value, uuid.UUID):
            return str(value)
        return super().bind(value)

    def typed(self, placeholder: str, value: object) -> str:
        return placeholder

    def starts_with(self, subject: str, prefix: str) -> str:
        return f"substr({subject}, 1, length({prefix})) = {prefix}"


class SparkDialect(Dialect):
    """Spark SQL: backquoted identifiers, named parameters, ``timestamp_micros``."""

    name = "spark"

    def ident(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def placeholder(self, index: int) -> str:
        return f":p{index}"

    def bind(self, value: object) -> object:
        if isinstance(value, uuid.UUID):
            return str(value)
        return super().bind(value)

    def typed(self, placeholder: str, value: object) -> str:
        if isinstance(value, GoTime):
            return f"timestamp_micros({placeholder})"
        return placeholder

    def starts_with(self, subject: str, prefix: str) -> str:
        return f"startswith({subject}, {prefix})"


DUCKDB = Dialect()
SQLITE = SQLiteDialect()
SPARK = SparkDialect()
DIALECTS = {d.name: d for d in (DUCKDB, SQLITE, SPARK)}
