"""``GET /api/v2/aibridge/interceptions`` (docs/semantics.md, "Interceptions").

The count and the page are read in the store's read snapshot, as Coder's transaction does. The
page's rows are one statement, and their token usages, prompts and tool usages one more; the
count of a query without a time bound is a sum over the interception counts table, and the count,
the bound query, the cursor's position and the initiators are remembered while the store stays
the same (docs/decisions.md, "Remembered counts").
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from .._auth import LOCAL_ADMIN, Actor
from .._gocompat import GoTime
from .._query import INTERCEPTIONS_SEARCH as ENDPOINT
from .._query import Compiler, filter_columns, reads_totals
from .._query.ast import Filter
from .._query.dialect import Dialect
from .._schema import (
    COUNTED_COLUMNS,
    INTERCEPTION_COUNTS,
    INTERCEPTION_TOTALS,
    INTERCEPTIONS,
    PARENT_TIME,
    TOKEN_USAGES,
    TOOL_USAGES,
    TOTALS_FILTERED,
    USER_PROMPTS,
    ident,
)
from ..errors import PaginationError
from ..models import InterceptionsPage
from . import jsonsql as js
from .common import (
    Connection,
    bind_filters,
    compiler_for,
    count,
    dialect_of,
    fetch_named,
    first_row,
    initiators_json,
    one_row,
)
from .memo import ReadMemo
from .pagination import keyset, parse_page

_I = ident(INTERCEPTIONS.name)
_T = ident(INTERCEPTION_TOTALS)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _Cursor(NamedTuple):
    started_at: datetime | str
    """As the engine returns it: a datetime, or SQLite's ISO text."""
    id: uuid.UUID


class DeepPages(NamedTuple):
    """When and how a deep page is read below a start-time bound found first."""

    threshold: int = 1000
    """From this many rows (offset + limit) on."""
    first_window: timedelta = timedelta(minutes=15)
    """The first window tried; it grows sixteenfold until it holds enough rows."""


DEEP_PAGES = DeepPages()
_NO_DEEP_PAGES = DeepPages(threshold=2**62)


def list_interceptions(
    con: Connection,
    q: str,
    *,
    limit: int | str | None,
    offset: int | str | None,
    after_id: Any,
    actor: Actor | None,
    memo: ReadMemo | None = None,
    deep: DeepPages = DEEP_PAGES,
    strict: bool = False,
) -> InterceptionsPage:
    actor = actor or LOCAL_ADMIN
    page = parse_page(limit, offset, after_id)
    filters = _remember(memo, "filters", (q, actor, strict), lambda: bind_filters(con, actor, q, ENDPOINT, strict))
    if dialect_of(con).name != "duckdb":
        deep = _NO_DEEP_PAGES  # a B-tree walks to any offset in order
    cursor = None
    if page.after is not None:
        after = page.after
        cursor = _remember(memo, "position", (after, actor), lambda: _cursor_position(con, after, actor))
    total = _remember(memo, "count", filters, lambda: count_interceptions(con, filters, memo))
    bound = None
    if page.offset + page.limit > deep.threshold and total > page.offset + page.limit:
        bound = _lower_bound(con, filters, cursor, page.offset + page.limit, deep.first_window)
    rows = _page_rows(con, filters, cursor, bound, page.limit, page.offset)
    # Unfiltered, the page's time window holds little besides the page; filtered, it may hold
    # many more interceptions, and comparing ids in SQL pays off. SQLite finds child rows by their
    # interception id's index.
    children = fetch_children(con, rows, by_id=bool(filters.items) or dialect_of(con).name == "sqlite")
    users = initiators_json(con, {row.initiator_id for row in rows}, memo)
    if memo is not None and rows:
        # The next page's cursor is this page's last row.
        last = _Cursor(_EPOCH + timedelta(microseconds=rows[-1].started_us), uuid.UUID(rows[-1].id))
        memo.put("position", (last.id, actor), last)
    return InterceptionsPage.model_validate_json(_document(total, rows, children, users))


def _remember(memo: ReadMemo | None, kind: str, key: Any, compute: Any) -> Any:
    return compute() if memo is None else memo.get(kind, key, compute)


def _on_totals(filters: Filter) -> bool:
    """Whether the filters test what the totals hold (tokens, flags) and nothing the totals
    lack: the totals, which also hold every column Coder's keys read, then select the rows."""
    return reads_totals(filters) and filter_columns(filters) <= TOTALS_FILTERED


def _totals_compiler(compiler: Compiler) -> Compiler:
    """A compiler over the totals (as ``t``) that binds into ``compiler``'s parameters."""
    return Compiler(compiler.dialect, table_alias="t", totals_row=True, params=compiler.params)


