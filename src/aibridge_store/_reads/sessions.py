"""``GET /api/v2/aibridge/sessions`` (docs/semantics.md, "Sessions").

Sessions are (session_id, initiator_id) groups of ended interceptions. The per-session details
(providers, models, client, metadata, tokens, last prompt) always cover the whole session and
come from the session rollup. The page aggregates (started_at, ended_at, threads,
last_active_at) cover the interceptions that match the filters: with no filters but the
initiator or the session id, which select whole sessions, they are the rollup's too; otherwise
they are computed from the matching interceptions.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any, NamedTuple

import duckdb

from .._auth import LOCAL_ADMIN, Actor
from .._gocompat import as_uuid, go_quote
from .._query import SESSIONS_SEARCH as ENDPOINT
from .._query import And, Compiler, Equals, filter_fields
from .._query.dialect import Dialect
from .._query.fields import SESSION_COSTS_TABLE, SESSION_KEYS
from .._schema import INTERCEPTIONS, LAST_PROMPT_AT, SESSION_ROLLUP, USERS, ident
from ..errors import PaginationError, QueryError, Validation
from ..models import SessionsPage
from . import jsonsql as js
from .common import (
    Connection,
    bind_filters,
    bind_scope,
    compiler_for,
    count,
    fetch_counted,
    fetch_named,
    first_row,
)
from .memo import ReadMemo
from .pagination import INVALID, keyset, parse_page

_R = ident(SESSION_ROLLUP)
_WHOLE_SESSION_KEYS = frozenset({"initiator", "session_id", *SESSION_KEYS})


def list_sessions(
    con: Connection,
    q: str,
    *,
    limit: int | str | None,
    offset: int | str | None,
    after_session_id: str | None,
    after_initiator_id: object = None,
    actor: Actor | None,
    memo: ReadMemo | None = None,
    strict: bool = False,
    session_costs: Callable[[Connection], object] | None = None,
) -> SessionsPage:
    """``session_costs`` gives each session's cost (an Arrow table of ``session_id``,
    ``initiator_id`` and ``cost_usd``) for queries that test ``session.cost``."""
    actor = actor or LOCAL_ADMIN
    page = parse_page(limit, offset, after_session_id, cursor_name="after_session_id", check_after_uuid=False)
    initiator = _cursor_initiator(after_initiator_id, page.after_key)
    filters = bind_filters(con, actor, q, ENDPOINT, strict)
    source = _Rollup(filters) if _selects_whole_sessions(filters) else _Groups(filters)
    with _costs_for(con, filters, session_costs):
        cursor = None
        if page.after_key:
            cursor = _cursor_position(con, source, page.after_key, initiator, actor)
        known = None if memo is None else memo.known("sessions count", [filters]).get(filters)
        count, rows = source.page(con, cursor, page.limit, page.offset, None if known is None else int(str(known)))
    if memo is not None:
        memo.put("sessions count", filters, count)
    return SessionsPage.model_validate_json(_PAGE % (js.number(count), js.array(map(_session_json, rows))))


@contextmanager
def _costs_for(
    con: Connection, filters: And, session_costs: Callable[[Connection], object] | None
) -> Iterator[None]:
    """The session costs, under their registry name, while a query that tests them runs."""
    if "session.cost" not in filter_fields(filters):
        yield
        return
    if session_costs is None:
        raise QueryError("session.cost needs prices: query the sessions through a Store")
    costs = session_costs(con)
    if isinstance(con, sqlite3.Connection):
        with _sqlite_costs(con, costs):
            yield
        return
    if not isinstance(con, duckdb.DuckDBPyConnection):
        raise QueryError("session.cost is answered by a Store's own engines, not on Spark")
    con.register(SESSION_COSTS_TABLE, costs)
    try:
        yield
    finally:
        with suppress(duckdb.Error):  # an aborted read transaction drops it with itself
            con.unregister(SESSION_COSTS_TABLE)


@contextmanager
def _sqlite_costs(con: sqlite3.Connection, costs: Any) -> Iterator[None]:
    """The costs as a temporary table (SQLite has no Arrow scan), compared as REAL."""
    table = ident(SESSION_COSTS_TABLE)
    con.execute(f'CREATE TEMP TABLE {table} ("session_id" TEXT, "initiator_id" TEXT, "cost_usd" REAL)')
    try:
        rows = zip(*(costs.column(name).to_pylist() for name in ("session_id", "initiator_id", "cost_usd")),
                   strict=True)
        con.executemany(f"INSERT INTO temp.{table} VALUES (?, ?, ?)",
                        ((s, str(i), None if c is None else float(c)) for s, i, c in rows))
        yield
    finally:
        con.execute(f"DROP TABLE temp.{table}")


def _selects_whole_sessions(filters: And) -> bool:
    """Whether the filters test only what all of a session's interceptions share (its id and
    initiator): the rollup's rows then answer."""
    return filter_fields(filters) <= _WHOLE_SESSION_KEYS


