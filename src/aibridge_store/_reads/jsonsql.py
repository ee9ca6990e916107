"""Rows → the JSON text Coder's server writes (coder-semantics.md §2.6), for pydantic to parse.

A page is assembled as one JSON document and validated with ``model_validate_json``, which is
several times faster than building the models from Python values one by one.
"""

from __future__ import annotations

import json

_encode = json.encoder.encode_basestring  # type: ignore[attr-defined]


def go_time(column: str) -> str:
    """SQL: RFC 3339 in UTC with microseconds; the models trim trailing zeros when they serialise."""
    return f"strftime({column}, '%Y-%m-%dT%H:%M:%S.%fZ')"


def text(value: str | None) -> str:
    return "null" if value is None else _encode(value)


def metadata(raw: str | None) -> str:
    """A JSON column as Go's ``map[string]any`` decodes it: NULL or JSON null → null, an object
    as is, anything else → ``{}``. (DuckDB's JSON type refuses malformed text on write.)"""
    if raw is None:
        return "null"
    stripped = raw.strip()
    if stripped.startswith("{"):
        return stripped
    return "null" if stripped == "null" else "{}"
