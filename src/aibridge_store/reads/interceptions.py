"""``GET /api/v2/aibridge/interceptions`` (coder-semantics.md §3)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import duckdb

from ..auth import LOCAL_ADMIN, Actor
from ..errors import PaginationError
from ..models import Interception, InterceptionsPage, MinimalUser, TokenUsage, ToolUsage, UserPrompt
from ..query import INTERCEPTIONS as ENDPOINT
from ..query import And, Compiler
from ..query.ast import Filter
from ..schema import INTERCEPTIONS, PARENT_TIME, TOKEN_USAGES, TOOL_USAGES, USER_PROMPTS, USERS, ident
from .common import bind_context, read_snapshot
from .pagination import parse_page
from .values import go_metadata

_I = ident(INTERCEPTIONS.name)


def list_interceptions(
    con: duckdb.DuckDBPyConnection,
    q: str,
    *,
    limit: int | str | None,
    offset: int | str | None,
    after_id: Any,
    actor: Actor | None,
) -> InterceptionsPage:
    actor = actor or LOCAL_ADMIN
    page = parse_page(limit, offset, after_id)
    filters = _with_scope(bind_context(con, actor, q, ENDPOINT), actor)
    with read_snapshot(con):
        cursor = _cursor_position(con, page.after, actor) if page.after else None
        count = _count(con, filters)
        rows = _page_rows(con, filters, cursor, page.limit, page.offset)
        ids = [row[0] for row in rows]
        span = (min(row[8] for row in rows), max(row[8] for row in rows)) if rows else None
        children = {table: _children(con, table, ids, span) for table in _CHILD_COLUMNS}
    return InterceptionsPage(count=count, results=[_interception(row, children) for row in rows])


def _with_scope(filters: And, actor: Actor) -> And:
    scope = actor.scope()
    return And((*filters.items, scope)) if scope is not None else filters


def _where(compiler: Compiler, filters: Filter) -> str:
    return f'{compiler.column("ended_at")} IS NOT NULL AND {compiler.compile(filters)}'


def _cursor_position(
    con: duckdb.DuckDBPyConnection, after: uuid.UUID, actor: Actor
) -> tuple[Any, uuid.UUID]:
    """The cursor row's (started_at, id): any stored row, ended or not, if the actor may see it."""
    compiler = Compiler()
    scope = actor.scope()
    condition = f'"id" = {compiler.param(after)}'
    if scope is not None:
        condition += f" AND {compiler.compile(scope)}"
    row = con.execute(f'SELECT "started_at" FROM {_I} WHERE {condition}', compiler.params).fetchone()
    if row is None:
        raise PaginationError(
            "Invalid pagination cursor.",
            detail=f"after_id: interception {after} not found: invalid pagination cursor",
        )
    return row[0], after


def _count(con: duckdb.DuckDBPyConnection, filters: Filter) -> int:
    compiler = Compiler()
    where = _where(compiler, filters)
    return con.execute(f"SELECT count(*) FROM {_I} WHERE {where}", compiler.params).fetchone()[0]  # type: ignore[index]


def _page_rows(
    con: duckdb.DuckDBPyConnection,
    filters: Filter,
    cursor: tuple[Any, uuid.UUID] | None,
    limit: int,
    offset: int,
) -> list[tuple[Any, ...]]:
    compiler = Compiler(table_alias="i")
    where = _where(compiler, filters)
    if cursor is not None:
        at, cid = compiler.param(cursor[0]), compiler.param(cursor[1])
        # The redundant first term lets zone maps skip row groups newer than the cursor.
        where += (
            f' AND i."started_at" <= {at}'
            f' AND (i."started_at" < {at} OR (i."started_at" = {at} AND i."id" < {cid}))'
        )
    limit_sql, offset_sql = compiler.param(limit), compiler.param(offset)
    sql = f"""
        WITH page AS (
            SELECT i."id", i."api_key_id", i."initiator_id", i."provider", i."provider_name",
                   i."model", i."client", i."metadata", i."started_at", i."ended_at"
            FROM {_I} AS i
            WHERE {where}
            ORDER BY i."started_at" DESC, i."id" DESC
            LIMIT {limit_sql} OFFSET {offset_sql}
        )
        SELECT page.*, u."username", u."name", u."avatar_url"
        FROM page LEFT JOIN {ident(USERS.name)} AS u ON u."id" = page."initiator_id"
        ORDER BY page."started_at" DESC, page."id" DESC
    """
    return con.execute(sql, compiler.params).fetchall()