def _ended_and(compiler: Compiler, filters: Filter) -> str:
    return f'{compiler.column("ended_at")} IS NOT NULL AND {compiler.compile(filters)}'


def _where(compiler: Compiler, filters: Filter) -> str:
    """Ended, and selected by the filters; filters on the totals are tested on them in one
    pass, and the rows found by id."""
    if _on_totals(filters):
        inner = _ended_and(_totals_compiler(compiler), filters)
        return f'{compiler.column("id")} IN (SELECT t."id" FROM {_T} AS t WHERE {inner})'
    return _ended_and(compiler, filters)


def _cursor_position(con: Connection, after: uuid.UUID, actor: Actor) -> _Cursor:
    """The cursor row's (started_at, id): any stored row, ended or not, if the actor may see it."""
    compiler = compiler_for(con)
    condition = f'"id" = {compiler.param(after)}'
    scope = actor.scope()
    if scope is not None:
        condition += f" AND {compiler.compile(scope)}"
    row = first_row(con, f'SELECT "started_at" FROM {_I} WHERE {condition}', compiler.params)
    if row is None:
        raise PaginationError(
            "Invalid pagination cursor.",
            detail=f"after_id: interception {after} not found: invalid pagination cursor",
        )
    return _Cursor(row[0], after)


def count_sql(compiler: Compiler, filters: Filter, *, counts_table: bool = False) -> str:
    """The count of matching ended interceptions, ignoring cursor, offset and limit: a sum over
    the interception counts table when ``counts_table`` and the filters only name its columns."""
    alias = f" AS {compiler.alias}" if compiler.alias else ""
    if counts_table and filter_columns(filters) <= set(COUNTED_COLUMNS):
        return (
            f'SELECT COALESCE(sum("interceptions"), 0) FROM {ident(INTERCEPTION_COUNTS)}{alias} '
            f"WHERE {compiler.compile(filters)}"
        )
    if _on_totals(filters):
        return f"SELECT count(*) FROM {_T} AS t WHERE {_ended_and(_totals_compiler(compiler), filters)}"
    return f"SELECT count(*) FROM {_I}{alias} WHERE {_where(compiler, filters)}"


def count_interceptions(con: Connection, filters: Filter, memo: ReadMemo | None = None) -> int:
    compiler = compiler_for(con)
    sql = count_sql(compiler, filters, counts_table=memo is not None and memo.counts_table)
    return count(con, sql, compiler.params)


def _after_cursor(compiler: Compiler, cursor: _Cursor | None) -> str:
    if cursor is None:
        return ""
    order = [(compiler.column("started_at"), cursor.started_at), (compiler.column("id"), cursor.id)]
    return " AND " + keyset(compiler, order, "<", bounded=True)


def _lower_bound(
    con: Connection, filters: Filter, cursor: _Cursor | None, needed: int, first_window: timedelta
) -> datetime | None:
    """A start time at or after which at least ``needed`` matching rows start, or None.

    Rows are stored newest first, so counting the rows of a widening window that ends at the
    newest match touches few row groups; the page query then reads only rows in the window.
    Exact: the first ``needed`` rows in page order all start inside a window that holds
    ``needed`` matching rows. The search ends once the window reaches the oldest stored row.
    """
    compiler = compiler_for(con, table_alias="i")
    where = _where(compiler, filters) + _after_cursor(compiler, cursor)
    newest, oldest = one_row(
        con,
        f'SELECT (SELECT i."started_at" FROM {_I} AS i WHERE {where} ORDER BY i."started_at" DESC LIMIT 1), '
        f'(SELECT min("started_at") FROM {_I})',
        compiler.params,
    )
    if newest is None:
        return None
    window = first_window
    while window < newest - oldest:
        lower: datetime = newest - window
        compiler = compiler_for(con, table_alias="i")
        where = _where(compiler, filters) + _after_cursor(compiler, cursor)
        found = count(
            con,
            f'SELECT count(*) FROM {_I} AS i WHERE {where} AND i."started_at" >= {compiler.param(lower)}',
            compiler.params,
        )
        if found >= needed:
            return lower
        window *= 16
    return None


class _PageRow(NamedTuple):
    id: str
    started_us: int
    api_key_id: str | None
    initiator_id: str
    provider: str
    provider_name: str
    model: str
    client: str | None
    metadata: str | None
    started_at: str
    ended_at: str | None


