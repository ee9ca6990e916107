"""``GET /api/v2/aibridge/sessions/{session_id}``: a session's threads (docs/semantics.md,
"Session threads", with the decisions on lookups, cursors, token totals and shared session ids in
docs/decisions.md)."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from .._auth import LOCAL_ADMIN, Actor
from .._gocompat import as_uuid, go_uuid_error, parse_go_uuid
from .._query import Compiler
from .._query.dialect import Dialect
from .._schema import (
    INTERCEPTIONS,
    MODEL_THOUGHTS,
    PARENT_TIME,
    SESSION_ROLLUP,
    TOKEN_USAGES,
    TOOL_USAGES,
    USER_PROMPTS,
    ident,
)
from ..errors import NotFoundError, PaginationError
from ..models import SessionThreads
from . import jsonsql as js
from .common import Connection, compiler_for, fetch_named, first_row, initiators_json
from .memo import ReadMemo
from .pagination import THREAD_LIMITS, keyset

_I = ident(INTERCEPTIONS.name)
_R = ident(SESSION_ROLLUP)
_INT64 = (-(2**63), 2**63 - 1)


def get_session_threads(
    con: Connection,
    session_id: str,
    *,
    after_id: Any,
    before_id: Any,
    limit: int | str | None,
    actor: Actor | None,
    memo: ReadMemo | None = None,
) -> SessionThreads:
    actor = actor or LOCAL_ADMIN
    if not session_id:
        raise NotFoundError("Missing session_id path parameter.")
    after = _cursor_id("after_id", after_id)
    before = _cursor_id("before_id", before_id)
    if after is not None and before is not None:
        raise PaginationError("Cannot use both after_id and before_id in the same request.")
    size = _thread_limit(limit)
    header = _find_session(con, str(session_id), actor)
    session = _Session(header.session_id, header.initiator, header.first_start, header.last_start)
    cursor = None
    if after is not None:
        cursor = _cursor_position(con, "after_id", after, session, actor)
    elif before is not None:
        cursor = _cursor_position(con, "before_id", before, session, actor)
    rows = _thread_rows(con, session, cursor, before is not None, size)
    children = _children(con, rows)
    key = (session.id, session.initiator)

    def summary() -> dict[str, int]:
        return merge_token_metadata(_session_token_metadata(con, session))

    summary_metadata = summary() if memo is None else memo.get("session token metadata", key, summary)
    users = initiators_json(con, {header.initiator_id}, memo)
    return SessionThreads.model_validate_json(_document(header, users[header.initiator_id], rows, children,
                                                        summary_metadata))


def _cursor_id(name: str, value: Any) -> uuid.UUID | None:
    try:
        return as_uuid(value)
    except ValueError:
        detail = go_uuid_error(value) if isinstance(value, str) else f"expected a UUID, got {type(value).__name__}"
        raise PaginationError(f"Invalid {name} query parameter.", detail=detail) from None


def _thread_limit(limit: int | str | None) -> int:
    if limit is None or limit == "":
        return THREAD_LIMITS.default
    text = str(limit)
    if isinstance(limit, bool) or not text.lstrip("+-").isdigit() or not 1 <= int(text) <= THREAD_LIMITS.maximum:
        raise PaginationError(
            "Invalid limit query parameter.", detail=f"Limit must be between 1 and {THREAD_LIMITS.maximum}."
        )
    return int(text)


def _visible(compiler: Compiler, actor: Actor) -> str:
    scope = actor.scope()
    return f" AND {compiler.compile(scope)}" if scope is not None else ""


class _Header(NamedTuple):
    """The session's row of the rollup, with its initiator's user row."""

    session_id: str
    initiator_id: str
    providers: list[str] | str
    """A list, or SQLite's JSON text of one."""
    models: list[str] | str
    client: str | None
    metadata: str | None
    started_at: str
    ended_at: str | None
    input_tokens: int
    output_tokens: int
    cache_read_input_tokens: int
    cache_write_input_tokens: int
    initiator: uuid.UUID | str
    """As the engine returns them: UUID and datetimes, or SQLite's text."""
    first_start: datetime | str
    last_start: datetime | str
    last_active: datetime | str


