"""``GET /api/v2/aibridge/sessions/{session_id}``: a session's threads (coder-semantics.md §5 with
decisions 2, 3, 4 and 9)."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, NamedTuple

import duckdb

from .._auth import LOCAL_ADMIN, Actor
from ..errors import NotFoundError, PaginationError
from ..models import SessionThreads
from .._query import Compiler
from .._query.filters import parse_go_uuid
from .._schema import (
    INTERCEPTIONS,
    MODEL_THOUGHTS,
    PARENT_TIME,
    SESSION_ROLLUP,
    TOKEN_USAGES,
    TOOL_USAGES,
    USER_PROMPTS,
    USERS,
    ident,
)
from . import jsonsql as js
from .pagination import uuid_argument
from .sessions import initiator_dict, session_metadata

_I = ident(INTERCEPTIONS.name)
_R = ident(SESSION_ROLLUP)
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_INT64 = (-(2**63), 2**63 - 1)


def get_session_threads(
    con: duckdb.DuckDBPyConnection,
    session_id: str,
    *,
    after_id: Any,
    before_id: Any,
    limit: int | str | None,
    actor: Actor | None,
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
    session = _Session(header[0], *header[-3:])
    cursor = None
    if after is not None or before is not None:
        name = "after_id" if after is not None else "before_id"
        cursor = _cursor_position(con, name, after or before, session, actor)  # type: ignore[arg-type]
    rows = _thread_rows(con, session, cursor, after is None and before is not None, size)
    children = _children(con, session, rows)
    summary_metadata = merge_token_metadata(_session_token_metadata(con, session))
    return SessionThreads.model_validate(_response(header, rows, children, summary_metadata))


def _go_uuid_error(text: str) -> str:
    """The text of the error Go's ``uuid.Parse`` returns."""
    size = len(text.encode("utf-8"))
    if size not in (32, 36, 38, 45):
        return f"invalid UUID length: {size}"
    if size == 45 and text[:9].lower() != "urn:uuid:":
        return f'invalid urn prefix: "{text[:9]}"'
    return "invalid UUID format"


def _cursor_id(name: str, value: Any) -> uuid.UUID | None:
    try:
        return uuid_argument(value)
    except ValueError:
        detail = _go_uuid_error(value) if isinstance(value, str) else f"expected a UUID, got {type(value).__name__}"
        raise PaginationError(f"Invalid {name} query parameter.", detail=detail) from None


def _thread_limit(limit: int | str | None) -> int:
    if limit is None or limit == "":
        return DEFAULT_LIMIT
    text = str(limit)
    if isinstance(limit, bool) or not text.lstrip("+-").isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise PaginationError("Invalid limit query parameter.", detail="Limit must be between 1 and 200.")
    return int(text)


def _visible(compiler: Compiler, actor: Actor) -> str:
    scope = actor.scope()
    return f" AND {compiler.compile(scope)}" if scope is not None else ""


_HEADER = (
    'r."session_id", CAST(r."initiator_id" AS VARCHAR), u."username", u."name", u."avatar_url", r."providers", '
    'r."models", r."client", CAST(r."metadata" AS VARCHAR), '
    f'{js.go_time("r.started_at")}, {js.go_time("r.ended_at")}, r."input_tokens", r."output_tokens", '
    'r."cache_read_input_tokens", r."cache_write_input_tokens", r."initiator_id", r."started_at", r."last_started_at"'
)


def _find_session(con: duckdb.DuckDBPyConnection, path: str, actor: Actor) -> tuple[Any, ...]:
    """The session row of a session id, or of the UUID of any interception in the session.

    When users share a session id, the most recently active session supplies the page.
    """
    compiler = Compiler(table_alias="r")
    users = f'LEFT JOIN {ident(USERS.name)} AS u ON u."id" = r."initiator_id"'
    row = con.execute(
        f'SELECT {_HEADER} FROM {_R} AS r {users} WHERE r."session_id" = {compiler.param(path)}'
        f'{_visible(compiler, actor)} ORDER BY r."last_active_at" DESC, r."initiator_id" DESC LIMIT 1',
        compiler.params,
    ).fetchone()
    if row is not None:
        return row
    interception = parse_go_uuid(path)
    if interception is not None:
        compiler = Compiler(table_alias="i")
        row = con.execute(
            f'SELECT {_HEADER} FROM {_I} AS i JOIN {_R} AS r '
            f'ON r."session_id" = i."session_id" AND r."initiator_id" = i."initiator_id" {users} '
            f'WHERE i."id" = {compiler.param(interception)}{_visible(compiler, actor)}',
            compiler.params,
        ).fetchone()
        if row is not None:
            return row
    raise NotFoundError("Session not found.")