def _page_rows(
    con: Connection,
    filters: Filter,
    cursor: _Cursor | None,
    bound: datetime | None,
    limit: int,
    offset: int,
) -> list[_PageRow]:
    """One page, newest first."""
    compiler = compiler_for(con, table_alias="i")
    d = compiler.dialect
    # Filtered on the totals, the page is chosen there (one table, no join), then read by
    # (id, start).
    on_totals = _on_totals(filters)
    chooser, rows = (_totals_compiler(compiler), _T) if on_totals else (compiler, _I)
    where = _ended_and(chooser, filters) + _after_cursor(chooser, cursor)
    if bound is not None:
        where += f' AND {chooser.column("started_at")} >= {compiler.param(bound)}'
    a = chooser.alias
    chosen = f"""
            SELECT {a}.* FROM {rows} AS {a} WHERE {where}
            ORDER BY {a}."started_at" DESC, {a}."id" DESC
            LIMIT {compiler.param(limit)} OFFSET {compiler.param(offset)}"""
    if on_totals:
        chosen = f"""
            SELECT i.* FROM {_I} AS i
            JOIN ({chosen}) AS t ON t."started_at" = i."started_at" AND t."id" = i."id"
            """
    # Select the page first, then format it: formatting in the same SELECT would format every
    # row the top-N reads.
    sql = f"""
        WITH page AS ({chosen}
        )
        SELECT {d.text('p."id"')} AS id, {d.micros('p."started_at"')} AS started_us, p."api_key_id",
               {d.text('p."initiator_id"')} AS initiator_id,
               p."provider", p."provider_name", p."model", p."client", {d.text('p."metadata"')} AS metadata,
               {d.go_time('p."started_at"')} AS started_at, {d.go_time('p."ended_at"')} AS ended_at
        FROM page AS p
        ORDER BY p."started_at" DESC, p."id" DESC
    """
    return fetch_named(con, sql, compiler.params, _PageRow)


class _ChildRow(NamedTuple):
    """A child row of any kind (the columns of the others are NULL); ``kind`` indexes ``_CHILD_TABLES``."""

    kind: int
    id: str
    interception_id: str
    provider_response_id: str
    input_tokens: int | None
    output_tokens: int | None
    cache_read_input_tokens: int | None
    cache_write_input_tokens: int | None
    prompt: str | None
    server_url: str | None
    tool: str | None
    input: str | None
    injected: bool | None
    invocation_error: str | None
    metadata: str | None
    created_at: str


class _ChildTable(NamedTuple):
    """One child list of an interception: its JSON key, table and the SQL of its own columns."""

    key: str
    table: str
    columns: dict[str, str]

    def select(self, dialect: Dialect, kind: int, where: str) -> str:
        """Every child row column, NULL where this table has none (a UNION of all kinds)."""
        columns = {"kind": str(kind), **_common(dialect), **self.columns, "metadata": dialect.text('"metadata"'),
                   "created_at": dialect.go_time('"created_at"')}
        listed = ", ".join(f"{columns.get(name, 'NULL')} AS {ident(name)}" for name in _ChildRow._fields)
        return f"SELECT {listed} FROM {ident(self.table)} WHERE {where}"

    def encode(self, row: _ChildRow) -> str:
        return _CHILD_ENCODERS[self.key](row)


def _common(dialect: Dialect) -> dict[str, str]:
    return {"id": dialect.text('"id"'), "interception_id": dialect.text('"interception_id"'),
            "provider_response_id": '"provider_response_id"'}


_CHILD_TABLES = (
    _ChildTable(
        "token_usages",
        TOKEN_USAGES.name,
        {
            "input_tokens": '"input_tokens"',
            "output_tokens": '"output_tokens"',
            "cache_read_input_tokens": '"cache_read_input_tokens"',
            "cache_write_input_tokens": '"cache_write_input_tokens"',
        },
    ),
    _ChildTable("user_prompts", USER_PROMPTS.name, {"prompt": '"prompt"'}),
    _ChildTable(
        "tool_usages",
        TOOL_USAGES.name,
        {
            "server_url": """COALESCE("server_url", '')""",
            "tool": '"tool"',
            "input": '"input"',
            "injected": '"injected"',
            "invocation_error": """COALESCE("invocation_error", '')""",
        },
    ),
)


def children_sql(compiler: Compiler, span: tuple[int, int], ids: list[str] | None) -> str:
    """One statement for the child rows of every table whose interception started within
    ``span`` (µs): child rows carry their interception's start time, so zone maps skip
    everything outside the page's time span. With ``ids``, only those interceptions' rows."""
    low, high = (compiler.param(GoTime(t * 1000)) for t in span)
    where = f"{ident(PARENT_TIME)} BETWEEN {low} AND {high}"
    if ids is not None:
        where += f' AND {compiler.in_ids(ident("interception_id"), ids)}'
    dialect = compiler.dialect
    selects = " UNION ALL ".join(child.select(dialect, kind, where) for kind, child in enumerate(_CHILD_TABLES))
    return f"SELECT {', '.join(map(ident, _ChildRow._fields))} FROM ({selects})"


