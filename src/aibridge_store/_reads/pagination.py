"""Coder's pagination parameters: parsing, defaults, limits and their exact errors (docs/semantics.md, "Paging")."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from .._gocompat import as_uuid, go_quote, parse_int32
from .._query import Compiler
from ..errors import PaginationError, Validation

INVALID = "Query parameters have invalid values."


@dataclass(frozen=True, slots=True)
class Limits:
    """A read's page size when none is given, and the largest it accepts."""

    default: int
    maximum: int


LISTING_LIMITS = Limits(default=100, maximum=1000)
"""Interceptions, sessions, models and clients."""
THREAD_LIMITS = Limits(default=50, maximum=200)
"""A session's threads."""


def keyset(compiler: Compiler, keys: Sequence[tuple[str, object]], op: str, *, bounded: bool = False) -> str:
    """SQL selecting the rows past a cursor in an order by several keys (the last one unique):
    ``k1 op v1 OR (k1 = v1 AND (k2 op v2 OR ...))``, ``op`` being ``<`` for a descending order and
    ``>`` for an ascending one. Each value is bound once. ``bounded`` adds ``k1 op= v1`` in front,
    which says the same but lets zone maps skip row groups on the first key alone."""
    bound = [(column, compiler.param(value)) for column, value in keys]
    column, placeholder = bound[-1]
    sql = f"{column} {op} {placeholder}"
    for column, placeholder in reversed(bound[:-1]):
        sql = f"({column} {op} {placeholder} OR ({column} = {placeholder} AND {sql}))"
    if bounded:
        column, placeholder = bound[0]
        sql = f"{column} {op}= {placeholder} AND {sql}"
    return sql


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    offset: int
    after: uuid.UUID | None
    """The cursor of a read whose cursor is an interception id."""
    after_key: str | None = None
    """The cursor of a read whose cursor is text (a session id)."""


def parse_count(name: str, value: int | str | None, errors: list[Validation]) -> int | None:
    """A ``limit``/``offset`` value: an int, or its query-string text; '' and None are absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        errors.append(Validation(name, f"Query param {go_quote(name)} must be a valid 32-bit positive integer: "
                                       f"expected an integer, got {type(value).__name__}"))
        return None
    try:
        number = parse_int32(str(value))
        if number < 0:
            raise ValueError("value is negative")
    except ValueError as e:
        errors.append(Validation(name, f"Query param {go_quote(name)} must be a valid 32-bit positive integer: {e}"))
        return None
    return number


def parse_uuid(name: str, value: object, errors: list[Validation]) -> uuid.UUID | None:
    try:
        return as_uuid(value)
    except ValueError:
        errors.append(Validation(name, f"Query param {go_quote(name)} must be a valid uuid"))
        return None


def parse_page(
    limit: int | str | None,
    offset: int | str | None,
    after: object,
    *,
    cursor_name: str = "after_id",
    check_after_uuid: bool = True,
) -> Page:
    """Parse, check for conflicts, then apply the limit default and range, in Coder's order."""
    errors: list[Validation] = []
    after_id = parse_uuid(cursor_name, after, errors) if check_after_uuid else None
    after_value = after_id if check_after_uuid else after
    limit_value = parse_count("limit", limit, errors)
    offset_value = parse_count("offset", offset, errors) or 0
    if errors:
        raise PaginationError(INVALID, validations=errors)
    if after_value is not None and offset_value != 0:
        raise PaginationError(
            INVALID, detail=f"Cannot use both {cursor_name} and offset pagination in the same request."
        )
    if not limit_value:
        limit_value = LISTING_LIMITS.default
    if not 0 < limit_value <= LISTING_LIMITS.maximum:
        raise PaginationError(
            "Invalid pagination limit value.", detail=f"Pagination limit must be in range (0, {LISTING_LIMITS.maximum}]"
        )
    after_key = None if check_after_uuid or after_value is None else str(after_value)
    return Page(limit_value, offset_value, after_id, after_key)
