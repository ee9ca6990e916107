"""The search keys as data: which column each key filters, how its value is read, and which
keys each endpoint accepts (docs/semantics.md, "Search queries")."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .ast import AtLeast, AtMost, Equals, StartsWith


@dataclass(frozen=True, slots=True)
class Col:
    """A column of ``aibridge_interceptions`` (names come from this registry only)."""

    name: str


@dataclass(frozen=True, slots=True)
class Coalesce:
    """``COALESCE(column, fallback)``; the fallback is bound as a parameter like any value."""

    column: Col
    fallback: str


class ValueType(Enum):
    USER = "user"  # me, a UUID, or a username
    TEXT = "text"
    TIME = "time"  # RFC 3339, Go's parser


@dataclass(frozen=True, slots=True)
class Field:
    key: str
    target: Col | Coalesce
    value_type: ValueType
    node: type = Equals


FIELDS: dict[str, Field] = {
    f.key: f
    for f in (
        Field("initiator", Col("initiator_id"), ValueType.USER),
        Field("provider", Col("provider"), ValueType.TEXT),
        Field("provider_name", Col("provider_name"), ValueType.TEXT),
        Field("model", Col("model"), ValueType.TEXT),
        Field("client", Coalesce(Col("client"), "Unknown"), ValueType.TEXT),
        Field("session_id", Col("session_id"), ValueType.TEXT),
        Field("started_after", Col("started_at"), ValueType.TIME, AtLeast),
        Field("started_before", Col("started_at"), ValueType.TIME, AtMost),
        Field("model_prefix", Col("model"), ValueType.TEXT, StartsWith),
        Field("client_prefix", Coalesce(Col("client"), "Unknown"), ValueType.TEXT, StartsWith),
    )
}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """What one read endpoint accepts in ``q``.

    ``keys`` maps each accepted search key to its registry field, in the order Coder checks them.
    """

    name: str
    keys: dict[str, str]
    default_key: str | None
    invalid_message: str


INTERCEPTIONS_SEARCH = Endpoint(
    "interceptions",
    {k: k for k in ("initiator", "provider", "provider_name", "model", "client", "started_after", "started_before")},
    "initiator",
    "Invalid workspace search query.",
)
SESSIONS_SEARCH = Endpoint(
    "sessions",
    {
        k: k
        for k in (
            "initiator",
            "provider",
            "provider_name",
            "model",
            "client",
            "session_id",
            "started_after",
            "started_before",
        )
    },
    None,
    "Invalid session search query.",
)
MODELS_SEARCH = Endpoint("models", {"model": "model_prefix"}, "model", "Invalid AI Bridge models search query.")
CLIENTS_SEARCH = Endpoint("clients", {"client": "client_prefix"}, "client", "Invalid AI Bridge clients search query.")

ENDPOINTS = {e.name: e for e in (INTERCEPTIONS_SEARCH, SESSIONS_SEARCH, MODELS_SEARCH, CLIENTS_SEARCH)}
