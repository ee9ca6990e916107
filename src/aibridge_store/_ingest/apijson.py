"""Saved API responses (docs/imports.md, "Saved API responses"): ``{count, results}`` interception pages, the bare array
``coder aibridge interceptions list`` prints, ``{count, sessions}`` pages and session threads
responses, one or several JSON values per file.

Only what the JSON carries is imported; nothing is invented:

* interception pages give interceptions (no thread ids, client session id or credentials: those
  stay at Coder's defaults), their token usages, prompts and tool usages, and their initiators;
* a sessions page gives only its initiators (sessions hold no interceptions);
* a threads response gives its tool calls and its initiator (threads carry aggregates, not rows).

The API writes a NULL ``server_url`` or ``invocation_error`` as ``""``; both are stored as NULL.
Initiators only fill in users that are not stored yet.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from .._schema import INTERCEPTIONS, TABLES, TOKEN_USAGES, TOOL_USAGES, USER_PROMPTS, USERS, Table
from ..errors import ImportDataError
from .base import ROW, Progress, Source, open_input, read_blocks, text_array


@dataclass
class _Rows:
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, table: Table, row: dict[str, Any]) -> None:
        self.tables.setdefault(table.name, []).append(row)


def _values(text: str, source: str) -> Iterator[Any]:
    """Every JSON value in ``text`` (pages may be concatenated)."""
    decoder = json.JSONDecoder()
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return
        try:
            value, position = decoder.raw_decode(text, position)
        except RecursionError:
            raise ImportDataError("nests too deeply to read", source=source, row=_line(text, position)) from None
        except ValueError as e:
            raise ImportDataError(f"not valid JSON: {e}", source=source, row=_line(text, position)) from e
        yield value


def _line(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _empty_as_null(value: Any) -> Any:
    return None if value == "" else value


def _user(rows: _Rows, user: Any) -> None:
    if isinstance(user, dict) and user.get("id"):
        rows.add(USERS, {"id": user["id"], "username": user.get("username") or "", "name": user.get("name"),
                         "avatar_url": user.get("avatar_url")})


def _interception(rows: _Rows, item: dict[str, Any]) -> None:
    initiator = item.get("initiator") or {}
    rows.add(INTERCEPTIONS, {
        "id": item.get("id"), "initiator_id": initiator.get("id"), "provider": item.get("provider"),
        "provider_name": item.get("provider_name"), "model": item.get("model"), "client": item.get("client"),
        "metadata": _json_text(item.get("metadata")), "started_at": item.get("started_at"),
        "ended_at": item.get("ended_at"), "api_key_id": item.get("api_key_id"),
    })
    _user(rows, initiator)
    for usage in item.get("token_usages") or ():
        rows.add(TOKEN_USAGES, {**usage, "metadata": _json_text(usage.get("metadata"))})
    for prompt in item.get("user_prompts") or ():
        rows.add(USER_PROMPTS, {**prompt, "metadata": _json_text(prompt.get("metadata"))})
    for tool in item.get("tool_usages") or ():
        _tool(rows, tool)


def _tool(rows: _Rows, tool: dict[str, Any]) -> None:
    rows.add(TOOL_USAGES, {
        **tool, "metadata": _json_text(tool.get("metadata")), "server_url": _empty_as_null(tool.get("server_url")),
        "invocation_error": _empty_as_null(tool.get("invocation_error")),
    })


def _read_value(rows: _Rows, value: Any, source: str, number: int) -> None:
    if isinstance(value, list):
        for item in value:
            if not isinstance(item, dict):
                raise ImportDataError("expected interception objects in the array", source=source, row=number)
            _interception(rows, item)
    elif isinstance(value, dict) and "results" in value:
        for item in value.get("results") or ():
            _interception(rows, item)
    elif isinstance(value, dict) and "sessions" in value:
        sessions = value.get("sessions") or []
        for session in sessions:
            _user(rows, session.get("initiator"))
        rows.notes.append(f"{source}: {len(sessions)} session(s) read; a sessions page holds no interceptions, "
                          "so only their initiators were imported")
    elif isinstance(value, dict) and "threads" in value:
        _user(rows, value.get("initiator"))
        calls = [call for thread in value.get("threads") or () for action in thread.get("agentic_actions") or ()
                 for call in action.get("tool_calls") or ()]
        for call in calls:
            _tool(rows, call)
        rows.notes.append(f"{source}: session {value.get('id')!r} threads read; {len(calls)} tool call(s) and the "
                          "initiator imported (threads carry aggregates, not interceptions)")
    else:
        raise ImportDataError(
            "not a saved AI Bridge API response (expected {count, results}, {count, sessions}, a threads "
            "response or an array of interceptions)",
            source=source,
            row=number,
        )


MAX_DOCUMENT_BYTES = 256 << 20
"""The largest saved API response read (a response is parsed whole; Coder's pages are far smaller)."""


def read_whole(blocks: Iterable[bytes], source: str) -> bytes:
    """The blocks joined, up to :data:`MAX_DOCUMENT_BYTES`."""
    chunks, size = [], 0
    for block in blocks:
        size += len(block)
        if size > MAX_DOCUMENT_BYTES:
            raise ImportDataError(
                f"a saved API response larger than {MAX_DOCUMENT_BYTES >> 20} MiB is more than this reader takes; "
                "split it into pages",
                source=source,
            )
        chunks.append(block)
    return b"".join(chunks)


def read_api_json(path: Path, progress: Progress | None = None) -> tuple[list[Source], list[str]]:
    """The sources a saved API response file holds, and notes on what it could not hold."""
    with open_input(path, progress) as stream:
        raw = read_whole(read_blocks(stream), str(path))
    return api_json_sources(str(path), raw)


def api_json_sources(name: str, raw: bytes) -> tuple[list[Source], list[str]]:
    """The sources of a saved API response read whole (a file, or standard input)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ImportDataError(f"not UTF-8 text: {e}", source=name) from e
    rows = _Rows()
    for number, value in enumerate(_values(text, name), start=1):
        _read_value(rows, value, name, number)
    sources = []
    for table, items in rows.tables.items():
        sources.append(_source(name, TABLES[table], items))
    return sources, rows.notes


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _source(path: str, table: Table, items: list[dict[str, Any]]) -> Source:
    names = [c.name for c in table.columns if any(c.name in item for item in items)]
    rows = range(1, len(items) + 1)
    source = f"{path} ({table.name})"
    arrays = [text_array([_text(item.get(name)) for item in items], source, rows, name) for name in names]
    arrays.append(pa.array(rows, pa.int64()))
    batch = pa.RecordBatch.from_arrays(arrays, names=[*names, ROW])
    return Source(name=f"{path} ({table.name})", table=table, schema=batch.schema, batches=iter([batch]),
                  insert_only=table is USERS)
