"""The session rollup computed in plain Python from the base tables: an oracle that shares no SQL
with the store's own rollup, for tests that check the maintained table stays exact."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from aibridge_store import Store

ROLLUP_COLUMNS = (
    "session_id", "initiator_id", "started_at", "last_started_at", "ended_at", "threads", "max_prompt_at",
    "last_active_at", "providers", "models", "client", "metadata", "input_tokens", "output_tokens",
    "cache_read_input_tokens", "cache_write_input_tokens", "last_prompt",
)


def _rows(store: Store, sql: str) -> list[dict[str, Any]]:
    if store.engine == "sqlite":  # the mirror, which the caller loads again from the file
        relation = store.sql(sql)
        return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
    cursor = store.connection.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def expected_rollup(store: Store) -> list[tuple[Any, ...]]:
    """One tuple per (session_id, initiator_id) with ended interceptions, in ``ROLLUP_COLUMNS``
    order, sorted: what the rollup must hold according to the documented rules."""
    ended = _rows(store, "SELECT id, session_id, initiator_id, started_at, ended_at, thread_root_id, provider, "
                         "model, client, CAST(metadata AS VARCHAR) AS metadata FROM aibridge_interceptions "
                         "WHERE ended_at IS NOT NULL")
    tokens: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in _rows(store, "SELECT * FROM aibridge_token_usages"):
        tokens[row["interception_id"]].append(row)
    prompts: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in _rows(store, "SELECT id, interception_id, prompt, created_at FROM aibridge_user_prompts"):
        prompts[row["interception_id"]].append(row)
    sessions: dict[tuple[Any, Any], list[dict[str, Any]]] = defaultdict(list)
    for row in ended:
        sessions[(row["session_id"], row["initiator_id"])].append(row)
    return sorted((_session(key, rows, tokens, prompts) for key, rows in sessions.items()), key=repr)


def _session(
    key: tuple[Any, Any],
    rows: list[dict[str, Any]],
    tokens: dict[Any, list[dict[str, Any]]],
    prompts: dict[Any, list[dict[str, Any]]],
) -> tuple[Any, ...]:
    first = min(rows, key=lambda r: (r["started_at"], r["id"]))
    usage = [t for r in rows for t in tokens[r["id"]]]
    asked = [p for r in rows for p in prompts[r["id"]]]
    newest = max(asked, key=lambda p: (p["created_at"], p["id"])) if asked else None
    max_prompt_at = newest["created_at"] if newest else None
    started_at = first["started_at"]
    return (
        key[0],
        key[1],
        started_at,
        max(r["started_at"] for r in rows),
        max(r["ended_at"] for r in rows),
        sum(1 for r in rows if r["thread_root_id"] is None),
        max_prompt_at,
        max_prompt_at if max_prompt_at is not None else started_at,
        sorted({r["provider"] for r in rows}),
        sorted({r["model"] for r in rows}),
        first["client"],
        None if first["metadata"] is None else json.loads(first["metadata"]),
        sum(t["input_tokens"] for t in usage),
        sum(t["output_tokens"] for t in usage),
        sum(t["cache_read_input_tokens"] for t in usage),
        sum(t["cache_write_input_tokens"] for t in usage),
        newest["prompt"] if newest else None,
    )


def stored_rollup(store: Store) -> list[tuple[Any, ...]]:
    """The maintained rollup, in the same shape as :func:`expected_rollup`."""
    columns = ", ".join(ROLLUP_COLUMNS).replace("metadata", "CAST(metadata AS VARCHAR) AS metadata")
    rows = _tuples(store, f"SELECT {columns} FROM aibridge_session_rollup")
    index = ROLLUP_COLUMNS.index("metadata")
    shaped = [
        (*row[:index], None if row[index] is None else json.loads(row[index]), *row[index + 1:]) for row in rows
    ]
    return sorted(shaped, key=repr)


def expected_totals(store: Store) -> list[tuple[Any, ...]]:
    """The interception totals computed in plain Python from the base tables, sorted, in the
    order of the totals table's columns."""
    from datetime import UTC

    children: dict[str, dict[Any, list[dict[str, Any]]]] = {}
    for table in ("token_usages", "user_prompts", "tool_usages", "model_thoughts"):
        grouped: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for row in _rows(store, f"SELECT * FROM aibridge_{table}"):
            grouped[row["interception_id"]].append(row)
        children[table] = grouped
    result = []
    for i in _rows(store, "SELECT id, initiator_id, provider, provider_name, model, client, session_id, started_at, "
                          "ended_at FROM aibridge_interceptions"):
        tokens = children["token_usages"][i["id"]]
        tools = children["tool_usages"][i["id"]]
        days = [t["created_at"].astimezone(UTC).date() for t in tokens]
        inputs = [t["input_tokens"] + t["cache_read_input_tokens"] + t["cache_write_input_tokens"] for t in tokens]
        result.append((
            *i.values(),
            len(tokens),
            *(sum(t[k] for t in tokens) for k in ("input_tokens", "output_tokens", "cache_read_input_tokens",
                                                  "cache_write_input_tokens")),
            sum(t["cost_micros"] is not None for t in tokens),
            sum(t["cost_micros"] or 0 for t in tokens),
            min(days, default=None), max(days, default=None), min(inputs, default=None), max(inputs, default=None),
            len(children["user_prompts"][i["id"]]),
            len(tools),
            sum(bool(t["injected"]) for t in tools),
            sum(bool(t["invocation_error"]) for t in tools),
            len(children["model_thoughts"][i["id"]]),
        ))
    return sorted(result, key=repr)


def stored_totals(store: Store) -> list[tuple[Any, ...]]:
    return sorted(_tuples(store, "SELECT * FROM aibridge_interception_totals"), key=repr)


def _tuples(store: Store, sql: str) -> list[tuple[Any, ...]]:
    if store.engine == "sqlite":  # the mirror, which the caller loads again from the file
        return store.sql(sql).fetchall()
    return store.connection.execute(sql).fetchall()