def _header(d: Dialect) -> str:
    return (
        f'r."session_id", {d.text("r.initiator_id")} AS initiator_id, '
        f'r."providers", r."models", r."client", {d.text("r.metadata")} AS metadata, '
        f'{d.go_time("r.started_at")} AS started_at, {d.go_time("r.ended_at")} AS ended_at, r."input_tokens", '
        'r."output_tokens", r."cache_read_input_tokens", r."cache_write_input_tokens", r."initiator_id" AS initiator, '
        'r."started_at" AS first_start, r."last_started_at" AS last_start, r."last_active_at" AS last_active'
    )


def _find_session(con: Connection, path: str, actor: Actor) -> _Header:
    """The session row of a session id, or of the UUID of any interception in the session.

    When users share a session id, the most recently active session supplies the page.
    """
    compiler = compiler_for(con, table_alias="r")
    # Ordered here, not in SQL: an ORDER BY ... LIMIT would keep DuckDB from the session id index.
    found = fetch_named(
        con,
        f'SELECT {_header(compiler.dialect)} FROM {_R} AS r '
        f'WHERE r."session_id" = {compiler.param(path)}{_visible(compiler, actor)}',
        compiler.params,
        _Header,
    )
    if found:
        return max(found, key=lambda h: (h.last_active, h.initiator))
    interception = parse_go_uuid(path)
    if interception is not None:
        compiler = compiler_for(con, table_alias="i")
        found = fetch_named(
            con,
            f'SELECT {_header(compiler.dialect)} FROM {_I} AS i JOIN {_R} AS r '
            f'ON r."session_id" = i."session_id" AND r."initiator_id" = i."initiator_id" '
            f'WHERE i."id" = {compiler.param(interception)}{_visible(compiler, actor)}',
            compiler.params,
            _Header,
        )
        if found:
            return found[0]
    raise NotFoundError("Session not found.")


class _Session(NamedTuple):
    """Where a session's ended interceptions are: its key and the span of their start times."""

    id: str
    initiator: uuid.UUID | str
    first_start: datetime | str
    last_start: datetime | str

    def where(self, compiler: Compiler, alias: str = "i") -> str:
        """SQL selecting the session's ended rows (the time span lets zone maps skip the rest)."""
        return (
            f'{alias}."ended_at" IS NOT NULL AND {alias}."started_at" BETWEEN {compiler.param(self.first_start)} '
            f'AND {compiler.param(self.last_start)} AND {alias}."session_id" = {compiler.param(self.id)} '
            f'AND {alias}."initiator_id" = {compiler.param(self.initiator)}'
        )


class _Cursor(NamedTuple):
    started_at: datetime | str
    id: uuid.UUID


def _cursor_position(
    con: Connection, name: str, cursor: uuid.UUID, session: _Session, actor: Actor
) -> _Cursor:
    """The cursor interception's (started_at, id); it must be visible and in this session."""
    compiler = compiler_for(con, table_alias="i")
    row = first_row(
        con,
        f'SELECT i."started_at", i."session_id", i."initiator_id" FROM {_I} AS i '
        f'WHERE i."id" = {compiler.param(cursor)}{_visible(compiler, actor)}',
        compiler.params,
    )
    if row is None:
        raise PaginationError(
            "Invalid pagination cursor.", detail=f"{name}: interception {cursor} not found: invalid pagination cursor"
        )
    started_at, session_id, initiator = row
    if session_id != session.id or initiator != session.initiator:
        raise PaginationError(
            "Invalid pagination cursor.",
            detail=f"{name}: interception {cursor} does not belong to session {session.id}: invalid pagination cursor",
        )
    return _Cursor(started_at, cursor)


class _ThreadRow(NamedTuple):
    """One ended interception of a thread on the page."""

    id: str
    thread_id: str
    model: str
    provider: str
    credential_kind: str
    credential_hint: str
    started: datetime | str
    started_at: str
    ended_at: str