class _Session(NamedTuple):
    """Where a session's ended interceptions are: its key and the span of their start times."""

    id: str
    initiator: uuid.UUID
    first_start: Any
    last_start: Any

    def where(self, alias: str = "i") -> tuple[str, list[Any]]:
        """SQL selecting the session's ended rows (the time span lets zone maps skip the rest)."""
        return (
            f'{alias}."ended_at" IS NOT NULL AND {alias}."started_at" BETWEEN $1 AND $2 '
            f'AND {alias}."session_id" = $3 AND {alias}."initiator_id" = $4',
            [self.first_start, self.last_start, self.id, self.initiator],
        )


def _cursor_position(
    con: duckdb.DuckDBPyConnection, name: str, cursor: uuid.UUID, session: _Session, actor: Actor
) -> tuple[Any, uuid.UUID]:
    """The cursor interception's (started_at, id); it must be visible and in this session."""
    compiler = Compiler(table_alias="i")
    row = con.execute(
        f'SELECT i."started_at", i."session_id", i."initiator_id" FROM {_I} AS i '
        f'WHERE i."id" = {compiler.param(cursor)}{_visible(compiler, actor)}',
        compiler.params,
    ).fetchone()
    if row is None:
        raise PaginationError(
            "Invalid pagination cursor.", detail=f"{name}: interception {cursor} not found: invalid pagination cursor"
        )
    if row[1] != session.id or row[2] != session.initiator:
        raise PaginationError(
            "Invalid pagination cursor.",
            detail=f"{name}: interception {cursor} does not belong to session {session.id}: invalid pagination cursor",
        )
    return row[0], cursor


_ROW_COLUMNS = (
    'CAST(i."id" AS VARCHAR), CAST(COALESCE(i."thread_root_id", i."id") AS VARCHAR), i."model", i."provider", '
    'i."credential_kind", i."credential_hint", i."started_at", '
    f'{js.go_time("i.started_at")}, {js.go_time("i.ended_at")}'
)


def _thread_rows(
    con: duckdb.DuckDBPyConnection,
    session: _Session,
    cursor: tuple[Any, uuid.UUID] | None,
    backwards: bool,
    size: int,
) -> list[tuple[Any, ...]]:
    """Every ended row of the page's threads, in (root started_at, root id, started_at, id) order.

    Threads are listed oldest first; ``after_id`` gives the ``size`` threads right after the
    cursor, ``before_id`` the ``size`` threads right before it (decision 3).
    """
    where, params = session.where()
    params.append(size)
    position = ""
    if cursor is not None:
        params += list(cursor)
        op = "<" if backwards else ">"
        position = f' AND (i."started_at" {op} $6 OR (i."started_at" = $6 AND i."id" {op} $7))'
    direction = "DESC" if backwards else "ASC"
    sql = f"""
        WITH rows AS (SELECT * FROM {_I} AS i WHERE {where}),
        roots AS (
            SELECT i."id", i."started_at" FROM rows AS i WHERE i."thread_root_id" IS NULL{position}
            ORDER BY i."started_at" {direction}, i."id" {direction} LIMIT $5
        )
        SELECT {_ROW_COLUMNS} FROM rows AS i
        JOIN roots AS t ON t."id" = COALESCE(i."thread_root_id", i."id")
        ORDER BY t."started_at", t."id", i."started_at", i."id"
    """
    return con.execute(sql, params).fetchall()


_KINDS = ("tokens", "prompts", "tools", "thoughts")


