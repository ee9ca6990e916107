"""What every read shares: binding ``q`` against the store's users."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

import duckdb

from .._auth import Actor
from .._engines.spark_connection import SparkConnection, SparkCursor
from .._gocompat import as_uuid
from .._query import And, BindContext, Compiler, Endpoint, compile_query_filters
from .._query.dialect import DUCKDB, SQLITE, Dialect
from .._schema import USERS, ident
from . import jsonsql as js
from .memo import ReadMemo

Connection = duckdb.DuckDBPyConnection | sqlite3.Connection | SparkConnection
"""What reads run on: the DuckDB store's connection, a SQLite store's, or a Spark session's."""


def dialect_of(con: Connection) -> Dialect:
    """The SQL dialect of a read connection."""
    if isinstance(con, SparkConnection):
        return con.dialect
    return SQLITE if isinstance(con, sqlite3.Connection) else DUCKDB


def compiler_for(con: Connection, **options: Any) -> Compiler:
    """A compiler in the connection's dialect."""
    return Compiler(dialect_of(con), **options)


def find_user(con: Connection, username: str) -> uuid.UUID | None:
    """A non-deleted user by username, case-insensitively (never by an empty email)."""
    compiler = compiler_for(con)
    row = first_row(
        con,
        f'SELECT "id" FROM {ident(USERS.name)} WHERE lower("username") = lower({compiler.param(username)}) '
        'AND NOT "deleted" ORDER BY "id" LIMIT 1',
        compiler.params,
    )
    return None if row is None else as_uuid(row[0])


def _visible_user(con: Connection, actor: Actor, username: str) -> uuid.UUID | None:
    """A username the actor may name: a member only finds themselves, so that another user's name
    and a name nobody has give the same answer (docs/decisions.md, "Authorisation")."""
    found = find_user(con, username)
    if actor.role == "member" and found != actor.user_id:
        return None
    return found


def resolve_user(con: Connection, user: str | uuid.UUID) -> uuid.UUID | None:
    """A user named by id (in any form Go accepts, stored or not) or by username."""
    try:
        user_id = as_uuid(user)
    except ValueError:
        user_id = None
    return user_id if user_id is not None else find_user(con, str(user))


def bind_filters(
    con: Connection, actor: Actor, q: str, endpoint: Endpoint, strict: bool = False, tz: str = "UTC"
) -> And:
    """The filters ``q`` means for ``endpoint`` (as Coder reads it when ``strict``; days of
    ``started:`` in ``tz``), usernames looked up in the store, with the actor's row scope added."""
    context = BindContext(actor_user_id=actor.user_id, find_user=lambda name: _visible_user(con, actor, name),
                          strict=strict, tz=tz)
    filters = compile_query_filters(q, endpoint, context)
    scope = actor.scope()
    return And((*filters.items, scope)) if scope is not None else filters


def first_row(con: Connection, sql: str, params: Sequence[object] = ()) -> tuple[Any, ...] | None:
    """The first row of a query that returns at most a few, or None; read to the end, since DuckDB
    blocks the connection on a half-read result."""
    rows = con.execute(sql, params).fetchall()
    return rows[0] if rows else None


def one_row(con: Connection, sql: str, params: Sequence[object] = ()) -> tuple[Any, ...]:
    """The single row of an aggregate query (which always returns one)."""
    rows = con.execute(sql, params).fetchall()  # all: DuckDB blocks the connection on a half-read result
    if len(rows) != 1:
        raise AssertionError(f"an aggregate query returned {len(rows)} rows: {sql}")
    return rows[0]


def count(con: Connection, sql: str, params: Sequence[object] = ()) -> int:
    """The number a ``SELECT count(*) ...`` returns."""
    return int(one_row(con, sql, params)[0])


def bind_scope(actor: Actor) -> And:
    """The filters that limit rows to what the actor may read (none for an owner)."""
    scope = actor.scope()
    return And((scope,)) if scope is not None else And(())


Row = TypeVar("Row", bound=tuple[Any, ...])


def _checked(
    cursor: duckdb.DuckDBPyConnection | sqlite3.Cursor | SparkCursor, row: type[Any], *more: str
) -> list[tuple[Any, ...]]:
    """All rows of an executed query whose columns are ``row``'s fields (a NamedTuple), then ``more``."""
    names = tuple(d[0] for d in cursor.description or ())
    fields = (*getattr(row, "_fields", ()), *more)
    if names != fields:
        raise AssertionError(f"{row.__name__}: the query selects {names}, expected {fields}")
    return cursor.fetchall()


def fetch_named(con: Connection, sql: str, params: Sequence[object], row: type[Row]) -> list[Row]:
    """The rows of ``sql`` as ``row`` NamedTuples; the SELECT's column names must be the fields'."""
    return [row(*values) for values in _checked(con.execute(sql, params), row)]


def fetch_counted(
    con: Connection, sql: str, params: Sequence[object], row: type[Row]
) -> tuple[list[Row], int | None]:
    """Like :func:`fetch_named` for a SELECT with one more column, ``total``, the same count on
    every row: the rows and that count (None when there are no rows)."""
    found = _checked(con.execute(sql, params), row, "total")
    return [row(*values[:-1]) for values in found], (int(found[0][-1]) if found else None)


def initiators_json(con: Connection, ids: set[str], memo: ReadMemo | None) -> dict[str, str]:
    """Initiator id → its JSON, remembered; a user without a users row has empty names."""
    known: dict[str, str] = {}
    if memo is not None:
        known = {str(k): str(v) for k, v in memo.known("initiator", list(ids)).items()}
    missing = sorted(ids - known.keys())
    if missing:
        compiler = compiler_for(con)
        user_id = ident("id")
        rows = con.execute(
            f'SELECT {compiler.dialect.text(user_id)}, "username", "name", "avatar_url" FROM {ident(USERS.name)} '
            f"WHERE {compiler.in_ids(user_id, missing)}",
            compiler.params,
        ).fetchall()
        found = {row[0]: js.user(*row) for row in rows}
        for user_id in missing:
            known[user_id] = found.get(user_id) or js.user(user_id, None, None, None)
            if memo is not None:
                memo.put("initiator", user_id, known[user_id])
    return known