def _row_columns(d: Dialect) -> str:
    return (
        f'{d.text("i.id")} AS id, {d.text("COALESCE(i.thread_root_id, i.id)")} AS thread_id, i."model", '
        'i."provider", i."credential_kind", i."credential_hint", i."started_at" AS started, '
        f'{d.go_time("i.started_at")} AS started_at, {d.go_time("i.ended_at")} AS ended_at'
    )


def _thread_rows(
    con: Connection,
    session: _Session,
    cursor: _Cursor | None,
    backwards: bool,
    size: int,
) -> list[_ThreadRow]:
    """Every ended row of the page's threads, in (root started_at, root id, started_at, id) order.

    Threads are listed oldest first; ``after_id`` gives the ``size`` threads right after the
    cursor, ``before_id`` the ``size`` threads right before it (docs/decisions.md, "Thread cursors").
    """
    compiler = compiler_for(con)
    where = session.where(compiler)
    position = ""
    if cursor is not None:
        keys = [('i."started_at"', cursor.started_at), ('i."id"', cursor.id)]
        position = " AND " + keyset(compiler, keys, "<" if backwards else ">")
    direction = "DESC" if backwards else "ASC"
    sql = f"""
        WITH rows AS (SELECT * FROM {_I} AS i WHERE {where}),
        roots AS (
            SELECT i."id", i."started_at" FROM rows AS i WHERE i."thread_root_id" IS NULL{position}
            ORDER BY i."started_at" {direction}, i."id" {direction} LIMIT {compiler.param(size)}
        )
        SELECT {_row_columns(compiler.dialect)} FROM rows AS i
        JOIN roots AS t ON t."id" = COALESCE(i."thread_root_id", i."id")
        ORDER BY t."started_at", t."id", i."started_at", i."id"
    """
    return fetch_named(con, sql, compiler.params, _ThreadRow)


class _ChildRow(NamedTuple):
    """A token usage, prompt, tool call or thought of a page row (``kind`` says which; the
    columns the other kinds have are NULL)."""

    kind: str
    interception_id: str
    input_tokens: int | None
    output_tokens: int | None
    cache_read_input_tokens: int | None
    cache_write_input_tokens: int | None
    metadata: str | None
    prompt: str | None
    id: str | None
    provider_response_id: str | None
    server_url: str | None
    tool: str | None
    input: str | None
    injected: bool | None
    created_at: str | None
    content: str | None


class _AsText(NamedTuple):
    """A UUID or JSON column, read as text in the dialect."""

    column: str


class _AsTime(NamedTuple):
    """An instant, read as RFC 3339 text in the dialect."""

    column: str


def _rendered(d: Dialect, sql: str | _AsText | _AsTime) -> str:
    if isinstance(sql, _AsText):
        return d.text(sql.column)
    if isinstance(sql, _AsTime):
        return d.go_time(sql.column)
    return sql


class _ChildTable(NamedTuple):
    """One child table of a page row: its kind, its own columns, and whether it has an id (the
    tie-breaker after ``created_at``)."""

    kind: str
    table: str
    columns: dict[str, str | _AsText | _AsTime]
    has_id: bool = True

    def select(self, d: Dialect, where: str) -> str:
        """Every child row column, NULL where this table has none (a UNION of all kinds)."""
        listed = ", ".join(f"{_rendered(d, self.columns.get(name, 'NULL'))} AS {ident(name)}"
                           for name in _ChildRow._fields[2:])
        tie = d.text('c."id"') if self.has_id else "NULL"
        return (
            f"SELECT '{self.kind}' AS kind, {d.text('c.interception_id')} AS interception_id, {listed}, "
            f'c."created_at" AS sort_at, {tie} AS sort_tie FROM {ident(self.table)} AS c WHERE {where}'
        )