def _child_select(kind: int, table: str, strings: list[str], numbers: list[str], flag: str, metadata: str,
                  created: str, order_id: str) -> str:
    strings = strings + ["NULL"] * (5 - len(strings))
    numbers = numbers + ["NULL"] * (4 - len(numbers))
    return (
        f'SELECT {kind} AS kind, CAST(c."interception_id" AS VARCHAR) AS iid, {", ".join(strings)}, '
        f'{", ".join(numbers)}, {flag}, {metadata}, {created}, c."created_at" AS sort_at, {order_id} AS sort_tie '
        f'FROM {ident(table)} AS c SEMI JOIN rows AS r '
        f'ON c."interception_id" = r."id" AND c.{ident(PARENT_TIME)} = r."started_at"'
    )


# One SELECT per child table, padded to one shape: kind, interception id, five texts, four
# numbers, a flag, metadata, created_at text, then the sort keys.
_CHILDREN_SQL = " UNION ALL ".join([
    _child_select(0, TOKEN_USAGES.name, [], ['c."input_tokens"', 'c."output_tokens"', 'c."cache_read_input_tokens"',
                  'c."cache_write_input_tokens"'], "NULL", 'CAST(c."metadata" AS VARCHAR)', "NULL",
                  'CAST(c."id" AS VARCHAR)'),
    _child_select(1, USER_PROMPTS.name, ['c."prompt"'], [], "NULL", "NULL", "NULL", 'CAST(c."id" AS VARCHAR)'),
    _child_select(2, TOOL_USAGES.name, ['CAST(c."id" AS VARCHAR)', 'c."provider_response_id"',
                  """COALESCE(c."server_url", '')""", 'c."tool"', 'c."input"'], [], 'c."injected"',
                  'CAST(c."metadata" AS VARCHAR)', js.go_time('c."created_at"'), 'CAST(c."id" AS VARCHAR)'),
    _child_select(3, MODEL_THOUGHTS.name, ['c."content"'], [], "NULL", "NULL", "NULL", "NULL"),
]) + " ORDER BY kind, sort_at, sort_tie"


def _children(
    con: duckdb.DuckDBPyConnection, session: _Session, rows: list[tuple[Any, ...]]
) -> dict[str, dict[str, list[tuple[Any, ...]]]]:
    """The page rows' tokens, prompts, tool calls and thoughts, in one statement with one SELECT
    per child table, each in ``created_at, id`` order."""
    found: dict[str, dict[str, list[tuple[Any, ...]]]] = {kind: defaultdict(list) for kind in _KINDS}
    if not rows:
        return found
    page = session._replace(first_start=min(r[6] for r in rows), last_start=max(r[6] for r in rows))
    where, params = page.where()
    wanted = {r[0] for r in rows}
    sql = f'WITH rows AS MATERIALIZED (SELECT i."id", i."started_at" FROM {_I} AS i WHERE {where}) {_CHILDREN_SQL}'
    for (kind, iid, t1, t2, t3, t4, t5, n1, n2, n3, n4, flag, metadata, created, _, _) in con.execute(
        sql, params
    ).fetchall():
        if iid not in wanted:
            continue
        if kind == 0:
            found["tokens"][iid].append((iid, n1, n2, n3, n4, metadata))
        elif kind == 1:
            found["prompts"][iid].append((iid, t1))
        elif kind == 2:
            found["tools"][iid].append((iid, t1, t2, t3, t4, flag, t5, metadata, created))
        else:
            found["thoughts"][iid].append((iid, t1))
    return found


def _session_token_metadata(con: duckdb.DuckDBPyConnection, session: _Session) -> list[str | None]:
    """The metadata of every token row of the session's ended interceptions (decision 4)."""
    where, params = session.where()
    rows = con.execute(
        f'SELECT CAST(t."metadata" AS VARCHAR) FROM {ident(TOKEN_USAGES.name)} AS t '
        f'JOIN {_I} AS i ON t."interception_id" = i."id" AND t.{ident(PARENT_TIME)} = i."started_at" '
        f"WHERE {where} AND t.{ident(PARENT_TIME)} BETWEEN $1 AND $2",
        params,
    ).fetchall()
    return [r[0] for r in rows]


