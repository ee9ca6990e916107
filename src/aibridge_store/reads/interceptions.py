"""``GET /api/v2/aibridge/interceptions`` (coder-semantics.md §3).

One statement answers the count and the page together (one snapshot, as Coder's transaction does);
a second fetches the page's token usages, prompts and tool usages, one SELECT per child table.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb

from ..auth import LOCAL_ADMIN, Actor
from ..errors import PaginationError
from ..models import InterceptionsPage
from ..query import INTERCEPTIONS as ENDPOINT
from ..query import And, Compiler
from ..query.ast import Filter
from ..schema import INTERCEPTIONS, PARENT_TIME, TOKEN_USAGES, TOOL_USAGES, USER_PROMPTS, USERS, ident
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
    count, rows = _count_and_page(con, filters, cursor, page.limit, page.offset)
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


def _count_and_page(
    con: duckdb.DuckDBPyConnection,
    filters: Filter,
    cursor: tuple[datetime, uuid.UUID] | None,
    limit: int,
    offset: int,
) -> tuple[int, list[Row]]:
    """(count, page rows newest first) in one statement. A row: id, started_at µs, then the
    values :func:`_interception_json` renders."""
    compiler = Compiler(table_alias="i")
    count = count_sql(compiler, filters)
    where = _where(compiler, filters)
    if cursor is not None:
        at, cid = compiler.param(cursor[0]), compiler.param(cursor[1])
        # The redundant first term lets zone maps skip row groups newer than the cursor.
        where += f' AND i."started_at" <= {at} AND (i."started_at" < {at} OR (i."started_at" = {at} AND i."id" < {cid}))'
    sql = f"""
        WITH page AS (
            SELECT i.* FROM {_I} AS i WHERE {where}
            ORDER BY i."started_at" DESC, i."id" DESC
            LIMIT {compiler.param(limit)} OFFSET {compiler.param(offset)}
        )
        SELECT ({count}), CAST(p."id" AS VARCHAR), epoch_us(p."started_at"), p."api_key_id",
               CAST(p."initiator_id" AS VARCHAR), u."username", u."name", u."avatar_url", p."provider",
               p."provider_name", p."model", p."client", CAST(p."metadata" AS VARCHAR),
               {js.go_time('p."started_at"')}, {js.go_time('p."ended_at"')}
        FROM (SELECT 1) AS one
        LEFT JOIN page AS p ON TRUE
        LEFT JOIN {ident(USERS.name)} AS u ON u."id" = p."initiator_id"
        ORDER BY p."started_at" DESC, p."id" DESC
    """
    rows = con.execute(sql, compiler.params).fetchall()
    return rows[0][0], [row[1:] for row in rows if row[1] is not None]


def _interception_json(row: Row) -> str:
    (iid, _, api_key_id, initiator_id, username, name, avatar_url, provider, provider_name, model,
     client, meta, started_at, ended_at) = row
    initiator = js.obj([("id", f'"{initiator_id}"'), ("username", js.text(username or "")),
                        ("name", js.text(name or "")), ("avatar_url", js.text(avatar_url or ""))])
    return js.obj([
        ("id", f'"{iid}"'), ("api_key_id", js.text(api_key_id)), ("initiator", initiator),
        ("provider", js.text(provider)), ("provider_name", js.text(provider_name)), ("model", js.text(model)),
        ("client", js.text(client)), ("metadata", js.metadata(meta)), ("started_at", f'"{started_at}"'),
        ("ended_at", js.text(ended_at)),
    ])


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
WINDOW_CAP = 20_000
"""Child rows read by time window alone before the query also compares interception ids."""


def _child_select(table: str, columns: list[str], by_ids: bool) -> str:
    where = f"{ident(PARENT_TIME)} BETWEEN make_timestamptz($1) AND make_timestamptz($2)"
    limit = f" LIMIT {WINDOW_CAP + 1}"
    if by_ids:
        where += """ AND list_contains(CAST(string_split($3, ',') AS UUID[]), "interception_id")"""
        limit = ""
    return f'SELECT {", ".join(columns)} FROM {ident(table)} WHERE {where} ORDER BY "created_at", "id"{limit}'


def children_sql(by_ids: bool = False) -> list[str]:
    """One SELECT per child table, in ``_CHILD_COLUMNS`` order. $1/$2 bound the page's start
    times in µs; child rows carry their interception's start time, so zone maps skip everything
    outside the page's time span. With ``by_ids``, $3 lists the page's interception ids."""
    return [_child_select(table, columns, by_ids) for table, columns in _CHILD_COLUMNS.values()]


def fetch_children(con: duckdb.DuckDBPyConnection, rows: Sequence[Row]) -> list[dict[str, list[Row]]]:
    """For each child table, interception id → its rows (``created_at, id`` order).

    The page's time window usually holds little besides the page's own children, so it is read
    by time alone and filtered here; a window holding more than ``WINDOW_CAP`` rows is read again
    with the ids compared in SQL.
    """
    grouped: list[dict[str, list[Row]]] = [{} for _ in _CHILD_COLUMNS]
    if not rows:
        return grouped
    wanted = {row[0] for row in rows}
    span = [min(r[1] for r in rows), max(r[1] for r in rows)]
    for group, sql, narrow in zip(grouped, children_sql(False), children_sql(True)):
        found = con.execute(sql, span).fetchall()
        if len(found) > WINDOW_CAP:
            found = con.execute(narrow, [*span, ",".join(wanted)]).fetchall()
        for child in found:
            if child[1] in wanted:
                group.setdefault(child[1], []).append(child)
    return grouped


def _child_json(key: str, row: Row) -> str:
    head = [("id", f'"{row[0]}"'), ("interception_id", f'"{row[1]}"'), ("provider_response_id", js.text(row[2]))]
    if key == "token_usages":
        body = [("input_tokens", str(row[3])), ("output_tokens", str(row[4])),
                ("cache_read_input_tokens", str(row[5])), ("cache_write_input_tokens", str(row[6]))]
    elif key == "user_prompts":
        body = [("prompt", js.text(row[3]))]
    else:
        body = [("server_url", js.text(row[3])), ("tool", js.text(row[4])), ("input", js.text(row[5])),
                ("injected", "true" if row[6] else "false"), ("invocation_error", js.text(row[7]))]
    return js.obj([*head, *body, ("metadata", js.metadata(row[-2])), ("created_at", f'"{row[-1]}"')])


def _document(count: int, rows: Sequence[Row], children: list[dict[str, list[Row]]]) -> str:
    parts = []
    for row in rows:
        doc = _interception_json(row)
        extra = "".join(
            f',"{key}":[' + ",".join(_child_json(key, child) for child in group.get(row[0], ())) + "]"
            for key, group in zip(_CHILD_COLUMNS, children)
        )
        parts.append(doc[:-1] + extra + "}")
    return f'{{"count":{count},"results":[{",".join(parts)}]}}'