def _cursor_initiator(value: object, session_id: str | None) -> uuid.UUID | None:
    try:
        initiator = as_uuid(value)
    except ValueError:
        raise PaginationError(INVALID, validations=[
            Validation("after_initiator_id", 'Query param "after_initiator_id" must be a valid uuid')
        ]) from None
    if initiator is not None and not session_id:
        raise PaginationError(INVALID, detail="after_initiator_id needs after_session_id.")
    return initiator


class _Cursor(NamedTuple):
    """A position in the sessions order (``last_active_at DESC, session_id DESC, initiator_id DESC``)."""

    last_active_at: datetime | str
    """As the engine returns it: a datetime, or SQLite's ISO text."""
    session_id: str
    initiator_id: uuid.UUID


def _cursor_position(
    con: Connection, source: _Source, session_id: str, initiator: uuid.UUID | None, actor: Actor
) -> _Cursor:
    """Where the cursor session sits in this query's order (docs/decisions.md, "Sessions cursor").

    The position is the session's row as this query computes it, so that a walk following the
    cursors never repeats or skips a row. A session the filters leave out sits where its unfiltered
    row would. Only sessions the actor may read count. With a session id alone, a session id
    that several users share resolves to the first of their sessions in page order."""
    found = source.position(con, session_id, initiator)
    if found is None:
        found = _Rollup(bind_scope(actor)).position(con, session_id, initiator)
    if found is None:
        named = f"session {go_quote(session_id)}" + (f" of initiator {initiator}" if initiator else "")
        raise PaginationError(
            "Query parameter has invalid value.", detail=f"after_session_id: {named} not found"
        )
    return found


def _before_cursor(compiler: Compiler, table: str, cursor: _Cursor | None) -> str:
    if cursor is None:
        return ""
    keys = [(f'{table}."last_active_at"', cursor.last_active_at), (f'{table}."session_id"', cursor.session_id),
            (f'{table}."initiator_id"', cursor.initiator_id)]
    return " AND " + keyset(compiler, keys, "<")


class _SessionRow(NamedTuple):
    session_id: str
    initiator_id: str
    username: str | None
    name: str | None
    avatar_url: str | None
    providers: list[str] | str
    """A list, or SQLite's JSON text of one."""
    models: list[str] | str
    client: str | None
    metadata: str | None
    input_tokens: int
    output_tokens: int
    cache_read_input_tokens: int
    cache_write_input_tokens: int
    last_prompt: str | None
    started_at: str
    ended_at: str | None
    last_active_at: str
    threads: int


def _details(d: Dialect) -> str:
    return (
        f'{d.text("r.initiator_id")} AS initiator_id, u."username", u."name", u."avatar_url", '
        f'r."providers", r."models", r."client", {d.text("r.metadata")} AS metadata, r."input_tokens", '
        'r."output_tokens", r."cache_read_input_tokens", r."cache_write_input_tokens", r."last_prompt"'
    )


_ORDER = 'g."last_active_at" DESC, g."session_id" DESC, g."initiator_id" DESC'


def _page_sql(source: str, where: str, compiler: Compiler, limit: int, offset: int, *, rollup: bool) -> str:
    """Rows of one page: ``source`` (alias g) gives the page aggregates, the rollup (r) the rest.

    The page is chosen first; details and users are joined for its rows only. When the source is
    the ``rollup`` itself, its rows already carry the details.
    """
    page = (f"SELECT * FROM {source} AS g WHERE {where} ORDER BY {_ORDER} "
            f"LIMIT {compiler.param(limit)} OFFSET {compiler.param(offset)}")
    if rollup:
        rows = f"({page}) AS r"
        alias = "r"
    else:
        same = 'r."session_id" = g."session_id" AND r."initiator_id" = g."initiator_id"'
        rows = f"({page}) AS g JOIN {_R} AS r ON {same}"
        alias = "g"
    d = compiler.dialect
    return f"""
        SELECT {alias}."session_id", {_details(d)},
               {d.go_time(f'{alias}."started_at"')} AS started_at, {d.go_time(f'{alias}."ended_at"')} AS ended_at,
               {d.go_time(f'{alias}."last_active_at"')} AS last_active_at, {alias}."threads"
        FROM {rows}
        LEFT JOIN {ident(USERS.name)} AS u ON u."id" = r."initiator_id"
        ORDER BY {_ORDER.replace('g.', f'{alias}.')}
    """


