"""Compose coderd log lines the way slog writes them (docs/imports.md, "The structured log").

``gen`` picks the emitter generation: 1 (PR #21492: no client, session, thread or cache fields),
2 (coderd's enriched emitter: thread ids, nil UUID when unknown) or 3 (the gateway's
LogRecorder: correlating tool call id but no thread ids, context fields prepended, ``interception_id``
twice, times with a local offset).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from tests.helpers.rows import USER_A

NIL = "00000000-0000-0000-0000-000000000000"
BASE = datetime(2026, 4, 14, 9, 12, 3, tzinfo=UTC)


def at(seconds: float, nanos: int = 0, offset_hours: int = 0) -> str:
    """An RFC 3339 time as Go prints it: 0-9 fractional digits, trailing zeros dropped."""
    moment = BASE + timedelta(seconds=seconds)
    zone = timezone(timedelta(hours=offset_hours))
    local = moment.astimezone(zone)
    total_nanos = local.microsecond * 1000 + nanos
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if total_nanos:
        text += "." + f"{total_nanos:09d}".rstrip("0")
    return text + ("Z" if offset_hours == 0 else f"{offset_hours:+03d}:00")


def envelope(fields: dict[str, Any], *, gen: int = 2, stackdriver: bool = False, prefix: str = "") -> str:
    """One log line holding an interception record."""
    if stackdriver:
        line: dict[str, Any] = {
            "logging.googleapis.com/severity": "INFO",
            "severity": "INFO",
            "message": "interception log",
            "timestampSeconds": 1776157929,
            "timestampNanos": 131906777,
            "logging.googleapis.com/operation": {"producer": "coderd.aibridgedserver"},
        }
        line.update(fields)
        return json.dumps(line, separators=(",", ":"))
    func = (
        "github.com/coder/coder/v2/aibridge/recorder.(*LogRecorder).logStructured"
        if gen == 3
        else "github.com/coder/coder/v2/coderd/aibridgedserver.(*Server).Record"
    )
    head = json.dumps(
        {
            "ts": "2026-04-14T09:12:59.521870113Z",
            "level": "INFO",
            "msg": "interception log",
            "caller": "/home/runner/work/coder/coder/coderd/aibridgedserver/aibridgedserver.go:172",
            "func": func,
            "logger_names": ["coderd", "aibridged" if gen == 3 else "aibridgedserver"],
        },
        separators=(",", ":"),
    )[:-1]
    body = json.dumps(fields, separators=(",", ":"))
    if gen == 3:
        # Context fields come first and repeat interception_id (slog writes a list, not a map).
        context = json.dumps(
            {"request_id": "5a0b6c1e-7d2f-4e3a-9b8c-1d2e3f4a5b6c", "interception_id": fields["interception_id"]},
            separators=(",", ":"),
        )
        body = context[:-1] + "," + body[1:]
    return prefix + head + ',"fields":' + body + "}"


def start(
    iid: uuid.UUID | str,
    seconds: float,
    *,
    gen: int = 2,
    initiator: uuid.UUID | str = USER_A,
    provider: str = "anthropic",
    model: str = "claude-opus-4-5",
    client: str = "Claude Code",
    session: str = "",
    correlating: str = "",
    parent: uuid.UUID | str | None = None,
    root: uuid.UUID | str | None = None,
    metadata: dict[str, Any] | None = None,
    nanos: int = 0,
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "record_type": "interception_start",
        "interception_id": str(iid),
        "initiator_id": str(initiator),
        "api_key_id": "vg1sbUv97d",
        "provider": provider,
        "model": model,
    }
    if gen >= 2:
        fields["client"] = client
        fields["client_session_id"] = session
    fields["started_at"] = at(seconds, nanos, offset_hours=2 if gen == 3 else 0)
    fields["metadata"] = metadata if metadata is not None else {"request_user_agent": "claude-cli/2.1.4"}
    if gen >= 2:
        fields["correlating_tool_call_id"] = correlating
    if gen == 2:
        fields["thread_parent_id"] = str(parent) if parent else NIL
        fields["thread_root_id"] = str(root) if root else NIL
    return fields


def end(iid: uuid.UUID | str, seconds: float, nanos: int = 0) -> dict[str, Any]:
    return {"record_type": "interception_end", "interception_id": str(iid), "ended_at": at(seconds, nanos)}


def token(
    iid: uuid.UUID | str,
    msg: str,
    seconds: float,
    inp: int,
    out: int,
    *,
    gen: int = 2,
    cache_read: int = 0,
    cache_write: int = 0,
    metadata: dict[str, Any] | None = None,
    nanos: int = 0,
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "record_type": "token_usage",
        "interception_id": str(iid),
        "msg_id": msg,
        "input_tokens": inp,
        "output_tokens": out,
    }
    if gen >= 2:
        fields["cache_read_input_tokens"] = cache_read
        fields["cache_write_input_tokens"] = cache_write
    fields["created_at"] = at(seconds, nanos, offset_hours=2 if gen == 3 else 0)
    if metadata is None:
        metadata = {} if gen == 3 else {"cache_creation_input": cache_write, "cache_read_input": cache_read}
    fields["metadata"] = metadata
    return fields


def prompt(iid: uuid.UUID | str, msg: str, seconds: float, text: str, nanos: int = 0) -> dict[str, Any]:
    return {
        "record_type": "prompt_usage",
        "interception_id": str(iid),
        "msg_id": msg,
        "prompt": text,
        "created_at": at(seconds, nanos),
        "metadata": {},
    }


def tool(
    iid: uuid.UUID | str,
    msg: str,
    seconds: float,
    name: str = "Bash",
    *,
    gen: int = 2,
    call_id: str = "",
    server_url: str = "",
    injected: bool = False,
    error: str = "",
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "record_type": "tool_usage",
        "interception_id": str(iid),
        "msg_id": msg,
    }
    if gen >= 2:
        fields["tool_call_id"] = call_id
        fields["item_id"] = ""
    fields.update(
        {
            "tool": name,
            "input": json.dumps({"command": "ls -la"}, separators=(",", ":")),
            "server_url": server_url,
            "injected": injected,
            "invocation_error": error,
            "created_at": at(seconds),
            "metadata": {},
        }
    )
    return fields


def thought(iid: uuid.UUID | str, seconds: float, content: str) -> dict[str, Any]:
    return {
        "record_type": "model_thought",
        "interception_id": str(iid),
        "content": content,
        "created_at": at(seconds),
        "metadata": {"source": "thinking"},
    }


def other_line(n: int = 0) -> str:
    """An ordinary coderd log line (no interception record)."""
    return json.dumps(
        {"ts": "2026-04-14T09:12:00.1Z", "level": "INFO", "msg": f"http request {n}", "fields": {"status": 200}},
        separators=(",", ":"),
    )


def docker(line: str, chunk: int | None = None) -> list[str]:
    """Docker's json-file driver: one entry per 16 KiB chunk (``chunk`` to split earlier)."""
    text = line + "\n"
    size = chunk or 16384
    parts = [text[i : i + size] for i in range(0, len(text), size)]
    return [json.dumps({"log": p, "stream": "stderr", "time": "2026-04-14T09:12:03.5Z"}) for p in parts]


def cri(line: str, chunk: int | None = None) -> list[str]:
    """A Kubernetes CRI file: ``<time> stderr P|F <text>``; P chunks join up to the F one."""
    size = chunk or 16384
    parts = [line[i : i + size] for i in range(0, len(line), size)] or [""]
    return [
        f"2026-04-14T09:12:03.521870113Z stderr {'F' if i == len(parts) - 1 else 'P'} {p}"
        for i, p in enumerate(parts)
    ]
