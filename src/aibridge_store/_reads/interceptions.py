"""``GET /api/v2/aibridge/interceptions`` (coder-semantics.md §3).

The count and the page are read in one snapshot, as Coder's transaction does; then the page's
token usages, prompts and tool usages are fetched with one SELECT per child table.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import duckdb

from .._auth import LOCAL_ADMIN, Actor
from ..errors import PaginationError
from ..models import InterceptionsPage
from .._query import INTERCEPTIONS_SEARCH as ENDPOINT
from .._query import And, Compiler
from .._query.ast import Filter
from .._schema import (
    INTERCEPTIONS,
    PARENT_TIME,
    TOKEN_USAGES,
    TOOL_USAGES,
    USER_PROMPTS,
    USERS,
    ident,
)
from . import jsonsql as js
from .common import bind_context
from .pagination import parse_page

_I = ident(INTERCEPTIONS.name)
Row = tuple[Any, ...]


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
    filters = with_scope(bind_context(con, actor, q, ENDPOINT), actor)
    cursor = _cursor_position(con, page.after, actor) if page.after else None
    count = count_interceptions(con, filters)
    bound = None
    if page.offset + page.limit > DEEP_PAGE and count > page.offset + page.limit:
        bound = _lower_bound(con, filters, cursor, page.offset + page.limit)
    rows = _page_rows(con, filters, cursor, bound, page.limit, page.offset)
    children = fetch_children(con, rows)
    return InterceptionsPage.model_validate_json(_document(count, rows, children))


def with_scope(filters: And, actor: Actor) -> And:
    scope = actor.scope()
    return And((*filters.items, scope)) if scope is not None else filters


def _where(compiler: Compiler, filters: Filter) -> str:
    return f'{compiler.column("ended_at")} IS NOT NULL AND {compiler.compile(filters)}'


def _cursor_position(con: duckdb.DuckDBPyConnection, after: uuid.UUID, actor: Actor) -> tuple[datetime, uuid.UUID]:
    """The cursor row's (started_at, id): any stored row, ended or not, if the actor may see it."""
    compiler = Compiler()
    condition = f'"id" = {compiler.param(after)}'
    scope = actor.scope()
    if scope is not None:
        condition += f" AND {compiler.compile(scope)}"
    row = con.execute(f'SELECT "started_at" FROM {_I} WHERE {condition}', compiler.params).fetchone()
    if row is None:
        raise PaginationError(
            "Invalid pagination cursor.",
            detail=f"after_id: interception {after} not found: invalid pagination cursor",
        )
    return row[0], after


def count_sql(compiler: Compiler, filters: Filter) -> str:
    """The count of matching ended interceptions, ignoring cursor, offset and limit."""
    alias = f" AS {compiler.alias}" if compiler.alias else ""
    return f"SELECT count(*) FROM {_I}{alias} WHERE {_where(compiler, filters)}"


def count_interceptions(con: duckdb.DuckDBPyConnection, filters: Filter) -> int:
    compiler = Compiler()
    return con.execute(count_sql(compiler, filters), compiler.params).fetchone()[0]  # type: ignore[index]


def _after_cursor(compiler: Compiler, cursor: tuple[datetime, uuid.UUID] | None) -> str:
    if cursor is None:
        return ""
    at, cid = compiler.param(cursor[0]), compiler.param(cursor[1])
    # The redundant first term lets zone maps skip row groups newer than the cursor.
    return f' AND i."started_at" <= {at} AND (i."started_at" < {at} OR (i."started_at" = {at} AND i."id" < {cid}))'


DEEP_PAGE = 1000
"""From this many rows (offset + limit) on, a page is read below a start-time bound found first."""
_FIRST_WINDOW = timedelta(minutes=15)


