"""Pydantic models of Coder's response bodies; ``model_dump(mode="json")`` is Coder's JSON."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, PlainSerializer


def go_time_text(value: datetime) -> str:
    """RFC 3339 in UTC with ``Z`` and the fraction trimmed of trailing zeros, as Go writes it."""
    value = value.astimezone(UTC)
    text = (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T"
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    )
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


_EXACT = 2**53


def _go_value(value: Any) -> Any:
    """A JSON value as Go's ``map[string]any`` decoding leaves it: every number is a float64."""
    kind = type(value)
    if kind is int:
        return value if -_EXACT <= value <= _EXACT else _go_value(float(value))
    if kind is float:
        return int(value) if value.is_integer() and abs(value) < 1e21 else value
    if kind is dict:
        return {k: _go_value(v) for k, v in value.items()}
    if kind is list:
        return [_go_value(v) for v in value]
    return value


def _go_metadata(value: dict[str, Any]) -> dict[str, Any]:
    for item in value.values():
        if type(item) is not str:
            return {k: _go_value(v) for k, v in value.items()}
    return value


Timestamp = Annotated[datetime, PlainSerializer(go_time_text, return_type=str, when_used="json")]
Metadata = Annotated[dict[str, Any], AfterValidator(_go_metadata)]
"""A metadata object with numbers as Go decodes them (integral values without a fraction,
integers beyond 2**53 rounded like float64)."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MinimalUser(_Model):
    id: uuid.UUID
    username: str
    name: str
    avatar_url: str


class TokenUsage(_Model):
    id: uuid.UUID
    interception_id: uuid.UUID
    provider_response_id: str
    input_tokens: int
    output_tokens: int
    cache_read_input_tokens: int
    cache_write_input_tokens: int
    metadata: Metadata | None
    created_at: Timestamp


class UserPrompt(_Model):
    id: uuid.UUID
    interception_id: uuid.UUID
    provider_response_id: str
    prompt: str
    metadata: Metadata | None
    created_at: Timestamp


class ToolUsage(_Model):
    id: uuid.UUID
    interception_id: uuid.UUID
    provider_response_id: str
    server_url: str
    tool: str
    input: str
    injected: bool
    invocation_error: str
    metadata: Metadata | None
    created_at: Timestamp


class Interception(_Model):
    id: uuid.UUID
    api_key_id: str | None
    initiator: MinimalUser
    provider: str
    provider_name: str
    model: str
    client: str | None
    metadata: Metadata | None
    started_at: Timestamp
    ended_at: Timestamp | None
    token_usages: list[TokenUsage]
    user_prompts: list[UserPrompt]
    tool_usages: list[ToolUsage]


class InterceptionsPage(_Model):
    """``GET /api/v2/aibridge/interceptions``: the total ``count`` and one page of ``results``."""

    count: int
    results: list[Interception]