_CHILD_COLUMNS = {
    TOKEN_USAGES.name: (
        '"id", "interception_id", "provider_response_id", "input_tokens", "output_tokens", '
        '"cache_read_input_tokens", "cache_write_input_tokens", "metadata", "created_at"'
    ),
    USER_PROMPTS.name: '"id", "interception_id", "provider_response_id", "prompt", "metadata", "created_at"',
    TOOL_USAGES.name: (
        '"id", "interception_id", "provider_response_id", COALESCE("server_url", \'\'), "tool", "input", '
        '"injected", COALESCE("invocation_error", \'\'), "metadata", "created_at"'
    ),
}


def _children(
    con: duckdb.DuckDBPyConnection, table: str, ids: Sequence[uuid.UUID], span: tuple[Any, Any] | None
) -> dict[uuid.UUID, list[tuple[Any, ...]]]:
    """Every child row of the page's interceptions, one query for the whole page.

    Child rows carry their interception's start time, so the page's time span lets zone maps
    skip everything else before the ids are compared.
    """
    grouped: dict[uuid.UUID, list[tuple[Any, ...]]] = defaultdict(list)
    if not ids or span is None:
        return grouped
    rows = con.execute(
        f"SELECT {_CHILD_COLUMNS[table]} FROM {ident(table)} "
        f"WHERE {ident(PARENT_TIME)} BETWEEN $1 AND $2 "
        f'AND "interception_id" IN (SELECT unnest($3::UUID[])) ORDER BY "created_at", "id"',
        [span[0], span[1], list(ids)],
    ).fetchall()
    for row in rows:
        grouped[row[1]].append(row)
    return grouped


def _token_usage(row: tuple[Any, ...]) -> TokenUsage:
    return TokenUsage(
        id=row[0], interception_id=row[1], provider_response_id=row[2], input_tokens=row[3],
        output_tokens=row[4], cache_read_input_tokens=row[5], cache_write_input_tokens=row[6],
        metadata=go_metadata(row[7]), created_at=row[8],
    )


def _user_prompt(row: tuple[Any, ...]) -> UserPrompt:
    return UserPrompt(
        id=row[0], interception_id=row[1], provider_response_id=row[2], prompt=row[3],
        metadata=go_metadata(row[4]), created_at=row[5],
    )


def _tool_usage(row: tuple[Any, ...]) -> ToolUsage:
    return ToolUsage(
        id=row[0], interception_id=row[1], provider_response_id=row[2], server_url=row[3], tool=row[4],
        input=row[5], injected=row[6], invocation_error=row[7], metadata=go_metadata(row[8]),
        created_at=row[9],
    )


def _interception(row: tuple[Any, ...], children: dict[str, dict[uuid.UUID, list[tuple[Any, ...]]]]) -> Interception:
    (id_, api_key_id, initiator_id, provider, provider_name, model, client, metadata,
     started_at, ended_at, username, name, avatar_url) = row
    return Interception(
        id=id_,
        api_key_id=api_key_id,
        initiator=MinimalUser(id=initiator_id, username=username or "", name=name or "", avatar_url=avatar_url or ""),
        provider=provider,
        provider_name=provider_name,
        model=model,
        client=client,
        metadata=go_metadata(metadata),
        started_at=started_at,
        ended_at=ended_at,
        token_usages=[_token_usage(r) for r in children[TOKEN_USAGES.name].get(id_, ())],
        user_prompts=[_user_prompt(r) for r in children[USER_PROMPTS.name].get(id_, ())],
        tool_usages=[_tool_usage(r) for r in children[TOOL_USAGES.name].get(id_, ())],
    )
