"""Rows → the JSON text Coder's server writes (see docs/semantics.md, "JSON"), for pydantic to parse.

Every read builds its response the same way: one JSON document, each object filled from a
:func:`template` with values already encoded by the helpers below, then validated with
``model_validate_json``, which is several times faster than building the models from Python
values one by one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

_encode = json.encoder.encode_basestring


def template(*keys: str) -> str:
    """``{"key":%s,...}``: an object whose values are filled in already encoded."""
    return "{" + ",".join(f'"{key}":%s' for key in keys) + "}"


def text(value: str | None) -> str:
    return "null" if value is None else _encode(value)


def number(value: int) -> str:
    return str(int(value))


def flag(value: bool) -> str:
    return "true" if value else "false"


def array(items: Iterable[str]) -> str:
    """A JSON array of already-encoded items."""
    return "[" + ",".join(items) + "]"


def value(data: Any) -> str:
    """Any JSON-able Python value (lists of names, merged counters)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def names(data: list[str] | str) -> str:
    """A list of names: a list, or JSON text of one (as SQLite stores it)."""
    return value(json.loads(data) if isinstance(data, str) else data)


def metadata(raw: str | None) -> str:
    """A JSON column as Go's ``map[string]any`` decodes it: NULL or JSON null → null, an object
    as is, anything else → ``{}``. (DuckDB's JSON type refuses malformed text on write.)"""
    if raw is None:
        return "null"
    stripped = raw.strip()
    if stripped.startswith("{"):
        return stripped
    return "null" if stripped == "null" else "{}"


def metadata_object(raw: str | None) -> str:
    """Metadata where Coder always writes an object: NULL and anything else but an object → ``{}``."""
    encoded = metadata(raw)
    return "{}" if encoded == "null" else encoded


_USER = template("id", "username", "name", "avatar_url")


def user(user_id: str, username: str | None, name: str | None, avatar_url: str | None) -> str:
    """An initiator; a user without a users row has empty names."""
    return _USER % (text(user_id), text(username or ""), text(name or ""), text(avatar_url or ""))