def _flatten(value: dict[str, Any], prefix: str, totals: dict[str, int]) -> None:
    for key, item in value.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(item, dict):
            _flatten(item, name, totals)
        elif type(item) is int and _INT64[0] <= item <= _INT64[1]:
            totals[name] = totals.get(name, 0) + item


def merge_token_metadata(texts: Iterable[str | None]) -> dict[str, int]:
    """§5.6: integer leaves of every JSON-object metadata, nested keys joined with '.', summed.

    Floats, exponents, strings (even numeric ones), booleans, nulls and arrays are skipped, and so
    are rows whose metadata is NULL, empty, malformed or not an object.
    """
    totals: dict[str, int] = {}
    for text in texts:
        if not text:
            continue
        try:
            value = json.loads(text)
        except ValueError:
            continue
        if isinstance(value, dict):
            _flatten(value, "", totals)
    return totals


def sanitize_hint(hint: str) -> str:
    """A credential hint as the threads endpoint shows it (§1.1)."""
    if hint == "":
        return ""
    return hint if len(hint) <= 15 and "..." in hint else "..."


def _usage(rows: Iterable[tuple[Any, ...]]) -> dict[str, Any]:
    rows = list(rows)
    return {
        "input_tokens": sum(r[1] for r in rows),
        "output_tokens": sum(r[2] for r in rows),
        "cache_read_input_tokens": sum(r[3] for r in rows),
        "cache_write_input_tokens": sum(r[4] for r in rows),
        "metadata": merge_token_metadata(r[5] for r in rows),
    }


def _tool_call(row: tuple[Any, ...]) -> dict[str, Any]:
    iid, tid, response_id, server_url, tool, injected, tool_input, metadata, created_at = row
    return {"id": tid, "interception_id": iid, "provider_response_id": response_id, "server_url": server_url,
            "tool": tool, "injected": injected, "input": tool_input,
            "metadata": json.loads(js.metadata(metadata)), "created_at": created_at}


def _thread(rows: list[tuple[Any, ...]], children: dict[str, dict[str, list[tuple[Any, ...]]]]) -> dict[str, Any]:
    root = next((r for r in rows if r[0] == r[1]), rows[0])
    tokens, tools, thoughts = children["tokens"], children["tools"], children["thoughts"]
    prompts = children["prompts"].get(root[0])
    return {
        "id": root[1],
        "prompt": prompts[0][1] if prompts else None,
        "model": root[2],
        "provider": root[3],
        "credential_kind": root[4],
        "credential_hint": sanitize_hint(root[5]),
        "started_at": min(r[7] for r in rows),
        "ended_at": max(r[8] for r in rows),
        "token_usage": _usage(t for r in rows for t in tokens.get(r[0], ())),
        "agentic_actions": [
            {
                "model": r[2],
                "token_usage": _usage(tokens.get(r[0], ())),
                "tool_calls": [_tool_call(t) for t in tools[r[0]]],
                "thinking": [{"text": t[1]} for t in thoughts.get(r[0], ())],
            }
            for r in rows
            if tools.get(r[0])
        ],
    }


def _response(
    header: tuple[Any, ...],
    rows: list[tuple[Any, ...]],
    children: dict[str, dict[str, list[tuple[Any, ...]]]],
    summary_metadata: dict[str, int],
) -> dict[str, Any]:
    (sid, user_id, username, name, avatar_url, providers, models, client, metadata, started_at, ended_at,
     input_tokens, output_tokens, cache_read, cache_write) = header[:15]
    threads: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        threads.setdefault(row[1], []).append(row)
    return {
        "id": sid,
        "initiator": initiator_dict(user_id, username, name, avatar_url),
        "providers": providers,
        "models": models,
        "client": client or None,
        "metadata": session_metadata(metadata),
        "page_started_at": min((r[7] for r in rows), default=None),
        "page_ended_at": max((r[8] for r in rows), default=None),
        "started_at": started_at,
        "ended_at": ended_at,
        "token_usage_summary": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_read_input_tokens": cache_read,
            "cache_write_input_tokens": cache_write,
            "metadata": summary_metadata,
        },
        "threads": [_thread(thread_rows, children) for thread_rows in threads.values()],
    }