class _Rollup:
    """Sessions straight from the rollup: the filters select whole sessions (initiator, session
    id, the actor's scope), so the rollup's aggregates are the page's."""

    def __init__(self, filters: And) -> None:
        self.filters = filters

    def page(
        self, con: Connection, cursor: _Cursor | None, limit: int, offset: int, total: int | None
    ) -> tuple[int, list[_SessionRow]]:
        if total is None:
            compiler = compiler_for(con, table_alias="r", session_row=True)
            sql = f"SELECT count(*) FROM {_R} AS r WHERE {compiler.compile(self.filters)}"
            total = count(con, sql, compiler.params)
        compiler = compiler_for(con, table_alias="g", session_row=True)
        where = compiler.compile(self.filters) + _before_cursor(compiler, "g", cursor)
        sql = _page_sql(_R, where, compiler, limit, offset, rollup=True)
        return total, fetch_named(con, sql, compiler.params, _SessionRow)

    def position(self, con: Connection, session_id: str, initiator: uuid.UUID | None) -> _Cursor | None:
        compiler = compiler_for(con, table_alias="g", session_row=True)
        where = compiler.compile(self.filters)
        return _first_position(con, _R, where, compiler, session_id, initiator)


class _Groups:
    """Sessions aggregated from the interceptions that match the filters."""

    def __init__(self, filters: And) -> None:
        self.filters = filters

    def _groups(self, compiler: Compiler) -> str:
        return f"""(
            SELECT i."session_id", i."initiator_id", min(i."started_at") AS "started_at",
                   max(i."ended_at") AS "ended_at",
                   count(*) FILTER (WHERE i."thread_root_id" IS NULL) AS "threads",
                   COALESCE(max(i.{ident(LAST_PROMPT_AT)}), min(i."started_at")) AS "last_active_at"
            FROM {ident(INTERCEPTIONS.name)} AS i
            WHERE i."ended_at" IS NOT NULL AND {compiler.compile(self.filters)}
            GROUP BY i."session_id", i."initiator_id"
        )"""

    def page(
        self, con: Connection, cursor: _Cursor | None, limit: int, offset: int, total: int | None
    ) -> tuple[int, list[_SessionRow]]:
        """The groups are computed once for both the count and the page (a materialised CTE)."""
        compiler = compiler_for(con, table_alias="i")
        groups = self._groups(compiler)
        where = compiler.dialect.true + _before_cursor(compiler, "g", cursor)
        page = _page_sql("groups", where, compiler, limit, offset, rollup=False)
        counted = "(SELECT count(*) FROM groups)" if total is None else compiler.param(total)
        sql = (f"WITH groups AS {compiler.dialect.materialized}{groups} "
               f"SELECT p.*, {counted} AS total FROM ({page}) AS p")
        rows, counted_total = fetch_counted(con, sql, compiler.params, _SessionRow)
        if counted_total is not None:
            return counted_total, rows
        if total is None:  # a page past the end: count on its own
            compiler = compiler_for(con, table_alias="i")
            total = count(con, f"SELECT count(*) FROM {self._groups(compiler)}", compiler.params)
        return total, rows

    def position(self, con: Connection, session_id: str, initiator: uuid.UUID | None) -> _Cursor | None:
        compiler = compiler_for(con, table_alias="i")
        narrowed = _Groups(And((*self.filters.items, Equals("session_id", session_id))))
        return _first_position(con, narrowed._groups(compiler), compiler.dialect.true, compiler, session_id,
                               initiator)


_Source = _Rollup | _Groups


def _first_position(
    con: Connection, source: str, where: str, compiler: Compiler, session_id: str,
    initiator: uuid.UUID | None,
) -> _Cursor | None:
    """The first row of ``source`` (alias g) in page order with this session id (and initiator)."""
    where += f' AND g."session_id" = {compiler.param(session_id)}'
    if initiator is not None:
        where += f' AND g."initiator_id" = {compiler.param(initiator)}'
    row = first_row(
        con,
        f'SELECT g."last_active_at", g."session_id", g."initiator_id" FROM {source} AS g WHERE {where} '
        f"ORDER BY {_ORDER} LIMIT 1",
        compiler.params,
    )
    return None if row is None else _Cursor(*row)


_SUMMARY = js.template("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_write_input_tokens")
_SESSION = js.template(
    "id",
    "initiator",
    "providers",
    "models",
    "client",
    "metadata",
    "started_at",
    "ended_at",
    "last_active_at",
    "threads",
    "token_usage_summary",
    "last_prompt",
)
_PAGE = js.template("count", "sessions")


def _session_json(row: _SessionRow) -> str:
    summary = _SUMMARY % (
        js.number(row.input_tokens),
        js.number(row.output_tokens),
        js.number(row.cache_read_input_tokens),
        js.number(row.cache_write_input_tokens),
    )
    return _SESSION % (
        js.text(row.session_id),
        js.user(row.initiator_id, row.username, row.name, row.avatar_url),
        js.names(row.providers),
        js.names(row.models),
        js.text(row.client or None),
        js.metadata_object(row.metadata),
        js.text(row.started_at),
        js.text(row.ended_at),
        js.text(row.last_active_at),
        js.number(row.threads),
        summary,
        js.text(row.last_prompt or None),
    )
