"""Pydantic models of Coder's response bodies; ``model_dump(mode="json")`` is Coder's JSON."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from ._gocompat import go_metadata, go_time_text

if TYPE_CHECKING:
    import pyarrow as pa

Timestamp = Annotated[datetime, PlainSerializer(go_time_text, return_type=str, when_used="json")]
Metadata = Annotated[dict[str, Any], AfterValidator(go_metadata)]
"""A metadata object with numbers as Go decodes them (integral values without a fraction,
integers beyond 2**53 rounded like float64)."""


def _to_arrow(model: type[BaseModel], items: Sequence[BaseModel]) -> pa.Table:
    # Arrow loads here, on first use: reading pages never needs it.
    from ._reports.arrow import models_to_arrow

    return models_to_arrow(model, items)


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

    def to_arrow(self) -> pa.Table:
        """The page's interceptions as an Arrow table, one row each (children as lists of structs)."""
        return _to_arrow(Interception, self.results)


class _OmitsEmpty(_Model):
    """A model some of whose keys Coder leaves out of its JSON when they have no value."""

    _omit_if_none: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _drop_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for key in self._omit_if_none:
            if data.get(key) is None:
                data.pop(key, None)
        return data


class TokenUsageSummary(_Model):
    input_tokens: int
    output_tokens: int
    cache_read_input_tokens: int
    cache_write_input_tokens: int


class Session(_OmitsEmpty):
    """One row of ``GET /api/v2/aibridge/sessions``: a (session id, initiator) pair."""

    _omit_if_none = frozenset({"ended_at", "last_prompt"})

    id: str
    initiator: MinimalUser
    providers: list[str]
    models: list[str]
    client: str | None
    metadata: Metadata
    started_at: Timestamp
    ended_at: Timestamp | None = None
    last_active_at: Timestamp
    threads: int
    token_usage_summary: TokenUsageSummary
    last_prompt: str | None = None


class SessionsPage(_Model):
    """``GET /api/v2/aibridge/sessions``: the total ``count`` and one page of ``sessions``."""

    count: int
    sessions: list[Session]

    def to_arrow(self) -> pa.Table:
        """The page's sessions as an Arrow table, one row each."""
        return _to_arrow(Session, self.sessions)

    @property
    def next_cursor(self) -> dict[str, str]:
        """The arguments that ask for the page after this one: the last session's id and
        initiator, which name exactly one session ({} for an empty page)."""
        if not self.sessions:
            return {}
        last = self.sessions[-1]
        return {"after_session_id": last.id, "after_initiator_id": str(last.initiator.id)}


class TokenUsageTotals(_Model):
    """Summed token counts and the merged integer counters of their metadata (docs/semantics.md, "Token totals")."""

    input_tokens: int
    output_tokens: int
    cache_read_input_tokens: int
    cache_write_input_tokens: int
    metadata: dict[str, int]


class ToolCall(_Model):
    id: uuid.UUID
    interception_id: uuid.UUID
    provider_response_id: str
    server_url: str
    tool: str
    injected: bool
    input: str
    metadata: Metadata | None
    created_at: Timestamp


class Thinking(_Model):
    text: str


class AgenticAction(_Model):
    model: str
    token_usage: TokenUsageTotals
    tool_calls: list[ToolCall]
    thinking: list[Thinking]


class Thread(_OmitsEmpty):
    _omit_if_none = frozenset({"prompt"})

    id: uuid.UUID
    prompt: str | None = None
    model: str
    provider: str
    credential_kind: str
    credential_hint: str
    started_at: Timestamp
    ended_at: Timestamp
    token_usage: TokenUsageTotals
    agentic_actions: list[AgenticAction]


class SessionThreads(_OmitsEmpty):
    """``GET /api/v2/aibridge/sessions/{session_id}``: a session's header and a page of threads."""

    _omit_if_none = frozenset({"client", "page_started_at", "page_ended_at", "ended_at"})

    id: str
    initiator: MinimalUser
    providers: list[str]
    models: list[str]
    client: str | None = None
    metadata: Metadata
    page_started_at: Timestamp | None = None
    page_ended_at: Timestamp | None = None
    started_at: Timestamp
    ended_at: Timestamp | None = None
    token_usage_summary: TokenUsageTotals
    threads: list[Thread]

    def to_arrow(self) -> pa.Table:
        """The page's threads as an Arrow table, one row each (agentic actions as lists of structs)."""
        return _to_arrow(Thread, self.threads)


__all__ = [
    "AgenticAction",
    "Interception",
    "InterceptionsPage",
    "MinimalUser",
    "Session",
    "SessionThreads",
    "SessionsPage",
    "Thinking",
    "Thread",
    "TokenUsage",
    "TokenUsageSummary",
    "TokenUsageTotals",
    "ToolCall",
    "ToolUsage",
    "UserPrompt",
    "go_time_text",
]