_CHILD_TABLES = (
    _ChildTable("token", TOKEN_USAGES.name, {
        "input_tokens": 'c."input_tokens"', "output_tokens": 'c."output_tokens"',
        "cache_read_input_tokens": 'c."cache_read_input_tokens"',
        "cache_write_input_tokens": 'c."cache_write_input_tokens"', "metadata": _AsText('c."metadata"')}),
    _ChildTable("prompt", USER_PROMPTS.name, {"prompt": 'c."prompt"'}),
    _ChildTable("tool", TOOL_USAGES.name, {
        "id": _AsText('c."id"'), "provider_response_id": 'c."provider_response_id"',
        "server_url": """COALESCE(c."server_url", '')""", "tool": 'c."tool"', "input": 'c."input"',
        "injected": 'c."injected"', "metadata": _AsText('c."metadata"'), "created_at": _AsTime('c."created_at"')}),
    _ChildTable("thought", MODEL_THOUGHTS.name, {"content": 'c."content"'}, has_id=False),
)
_CHILD_COLUMNS = ", ".join(ident(name) for name in _ChildRow._fields)


class _Children(NamedTuple):
    """The page rows' children by kind, each interception id → its rows in ``created_at, id`` order."""

    tokens: dict[str, list[_ChildRow]]
    prompts: dict[str, list[_ChildRow]]
    tools: dict[str, list[_ChildRow]]
    thoughts: dict[str, list[_ChildRow]]


def _children(con: Connection, rows: list[_ThreadRow]) -> _Children:
    """The page rows' tokens, prompts, tool calls and thoughts, in one statement with one SELECT
    per child table (their columns matched by name). Child rows carry their interception's start
    time: zone maps skip everything outside the page's time span, and the ids pick the page's."""
    found = _Children(defaultdict(list), defaultdict(list), defaultdict(list), defaultdict(list))
    if not rows:
        return found
    compiler = compiler_for(con)
    low, high = compiler.param(min(r.started for r in rows)), compiler.param(max(r.started for r in rows))
    ids = compiler.in_ids('c."interception_id"', sorted({r.id for r in rows}))
    where = f"c.{ident(PARENT_TIME)} BETWEEN {low} AND {high} AND {ids}"
    union = " UNION ALL ".join(child.select(compiler.dialect, where) for child in _CHILD_TABLES)
    sql = f"SELECT {_CHILD_COLUMNS} FROM ({union}) ORDER BY kind, sort_at, sort_tie"
    by_kind = {"token": found.tokens, "prompt": found.prompts, "tool": found.tools, "thought": found.thoughts}
    for child in fetch_named(con, sql, compiler.params, _ChildRow):
        by_kind[child.kind][child.interception_id].append(child)
    return found


def _session_token_metadata(con: Connection, session: _Session) -> list[str | None]:
    """The metadata of every token row of the session's ended interceptions (docs/decisions.md,
    "Thread token usage")."""
    compiler = compiler_for(con)
    where = session.where(compiler)
    low, high = compiler.param(session.first_start), compiler.param(session.last_start)
    rows = con.execute(
        f'SELECT {compiler.dialect.text("t.metadata")} FROM {ident(TOKEN_USAGES.name)} AS t '
        f'JOIN {_I} AS i ON t."interception_id" = i."id" AND t.{ident(PARENT_TIME)} = i."started_at" '
        f"WHERE {where} AND t.{ident(PARENT_TIME)} BETWEEN {low} AND {high}",
        compiler.params,
    ).fetchall()
    return [r[0] for r in rows]


def _flatten(value: dict[str, Any], prefix: str, leaves: list[tuple[str, int]]) -> None:
    for key, item in value.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(item, dict):
            _flatten(item, name, leaves)
        elif type(item) is int and _INT64[0] <= item <= _INT64[1]:
            leaves.append((name, item))


@lru_cache(maxsize=4096)
def _integer_leaves(text: str) -> tuple[tuple[str, int], ...]:
    """The integer leaves of one metadata text (a page merges each row's several times)."""
    try:
        value = json.loads(text)
    except ValueError:
        return ()
    leaves: list[tuple[str, int]] = []
    if isinstance(value, dict):
        _flatten(value, "", leaves)
    return tuple(leaves)


def merge_token_metadata(texts: Iterable[str | None]) -> dict[str, int]:
    """Integer leaves of every JSON-object metadata, nested keys joined with '.', summed.

    Floats, exponents, strings (even numeric ones), booleans, nulls and arrays are skipped, and so
    are rows whose metadata is NULL, empty, malformed or not an object.
    """
    totals: dict[str, int] = {}
    for text in texts:
        if text:
            for name, item in _integer_leaves(text):
                totals[name] = totals.get(name, 0) + item
    return totals