def _lower_bound(
    con: duckdb.DuckDBPyConnection, filters: Filter, cursor: tuple[datetime, uuid.UUID] | None, needed: int
) -> datetime | None:
    """A start time at or after which at least ``needed`` matching rows start, or None.

    Rows are stored newest first, so counting the rows of a widening window that ends at the
    newest match touches few row groups; the page query then reads only rows in the window.
    Exact: the first ``needed`` rows in page order all start inside a window that holds
    ``needed`` matching rows. The search ends once the window reaches the oldest stored row.
    """
    compiler = Compiler(table_alias="i")
    where = _where(compiler, filters) + _after_cursor(compiler, cursor)
    newest, oldest = con.execute(
        f'SELECT (SELECT i."started_at" FROM {_I} AS i WHERE {where} ORDER BY i."started_at" DESC LIMIT 1), '
        f'(SELECT min("started_at") FROM {_I})',
        compiler.params,
    ).fetchone()  # type: ignore[misc]
    if newest is None:
        return None
    window = _FIRST_WINDOW
    while window < newest - oldest:
        lower = newest - window
        compiler = Compiler(table_alias="i")
        where = _where(compiler, filters) + _after_cursor(compiler, cursor)
        found = con.execute(
            f'SELECT count(*) FROM {_I} AS i WHERE {where} AND i."started_at" >= {compiler.param(lower)}',
            compiler.params,
        ).fetchone()[0]  # type: ignore[index]
        if found >= needed:
            return lower
        window *= 16
    return None


def _page_rows(
    con: duckdb.DuckDBPyConnection,
    filters: Filter,
    cursor: tuple[datetime, uuid.UUID] | None,
    bound: datetime | None,
    limit: int,
    offset: int,
) -> list[Row]:
    """One page, newest first. A row: id, started_at µs, then what :func:`_interception_json` renders."""
    compiler = Compiler(table_alias="i")
    where = _where(compiler, filters) + _after_cursor(compiler, cursor)
    if bound is not None:
        where += f' AND i."started_at" >= {compiler.param(bound)}'
    sql = f"""
        WITH page AS (
            SELECT i.* FROM {_I} AS i WHERE {where}
            ORDER BY i."started_at" DESC, i."id" DESC
            LIMIT {compiler.param(limit)} OFFSET {compiler.param(offset)}
        )
        SELECT CAST(p."id" AS VARCHAR), epoch_us(p."started_at"), p."api_key_id",
               CAST(p."initiator_id" AS VARCHAR), u."username", u."name", u."avatar_url", p."provider",
               p."provider_name", p."model", p."client", CAST(p."metadata" AS VARCHAR),
               {js.go_time('p."started_at"')}, {js.go_time('p."ended_at"')}
        FROM page AS p
        LEFT JOIN {ident(USERS.name)} AS u ON u."id" = p."initiator_id"
        ORDER BY p."started_at" DESC, p."id" DESC
    """
    return con.execute(sql, compiler.params).fetchall()


_INTERCEPTION = (
    '{"id":"%s","api_key_id":%s,"initiator":{"id":"%s","username":%s,"name":%s,"avatar_url":%s},'
    '"provider":%s,"provider_name":%s,"model":%s,"client":%s,"metadata":%s,"started_at":"%s","ended_at":%s'
)


def _interception_json(row: Row) -> str:
    """The row's JSON object, left open for its children."""
    (iid, _, api_key_id, initiator_id, username, name, avatar_url, provider, provider_name, model,
     client, meta, started_at, ended_at) = row
    text = js.text
    return _INTERCEPTION % (
        iid, text(api_key_id), initiator_id, text(username or ""), text(name or ""), text(avatar_url or ""),
        text(provider), text(provider_name), text(model), text(client), js.metadata(meta), started_at, text(ended_at),
    )


_COMMON = ('CAST("id" AS VARCHAR)', 'CAST("interception_id" AS VARCHAR)', '"provider_response_id"')
_CHILD_COLUMNS = {
    "token_usages": (TOKEN_USAGES.name, [
        *_COMMON, '"input_tokens"', '"output_tokens"', '"cache_read_input_tokens"', '"cache_write_input_tokens"',
        'CAST("metadata" AS VARCHAR)', js.go_time('"created_at"')]),
    "user_prompts": (USER_PROMPTS.name, [*_COMMON, '"prompt"', 'CAST("metadata" AS VARCHAR)', js.go_time('"created_at"')]),
    "tool_usages": (TOOL_USAGES.name, [
        *_COMMON, """COALESCE("server_url", '')""", '"tool"', '"input"', '"injected"',
        """COALESCE("invocation_error", '')""", 'CAST("metadata" AS VARCHAR)', js.go_time('"created_at"')]),
}
def _child_select(table: str, columns: list[str], by_ids: bool) -> str:
    where = f"{ident(PARENT_TIME)} BETWEEN make_timestamptz($1) AND make_timestamptz($2)"
    if by_ids:
        where += """ AND list_contains(CAST(string_split($3, ',') AS UUID[]), "interception_id")"""
    return f'SELECT {", ".join(columns)} FROM {ident(table)} WHERE {where}'