Children = list[dict[str, list[_ChildRow]]]
"""Per child table (in ``_CHILD_TABLES`` order): interception id → its rows."""


def fetch_children(con: Connection, rows: Sequence[_PageRow], *, by_id: bool) -> Children:
    """For each child table, interception id → its rows in ``created_at, id`` order.

    The children are read by the page's time window; ``by_id`` also compares the ids in SQL,
    for pages whose window may hold many more interceptions than the page (filtered queries).
    Rows of other interceptions in the window are dropped here.
    """
    grouped: Children = [{} for _ in _CHILD_TABLES]
    if not rows:
        return grouped
    wanted = {row.id for row in rows}
    span = (min(r.started_us for r in rows), max(r.started_us for r in rows))
    compiler = compiler_for(con)
    sql = children_sql(compiler, span, sorted(wanted) if by_id else None)
    for found in sorted(fetch_named(con, sql, compiler.params, _ChildRow), key=_created_then_id):
        if found.interception_id in wanted:
            grouped[found.kind].setdefault(found.interception_id, []).append(found)
    return grouped


def _created_then_id(row: _ChildRow) -> tuple[str, str]:
    # Fixed-width UTC text sorts as time; lower-case UUID text sorts as the UUID.
    return row.created_at, row.id


_TOKEN = js.template(
    "id",
    "interception_id",
    "provider_response_id",
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_write_input_tokens",
    "metadata",
    "created_at",
)
_PROMPT = js.template("id", "interception_id", "provider_response_id", "prompt", "metadata", "created_at")
_TOOL = js.template(
    "id",
    "interception_id",
    "provider_response_id",
    "server_url",
    "tool",
    "input",
    "injected",
    "invocation_error",
    "metadata",
    "created_at",
)


def _token_json(row: Any) -> str:  # a _ChildRow of its kind: its columns are set
    return _TOKEN % (
        js.text(row.id),
        js.text(row.interception_id),
        js.text(row.provider_response_id),
        js.number(row.input_tokens),
        js.number(row.output_tokens),
        js.number(row.cache_read_input_tokens),
        js.number(row.cache_write_input_tokens),
        js.metadata(row.metadata),
        js.text(row.created_at),
    )


def _prompt_json(row: Any) -> str:
    return _PROMPT % (
        js.text(row.id),
        js.text(row.interception_id),
        js.text(row.provider_response_id),
        js.text(row.prompt),
        js.metadata(row.metadata),
        js.text(row.created_at),
    )


def _tool_json(row: Any) -> str:
    return _TOOL % (
        js.text(row.id),
        js.text(row.interception_id),
        js.text(row.provider_response_id),
        js.text(row.server_url),
        js.text(row.tool),
        js.text(row.input),
        js.flag(row.injected),
        js.text(row.invocation_error),
        js.metadata(row.metadata),
        js.text(row.created_at),
    )


_CHILD_ENCODERS: dict[str, Callable[[Any], str]] = {
    "token_usages": _token_json,
    "user_prompts": _prompt_json,
    "tool_usages": _tool_json,
}

_INTERCEPTION = js.template(
    "id",
    "api_key_id",
    "initiator",
    "provider",
    "provider_name",
    "model",
    "client",
    "metadata",
    "started_at",
    "ended_at",
    "token_usages",
    "user_prompts",
    "tool_usages",
)


def _interception_json(row: _PageRow, children: Children, users: dict[str, str]) -> str:
    lists = [
        js.array(child.encode(r) for r in group.get(row.id, ()))
        for child, group in zip(_CHILD_TABLES, children, strict=True)
    ]
    user = users[row.initiator_id]
    return _INTERCEPTION % (
        js.text(row.id),
        js.text(row.api_key_id),
        user,
        js.text(row.provider),
        js.text(row.provider_name),
        js.text(row.model),
        js.text(row.client),
        js.metadata(row.metadata),
        js.text(row.started_at),
        js.text(row.ended_at),
        *lists,
    )


def _document(count: int, rows: Sequence[_PageRow], children: Children, users: dict[str, str]) -> str:
    results = js.array(_interception_json(row, children, users) for row in rows)
    return _PAGE % (js.number(count), results)


_PAGE = js.template("count", "results")
