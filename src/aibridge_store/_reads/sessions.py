"""``GET /api/v2/aibridge/sessions`` (docs/semantics.md, "Sessions").

Sessions are (session_id, initiator_id) groups of ended interceptions. The per-session details
(providers, models, client, metadata, tokens, last prompt) always cover the whole session and
come from the session rollup. The page aggregates (started_at, ended_at, threads,
last_active_at) cover the interceptions that match the filters: with no filters but the
initiator or the session id, which select whole sessions, they are the rollup's too; otherwise
they are computed from the matching interceptions.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import duckdb

from .._auth import LOCAL_ADMIN, Actor
from .._gocompat import go_quote
from .._query import SESSIONS_SEARCH as ENDPOINT
from .._query import And, Compiler, Equals
from .._query.ast import Filter
from .._schema import INTERCEPTIONS, LAST_PROMPT_AT, SESSION_ROLLUP, USERS, ident
from ..errors import PaginationError
from ..models import SessionsPage
from . import jsonsql as js
from .common import bind_filters, count, fetch_named
from .pagination import keyset, parse_page

_R = ident(SESSION_ROLLUP)
_WHOLE_SESSION_KEYS = frozenset({"initiator", "session_id"})


def list_sessions(
    con: duckdb.DuckDBPyConnection,
    q: str,
    *,
    limit: int | str | None,
    offset: int | str | None,
    after_session_id: str | None,
    actor: Actor | None,
) -> SessionsPage:
    actor = actor or LOCAL_ADMIN
    page = parse_page(limit, offset, after_session_id, cursor_name="after_session_id", check_after_uuid=False)
    filters = bind_filters(con, actor, q, ENDPOINT)
    cursor = _cursor_position(con, page.after_key, actor) if page.after_key else None
    if _selects_whole_sessions(filters):
        count, rows = _from_rollup(con, filters, cursor, page.limit, page.offset)
    else:
        count, rows = _from_interceptions(con, filters, cursor, page.limit, page.offset)
    return SessionsPage.model_validate_json(_PAGE % (js.number(count), js.array(map(_session_json, rows))))


def _selects_whole_sessions(filters: And) -> bool:
    return all(isinstance(f, Equals) and f.field in _WHOLE_SESSION_KEYS for f in filters.items)


class _Cursor(NamedTuple):
    last_active_at: datetime
    session_id: str


def _cursor_position(con: duckdb.DuckDBPyConnection, session_id: str, actor: Actor) -> _Cursor:
    """Where ``after_session_id`` sits: over every initiator's ended interceptions of that session."""
    compiler = Compiler(table_alias="r")
    visible = And(tuple(f for f in (actor.scope(),) if f is not None))
    row = con.execute(
        f'SELECT count(*) FILTER (WHERE {compiler.compile(visible)}), '
        f'COALESCE(max(r."max_prompt_at"), min(r."started_at")) '
        f'FROM {_R} AS r WHERE r."session_id" = {compiler.param(session_id)}',
        compiler.params,
    ).fetchone()
    if row is None or not row[0]:
        raise PaginationError(
            "Query parameter has invalid value.",
            detail=f"after_session_id: session {go_quote(session_id)} not found",
        )
    return _Cursor(row[1], session_id)


def _before_cursor(compiler: Compiler, table: str, cursor: _Cursor | None) -> str:
    if cursor is None:
        return ""
    keys = [(f'{table}."last_active_at"', cursor.last_active_at), (f'{table}."session_id"', cursor.session_id)]
    return " AND " + keyset(compiler, keys, "<")


class _SessionRow(NamedTuple):
    session_id: str
    initiator_id: str
    username: str | None
    name: str | None
    avatar_url: str | None
    providers: list[str]
    models: list[str]
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


_DETAILS = (
    'CAST(r."initiator_id" AS VARCHAR) AS initiator_id, u."username", u."name", u."avatar_url", '
    'r."providers", r."models", r."client", CAST(r."metadata" AS VARCHAR) AS metadata, r."input_tokens", '
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
    return f"""
        SELECT {alias}."session_id", {_DETAILS},
               {js.go_time(f'{alias}."started_at"')} AS started_at, {js.go_time(f'{alias}."ended_at"')} AS ended_at,
               {js.go_time(f'{alias}."last_active_at"')} AS last_active_at, {alias}."threads"
        FROM {rows}
        LEFT JOIN {ident(USERS.name)} AS u ON u."id" = r."initiator_id"
        ORDER BY {_ORDER.replace('g.', f'{alias}.')}
    """


def _from_rollup(
    con: duckdb.DuckDBPyConnection, filters: Filter, cursor: _Cursor | None, limit: int, offset: int
) -> tuple[int, list[_SessionRow]]:
    compiler = Compiler(table_alias="r")
    total = count(con, f"SELECT count(*) FROM {_R} AS r WHERE {compiler.compile(filters)}", compiler.params)
    compiler = Compiler(table_alias="g")
    where = compiler.compile(filters) + _before_cursor(compiler, "g", cursor)
    rows = fetch_named(con, _page_sql(_R, where, compiler, limit, offset, rollup=True), compiler.params, _SessionRow)
    return total, rows


def _from_interceptions(
    con: duckdb.DuckDBPyConnection, filters: Filter, cursor: _Cursor | None, limit: int, offset: int
) -> tuple[int, list[_SessionRow]]:
    compiler = Compiler(table_alias="i")
    groups = f"""(
        SELECT i."session_id", i."initiator_id", min(i."started_at") AS "started_at",
               max(i."ended_at") AS "ended_at",
               count(*) FILTER (WHERE i."thread_root_id" IS NULL) AS "threads",
               COALESCE(max(i.{ident(LAST_PROMPT_AT)}), min(i."started_at")) AS "last_active_at"
        FROM {ident(INTERCEPTIONS.name)} AS i
        WHERE i."ended_at" IS NOT NULL AND {compiler.compile(filters)}
        GROUP BY ALL
    )"""
    total = count(con, f"SELECT count(*) FROM {groups}", compiler.params)
    where = "TRUE" + _before_cursor(compiler, "g", cursor)
    rows = fetch_named(
        con, _page_sql(groups, where, compiler, limit, offset, rollup=False), compiler.params, _SessionRow
    )
    return total, rows


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
        js.value(row.providers),
        js.value(row.models),
        js.text(row.client or None),
        js.metadata_object(row.metadata),
        js.text(row.started_at),
        js.text(row.ended_at),
        js.text(row.last_active_at),
        js.number(row.threads),
        summary,
        js.text(row.last_prompt or None),
    )
