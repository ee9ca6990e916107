"""Coder's pagination parameters: parsing, defaults, limits and their exact errors (§2.2)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from ..errors import PaginationError, Validation
from .._query.filters import parse_go_uuid
from .._query.parser import go_quote

INVALID = "Query parameters have invalid values."
MAX_INT32 = 2**31 - 1
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    offset: int
    after: uuid.UUID | None


def _go_parse_int32(text: str) -> int:
    """``strconv.ParseInt(text, 10, 32)`` with Go's error text."""
    body = text[1:] if text[:1] in "+-" else text
    if not body or not body.isascii() or not body.isdigit():
        raise ValueError(f"strconv.ParseInt: parsing {go_quote(text)}: invalid syntax")
    value = int(text)
    if not -(2**31) <= value <= MAX_INT32:
        raise ValueError(f"strconv.ParseInt: parsing {go_quote(text)}: value out of range")
    return value


def parse_count(name: str, value: int | str | None, errors: list[Validation]) -> int | None:
    """A ``limit``/``offset`` value: an int, or its query-string text; '' and None are absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        errors.append(Validation(name, f"Query param {go_quote(name)} must be a valid 32-bit positive integer: "
                                       f"expected an integer, got {type(value).__name__}"))
        return None
    try:
        number = _go_parse_int32(str(value))
        if number < 0:
            raise ValueError("value is negative")
    except ValueError as e:
        errors.append(Validation(name, f"Query param {go_quote(name)} must be a valid 32-bit positive integer: {e}"))
        return None
    return number


def uuid_argument(value: object) -> uuid.UUID | None:
    """An optional UUID argument: None when absent (None or ''), else a UUID or text in a form
    Go's ``uuid.Parse`` accepts; anything else raises ValueError."""
    if value is None or value == "":
        return None
    if isinstance(value, uuid.UUID):
        return value
    parsed = parse_go_uuid(value) if isinstance(value, str) else None
    if parsed is None:
        raise ValueError(value)
    return parsed


def parse_uuid(name: str, value: object, errors: list[Validation]) -> uuid.UUID | None:
    try:
        return uuid_argument(value)
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
    after_value = parse_uuid(cursor_name, after, errors) if check_after_uuid else after
    limit_value = parse_count("limit", limit, errors)
    offset_value = parse_count("offset", offset, errors) or 0
    if errors:
        raise PaginationError(INVALID, validations=errors)
    if after_value is not None and offset_value != 0:
        raise PaginationError(
            INVALID, detail=f"Cannot use both {cursor_name} and offset pagination in the same request."
        )
    if not limit_value:
        limit_value = DEFAULT_LIMIT
    if not 0 < limit_value <= MAX_LIMIT:
        raise PaginationError(
            "Invalid pagination limit value.", detail="Pagination limit must be in range (0, 1000]"
        )
    return Page(limit_value, offset_value, after_value)  # type: ignore[arg-type]
