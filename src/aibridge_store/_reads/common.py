"""What every read shares: binding ``q`` against the store's users."""

from __future__ import annotations

import uuid

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


def bind_context(con: duckdb.DuckDBPyConnection, actor: Actor, q: str, endpoint: Endpoint) -> And:
    context = BindContext(actor_user_id=actor.user_id, find_user=lambda name: find_user(con, name))
    return compile_query_filters(q, endpoint, context)
