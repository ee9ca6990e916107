"""Small hand-built datasets, written as Coder would export them."""

from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aibridge_store import Store
from aibridge_store._schema import TABLES

USER_A = uuid.UUID("11111111-1111-4111-8111-111111111111")
USER_B = uuid.UUID("22222222-2222-4222-8222-222222222222")
USER_GHOST = uuid.UUID("99999999-9999-4999-8999-999999999999")  # no users row


def uid(n: int) -> uuid.UUID:
    """A readable, ordered UUID: uid(1) < uid(2) < ..."""
    return uuid.UUID(f"00000000-0000-4000-8000-{n:012d}")


def ts(seconds: float, base: str = "2026-01-13 15:00:00") -> str:
    """A PostgreSQL-style timestamptz text ``seconds`` after ``base``."""
    moment = datetime.fromisoformat(base) + timedelta(seconds=seconds)
    text = moment.strftime("%Y-%m-%d %H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "+00"


INTERCEPTION_COLUMNS = [
    "id", "initiator_id", "provider", "model", "started_at", "metadata", "ended_at", "api_key_id",
    "client", "thread_parent_id", "thread_root_id", "client_session_id", "provider_name",
    "credential_kind", "credential_hint",
]


def interception(n: int, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": str(uid(n)),
        "initiator_id": str(USER_A),
        "provider": "anthropic",
        "model": "claude-opus-4-5",
        "started_at": ts(n * 10),
        "metadata": "{}",
        "ended_at": ts(n * 10 + 5),
        "api_key_id": "vg1sbUv97d",
        "client": "Claude Code",
        "thread_parent_id": None,
        "thread_root_id": None,
        "client_session_id": None,
        "provider_name": "anthropic",
        "credential_kind": "centralized",
        "credential_hint": "",
    }
    row.update(overrides)
    return row


def write_csv(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> Path:
    """Write rows as PostgreSQL's COPY CSV does: NULL unquoted-empty, '' quoted, quotes doubled."""
    out = io.StringIO()
    out.write(",".join(columns) + "\n")
    for row in rows:
        fields = []
        for column in columns:
            value = row.get(column)
            if value is None:
                fields.append("")
            elif value == "" or any(c in str(value) for c in ',"\n\r'):
                fields.append('"' + str(value).replace('"', '""') + '"')
            else:
                fields.append(str(value))
        out.write(",".join(fields) + "\n")
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def users_rows() -> list[dict[str, Any]]:
    return [
        {"id": str(USER_A), "username": "alice", "name": "Alice A", "avatar_url": "https://a.example/a.png",
         "email": "alice@example.com", "deleted": "f"},
        {"id": str(USER_B), "username": "Bob", "name": "", "avatar_url": "", "email": "", "deleted": "f"},
    ]


USER_COLUMNS = ["id", "username", "name", "avatar_url", "email", "deleted"]
TOKEN_COLUMNS = ["id", "interception_id", "provider_response_id", "input_tokens", "output_tokens", "metadata",
                 "created_at", "cache_read_input_tokens", "cache_write_input_tokens"]
PROMPT_COLUMNS = ["id", "interception_id", "provider_response_id", "prompt", "metadata", "created_at"]
TOOL_COLUMNS = ["id", "interception_id", "provider_response_id", "server_url", "tool", "input", "injected",
                "invocation_error", "metadata", "created_at", "provider_tool_call_id", "provider_item_id"]
THOUGHT_COLUMNS = ["interception_id", "content", "metadata", "created_at"]


def export_dir(
    root: Path,
    interceptions: list[dict[str, Any]],
    *,
    tokens: list[dict[str, Any]] = (),  # type: ignore[assignment]
    prompts: list[dict[str, Any]] = (),  # type: ignore[assignment]
    tools: list[dict[str, Any]] = (),  # type: ignore[assignment]
    thoughts: list[dict[str, Any]] = (),  # type: ignore[assignment]
    users: list[dict[str, Any]] | None = None,
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    write_csv(root / "aibridge_interceptions.csv", INTERCEPTION_COLUMNS, interceptions)
    write_csv(root / "users.csv", USER_COLUMNS, users_rows() if users is None else users)
    for name, columns, rows in (
        ("aibridge_token_usages", TOKEN_COLUMNS, tokens),
        ("aibridge_user_prompts", PROMPT_COLUMNS, prompts),
        ("aibridge_tool_usages", TOOL_COLUMNS, tools),
        ("aibridge_model_thoughts", THOUGHT_COLUMNS, thoughts),
    ):
        if rows:
            write_csv(root / f"{name}.csv", columns, list(rows))
    return root


def token(n: int, interception_n: int, *, seconds: float = 1, **overrides: Any) -> dict[str, Any]:
    row = {
        "id": str(uid(1000 + n)), "interception_id": str(uid(interception_n)), "provider_response_id": f"msg_{n}",
        "input_tokens": 10, "output_tokens": 20, "metadata": '{"cache_read_input": 3}',
        "created_at": ts(interception_n * 10 + seconds), "cache_read_input_tokens": 3, "cache_write_input_tokens": 0,
    }
    row.update(overrides)
    return row


def prompt(n: int, interception_n: int, text: str = "hello", *, seconds: float = 1, **overrides: Any) -> dict[str, Any]:
    row = {"id": str(uid(2000 + n)), "interception_id": str(uid(interception_n)), "provider_response_id": f"msg_{n}",
           "prompt": text, "metadata": "{}", "created_at": ts(interception_n * 10 + seconds)}
    row.update(overrides)
    return row


def tool(n: int, interception_n: int, *, seconds: float = 2, **overrides: Any) -> dict[str, Any]:
    row = {"id": str(uid(3000 + n)), "interception_id": str(uid(interception_n)), "provider_response_id": f"msg_{n}",
           "server_url": None, "tool": "Bash", "input": '{"command":"ls"}', "injected": "f", "invocation_error": None,
           "metadata": "{}", "created_at": ts(interception_n * 10 + seconds), "provider_tool_call_id": f"toolu_{n}",
           "provider_item_id": None}
    row.update(overrides)
    return row


def stored_rows(store: Store, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """The rows of DuckDB SQL over the store's tables, in the store's types on either engine. A
    SQLite store's file is read again for it (its mirror is loaded anew), so that what is checked
    is what the file holds."""
    if store.engine == "sqlite":
        store._drop_mirror()  # type: ignore[attr-defined]
        return store.sql(sql, params).fetchall()
    return store.connection.execute(sql, params).fetchall()


def table_rows(store: Store, table: str, order: str = "1") -> list[tuple[Any, ...]]:
    return stored_rows(store, f'SELECT * FROM "{table}" ORDER BY {order}')


def snapshot(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, for "nothing changed" assertions."""
    return {name: sorted(stored_rows(store, f'SELECT * FROM "{name}"'), key=repr) for name in TABLES}