def children_sql(by_ids: bool) -> list[str]:
    """One SELECT per child table, in ``_CHILD_COLUMNS`` order. $1/$2 bound the page's start
    times in µs; child rows carry their interception's start time, so zone maps skip everything
    outside the page's time span. With ``by_ids``, $3 lists the page's interception ids."""
    return [_child_select(table, columns, by_ids) for table, columns in _CHILD_COLUMNS.values()]


CROWDED = 2
"""A time window holding more than this many interceptions per page row is read by id."""


def fetch_children(con: duckdb.DuckDBPyConnection, rows: Sequence[Row]) -> list[dict[str, list[Row]]]:
    """For each child table, interception id → its rows in ``created_at, id`` order.

    When the page's time window holds little besides the page (the newest pages, unfiltered), the
    children are read by time alone and filtered here; otherwise the ids are compared in SQL.
    """
    grouped: list[dict[str, list[Row]]] = [{} for _ in _CHILD_COLUMNS]
    if not rows:
        return grouped
    wanted = {row[0] for row in rows}
    span = [min(r[1] for r in rows), max(r[1] for r in rows)]
    in_window = con.execute(
        f'SELECT count(*) FROM {_I} WHERE "started_at" BETWEEN make_timestamptz($1) AND make_timestamptz($2)', span
    ).fetchone()[0]  # type: ignore[index]
    by_ids = in_window > CROWDED * len(rows)
    params = [*span, ",".join(wanted)] if by_ids else span
    for group, sql in zip(grouped, children_sql(by_ids)):
        for child in con.execute(sql, params).fetchall():
            if child[1] in wanted:
                group.setdefault(child[1], []).append(child)
        for children in group.values():
            children.sort(key=_created_then_id)
    return grouped


def _created_then_id(row: Row) -> tuple[str, str]:
    # Fixed-width UTC text sorts as time; lower-case UUID text sorts as the UUID.
    return row[-1], row[0]


_CHILD_FORMATS = {
    "token_usages": (
        '{"id":"%s","interception_id":"%s","provider_response_id":%s,"input_tokens":%d,"output_tokens":%d,'
        '"cache_read_input_tokens":%d,"cache_write_input_tokens":%d,"metadata":%s,"created_at":"%s"}'
    ),
    "user_prompts": '{"id":"%s","interception_id":"%s","provider_response_id":%s,"prompt":%s,"metadata":%s,"created_at":"%s"}',
    "tool_usages": (
        '{"id":"%s","interception_id":"%s","provider_response_id":%s,"server_url":%s,"tool":%s,"input":%s,'
        '"injected":%s,"invocation_error":%s,"metadata":%s,"created_at":"%s"}'
    ),
}


def _child_json(key: str, row: Row) -> str:
    text = js.text
    if key == "token_usages":
        values: tuple[Any, ...] = (row[0], row[1], text(row[2]), *row[3:7], js.metadata(row[7]), row[8])
    elif key == "user_prompts":
        values = (row[0], row[1], text(row[2]), text(row[3]), js.metadata(row[4]), row[5])
    else:
        values = (row[0], row[1], text(row[2]), text(row[3]), text(row[4]), text(row[5]),
                  "true" if row[6] else "false", text(row[7]), js.metadata(row[8]), row[9])
    return _CHILD_FORMATS[key] % values


def _document(count: int, rows: Sequence[Row], children: list[dict[str, list[Row]]]) -> str:
    parts = []
    for row in rows:
        extra = "".join(
            f',"{key}":[' + ",".join(_child_json(key, child) for child in group.get(row[0], ())) + "]"
            for key, group in zip(_CHILD_COLUMNS, children)
        )
        parts.append(_interception_json(row) + extra + "}")
    return f'{{"count":{count},"results":[{",".join(parts)}]}}'