def sanitize_hint(hint: str) -> str:
    """A credential hint as the threads endpoint shows it: a hint that is not a masked key
    (at most 15 characters holding "...") is masked whole."""
    if hint == "":
        return ""
    return hint if len(hint) <= 15 and "..." in hint else "..."


_USAGE = js.template("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_write_input_tokens",
                     "metadata")
_TOOL_CALL = js.template("id", "interception_id", "provider_response_id", "server_url", "tool", "injected",
                         "input", "metadata", "created_at")
_THINKING = js.template("text")
_ACTION = js.template("model", "token_usage", "tool_calls", "thinking")
_THREAD = js.template("id", "prompt", "model", "provider", "credential_kind", "credential_hint", "started_at",
                      "ended_at", "token_usage", "agentic_actions")
_SESSION = js.template("id", "initiator", "providers", "models", "client", "metadata", "page_started_at",
                       "page_ended_at", "started_at", "ended_at", "token_usage_summary", "threads")


def _usage_json(
    input_tokens: int, output_tokens: int, cache_read: int, cache_write: int, metadata: dict[str, int]
) -> str:
    return _USAGE % (js.number(input_tokens), js.number(output_tokens), js.number(cache_read),
                     js.number(cache_write), js.value(metadata))


def _usage(rows: Sequence[_ChildRow]) -> str:
    return _usage_json(
        sum(r.input_tokens or 0 for r in rows),
        sum(r.output_tokens or 0 for r in rows),
        sum(r.cache_read_input_tokens or 0 for r in rows),
        sum(r.cache_write_input_tokens or 0 for r in rows),
        merge_token_metadata(r.metadata for r in rows),
    )


def _tool_call(row: _ChildRow) -> str:
    return _TOOL_CALL % (
        js.text(row.id), js.text(row.interception_id), js.text(row.provider_response_id), js.text(row.server_url),
        js.text(row.tool), js.flag(bool(row.injected)), js.text(row.input), js.metadata(row.metadata),
        js.text(row.created_at),
    )


def _action(row: _ThreadRow, children: _Children) -> str:
    tools = js.array(_tool_call(t) for t in children.tools[row.id])
    thinking = js.array(_THINKING % js.text(t.content) for t in children.thoughts.get(row.id, ()))
    return _ACTION % (js.text(row.model), _usage(children.tokens.get(row.id, ())), tools, thinking)


def _thread(rows: list[_ThreadRow], children: _Children) -> str:
    root = next((r for r in rows if r.id == r.thread_id), rows[0])
    prompts = children.prompts.get(root.id)
    tokens = [t for r in rows for t in children.tokens.get(r.id, ())]
    actions = js.array(_action(r, children) for r in rows if children.tools.get(r.id))
    return _THREAD % (
        js.text(root.thread_id), js.text(prompts[0].prompt if prompts else None), js.text(root.model),
        js.text(root.provider), js.text(root.credential_kind), js.text(sanitize_hint(root.credential_hint)),
        js.text(min(r.started_at for r in rows)), js.text(max(r.ended_at for r in rows)), _usage(tokens), actions,
    )


def _document(
    header: _Header, user: str, rows: list[_ThreadRow], children: _Children, summary_metadata: dict[str, int]
) -> str:
    threads: dict[str, list[_ThreadRow]] = {}
    for row in rows:
        threads.setdefault(row.thread_id, []).append(row)
    summary = _usage_json(header.input_tokens, header.output_tokens, header.cache_read_input_tokens,
                          header.cache_write_input_tokens, summary_metadata)
    return _SESSION % (
        js.text(header.session_id),
        user,
        js.names(header.providers),
        js.names(header.models),
        js.text(header.client or None),
        js.metadata_object(header.metadata),
        js.text(min((r.started_at for r in rows), default=None)),
        js.text(max((r.ended_at for r in rows), default=None)),
        js.text(header.started_at),
        js.text(header.ended_at),
        summary,
        js.array(_thread(thread_rows, children) for thread_rows in threads.values()),
    )
