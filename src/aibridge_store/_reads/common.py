"""What every read shares: binding ``q`` against the store's users."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

import duckdb

from .._auth import Actor
from .._query import And, BindContext, Endpoint, compile_query_filters
from .._schema import USERS, ident


def find_user(con: duckdb.DuckDBPyConnection, username: str) -> uuid.UUID | None:
    """A non-deleted user by username, case-insensitively (never by an empty email)."""
    row = con.execute(
        f'SELECT "id" FROM {ident(USERS.name)} WHERE lower("username") = lower($1) AND NOT "deleted" '
        'ORDER BY "id" LIMIT 1',
        [username],
    ).fetchone()
    return row[0] if row else None


def bind_filters(con: duckdb.DuckDBPyConnection, actor: Actor, q: str, endpoint: Endpoint) -> And:
    """The filters ``q`` means for ``endpoint``, usernames looked up in the store, with the
    actor's row scope added."""
    context = BindContext(actor_user_id=actor.user_id, find_user=lambda name: find_user(con, name))
    filters = compile_query_filters(q, endpoint, context)
    scope = actor.scope()
    return And((*filters.items, scope)) if scope is not None else filters


Row = TypeVar("Row", bound=tuple[Any, ...])


def fetch_named(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object], row: type[Row]) -> list[Row]:
    """The rows of ``sql`` as ``row`` NamedTuples; the SELECT's column names must be the fields'."""
    cursor = con.execute(sql, params)
    names = tuple(d[0] for d in cursor.description or ())
    if names != row._fields:  # type: ignore[attr-defined]  # every NamedTuple has _fields
        raise AssertionError(f"{row.__name__}: the query selects {names}, the row has {row._fields}")  # type: ignore[attr-defined]
    return [row._make(values) for values in cursor.fetchall()]  # type: ignore[attr-defined]
