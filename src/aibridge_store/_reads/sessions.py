"""``GET /api/v2/aibridge/sessions`` (coder-semantics.md §4).

Sessions are (session_id, initiator_id) groups of ended interceptions. The per-session details
(providers, models, client, metadata, tokens, last prompt) always cover the whole session and
come from the session rollup. The page aggregates (started_at, ended_at, threads,
last_active_at) cover the interceptions that match the filters: with no filters but the
initiator or the session id, which select whole sessions, they are the rollup's too; otherwise
they are computed from the matching interceptions.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import duckdb

from .._auth import LOCAL_ADMIN, Actor
from ..errors import PaginationError
from ..models import SessionsPage
from .._query import SESSIONS_SEARCH as ENDPOINT
from .._query import And, Compiler, Equals
from .._query.ast import Filter
from .._query.parser import go_quote
from .._schema import INTERCEPTIONS, LAST_PROMPT_AT, SESSION_ROLLUP, USERS, ident
from . import jsonsql as js
from .common import bind_context
from .interceptions import with_scope
from .pagination import parse_page

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
    filters = with_scope(bind_context(con, actor, q, ENDPOINT), actor)
    cursor = _cursor_position(con, page.after, actor) if page.after else None  # type: ignore[arg-type]
    if _selects_whole_sessions(filters):
        count, rows = _from_rollup(con, filters, cursor, page.limit, page.offset)
    else:
        count, rows = _from_interceptions(con, filters, cursor, page.limit, page.offset)
    return SessionsPage.model_validate({"count": count, "sessions": [session_dict(row) for row in rows]})


def _selects_whole_sessions(filters: And) -> bool:
    return all(isinstance(f, Equals) and f.field in _WHOLE_SESSION_KEYS for f in filters.items)


def _cursor_position(con: duckdb.DuckDBPyConnection, session_id: str, actor: Actor) -> tuple[datetime, str]:
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
    return row[1], session_id


def _before_cursor(compiler: Compiler, table: str, cursor: tuple[datetime, str] | None) -> str:
    if cursor is None:
        return ""
    at, sid = compiler.param(cursor[0]), compiler.param(cursor[1])
    return (f' AND ({table}."last_active_at" < {at} OR '
            f'({table}."last_active_at" = {at} AND {table}."session_id" < {sid}))')


_DETAILS = (
    'CAST(r."initiator_id" AS VARCHAR), u."username", u."name", u."avatar_url", '
    'r."providers", r."models", r."client", CAST(r."metadata" AS VARCHAR), r."input_tokens", r."output_tokens", '
    'r."cache_read_input_tokens", r."cache_write_input_tokens", r."last_prompt"'
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
        rows = f'({page}) AS g JOIN {_R} AS r ON r."session_id" = g."session_id" AND r."initiator_id" = g."initiator_id"'
        alias = "g"
    return f"""
        SELECT {alias}."session_id", {_DETAILS},
               {js.go_time(f'{alias}."started_at"')}, {js.go_time(f'{alias}."ended_at"')},
               {js.go_time(f'{alias}."last_active_at"')}, {alias}."threads"
        FROM {rows}
        LEFT JOIN {ident(USERS.name)} AS u ON u."id" = r."initiator_id"
        ORDER BY {_ORDER.replace('g.', f'{alias}.')}
    """


def _from_rollup(
    con: duckdb.DuckDBPyConnection, filters: Filter, cursor: tuple[datetime, str] | None, limit: int, offset: int
) -> tuple[int, list[tuple[Any, ...]]]:
    compiler = Compiler(table_alias="r")
    count = con.execute(f"SELECT count(*) FROM {_R} AS r WHERE {compiler.compile(filters)}", compiler.params)
    total = count.fetchone()[0]  # type: ignore[index]
    compiler = Compiler(table_alias="g")
    where = compiler.compile(filters) + _before_cursor(compiler, "g", cursor)
    rows = con.execute(_page_sql(_R, where, compiler, limit, offset, rollup=True), compiler.params).fetchall()
    return total, rows


def _from_interceptions(
    con: duckdb.DuckDBPyConnection, filters: Filter, cursor: tuple[datetime, str] | None, limit: int, offset: int
) -> tuple[int, list[tuple[Any, ...]]]:
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
    total = con.execute(f"SELECT count(*) FROM {groups}", compiler.params).fetchone()[0]  # type: ignore[index]
    where = "TRUE" + _before_cursor(compiler, "g", cursor)
    rows = con.execute(_page_sql(groups, where, compiler, limit, offset, rollup=False), compiler.params).fetchall()
    return total, rows


def session_metadata(raw: str | None) -> dict[str, Any]:
    """A session's metadata: its first interception's, with NULL as ``{}`` (decision 6)."""
    if raw is None:
        return {}
    value = json.loads(js.metadata(raw))
    return value if isinstance(value, dict) else {}


def initiator_dict(user_id: str, username: str | None, name: str | None, avatar_url: str | None) -> dict[str, str]:
    return {"id": user_id, "username": username or "", "name": name or "", "avatar_url": avatar_url or ""}


def session_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    (session_id, user_id, username, name, avatar_url, providers, models, client, metadata, input_tokens,
     output_tokens, cache_read, cache_write, last_prompt, started_at, ended_at, last_active_at, threads) = row
    return {
        "id": session_id,
        "initiator": initiator_dict(user_id, username, name, avatar_url),
        "providers": providers,
        "models": models,
        "client": client or None,
        "metadata": session_metadata(metadata),
        "started_at": started_at,
        "ended_at": ended_at,
        "last_active_at": last_active_at,
        "threads": threads,
        "token_usage_summary": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_read_input_tokens": cache_read,
            "cache_write_input_tokens": cache_write,
        },
        "last_prompt": last_prompt or None,
    }
