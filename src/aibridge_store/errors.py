"""Every exception aibridge_store raises.

::

    AibridgeStoreError                      the one base class
    ├── QueryError (ValueError)             a bad ``q`` search string
    │   ├── QuerySyntaxError                the grammar rejected it: position and caret
    │   └── QueryValidationError            keys or values Coder would refuse
    ├── PaginationError (ValueError)        bad limit / offset / cursor combinations
    ├── NotFoundError (LookupError)         a session (or other single item) that is not there
    ├── ImportDataError                     a bad input row: source, row, column and reason
    └── StorageError                        the database itself (wraps duckdb.Error)
        └── SchemaVersionError              a file written by a newer aibridge_store

Each error mirrors Coder's error body: ``message`` (Coder's headline), ``detail`` and
``validations`` (a list of ``(field, detail)`` pairs, Coder's wording). ``str(e)`` is for people,
the attributes are for programs, and :meth:`AibridgeStoreError.to_response` returns the JSON body
Coder's server would send.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Validation:
    """One ``{"field", "detail"}`` pair of a Coder error response."""

    field: str
    detail: str


class AibridgeStoreError(Exception):
    """Base class of every error raised by aibridge_store."""

    def __init__(
        self,
        message: str,
        *,
        detail: str = "",
        validations: Sequence[Validation] = (),
    ) -> None:
        self.message = message
        self.detail = detail
        self.validations = list(validations)
        super().__init__(self._render())

    def _render(self) -> str:
        lines = [self.message]
        if self.detail:
            lines.append(self.detail)
        lines.extend(f"{v.field}: {v.detail}" for v in self.validations)
        return "\n".join(lines)

    def to_response(self) -> dict[str, object]:
        """The error body Coder's server returns for the same failure."""
        body: dict[str, object] = {"message": self.message}
        if self.detail:
            body["detail"] = self.detail
        if self.validations:
            body["validations"] = [
                {"field": v.field, "detail": v.detail} for v in self.validations
            ]
        return body


class QueryError(AibridgeStoreError, ValueError):
    """The ``q`` search string cannot be used. ``start`` and ``end`` (0-based offsets) say where,
    when one place is to blame; ``hint`` says what was probably meant. ``str(e)`` shows both under
    Coder's message and validations; :meth:`to_response` keeps Coder's body, without them."""

    def __init__(
        self,
        message: str,
        *,
        query: str = "",
        detail: str = "",
        validations: Sequence[Validation] = (),
        start: int | None = None,
        end: int | None = None,
        hint: str = "",
    ) -> None:
        self.query = query
        self.start = start
        self.end = end
        self.hint = hint
        super().__init__(message, detail=detail, validations=validations)

    @property
    def line(self) -> int:
        return self.query.count("\n", 0, self.start or 0) + 1

    @property
    def column(self) -> int:
        start = self.start or 0
        return start - (self.query.rfind("\n", 0, start) + 1) + 1

    def _render(self) -> str:
        text = super()._render()
        if self.start is not None:
            line_start = self.query.rfind("\n", 0, self.start) + 1
            line_end = self.query.find("\n", self.start)
            shown = self.query[line_start : None if line_end < 0 else line_end]
            width = max(1, (self.end or self.start + 1) - self.start)
            caret = " " * (self.start - line_start) + "^" * min(width, len(shown) + 1)
            text = f"{text}\n  {shown}\n  {caret}\n(line {self.line}, column {self.column})"
        return f"{text}\nhint: {self.hint}" if self.hint else text


class QuerySyntaxError(QueryError):
    """The grammar rejected the query; ``start`` is the 0-based offset of the problem."""


class QueryValidationError(QueryError):
    """Keys or values of the query that Coder would refuse; ``validations`` lists them all, and
    ``start``/``end`` point at the term of the first."""


class PaginationError(AibridgeStoreError, ValueError):
    """A bad ``limit``, ``offset`` or cursor, or a cursor/offset combination."""


class NotFoundError(AibridgeStoreError, LookupError):
    """The requested item does not exist or the actor may not see it."""


class ImportDataError(AibridgeStoreError):
    """An input file or table could not be imported; nothing of the call was kept."""

    def __init__(
        self,
        reason: str,
        *,
        source: str,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.source = source
        self.row = row
        self.column = column
        self.reason = reason
        where = source
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {reason}")


class SqlError(AibridgeStoreError, ValueError):
    """SQL given to :meth:`~aibridge_store.Store.sql` that is not one query, or that DuckDB
    refuses (its message says where)."""


class ReportError(AibridgeStoreError, ValueError):
    """A report asked with arguments it cannot take (an unknown grouping, bucket or time zone)."""


class StorageError(AibridgeStoreError):
    """The database could not be opened, read or written."""


class SchemaVersionError(StorageError):
    """The database file was written by a newer version of aibridge_store."""


__all__ = [
    "AibridgeStoreError",
    "ImportDataError",
    "NotFoundError",
    "PaginationError",
    "QueryError",
    "QuerySyntaxError",
    "QueryValidationError",
    "ReportError",
    "SchemaVersionError",
    "SqlError",
    "StorageError",
    "Validation",
]
