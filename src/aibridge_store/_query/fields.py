"""The search keys as data: which column each key filters, how its value is read, and which
keys each endpoint accepts (docs/semantics.md, "Search queries"; README, "The search language").

Most keys test a column of the interception itself. The extended language's keys also test what
the import keeps per interception (:class:`Totals`: token sums, counts of prompts, tool calls,
errors and thoughts) and the child rows (:class:`Child`: prompt text, tool calls, thoughts): a
filter on those selects the interceptions whose id is among the matching rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .ast import AtLeast, AtMost, Equals, StartsWith


@dataclass(frozen=True, slots=True)
class Col:
    """A column of ``aibridge_interceptions`` (names come from this registry only);
    ``never_null`` when the store declares it NOT NULL."""

    name: str
    never_null: bool = False


@dataclass(frozen=True, slots=True)
class Coalesce:
    """``COALESCE(column, fallback)``; the fallback is bound as a parameter like any value."""

    column: Col
    fallback: str


@dataclass(frozen=True, slots=True)
class Missing:
    """Whether a column is NULL (``is:in_flight``: no end time yet)."""

    column: Col


@dataclass(frozen=True, slots=True)
class Duration:
    """Microseconds from ``started_at`` to ``ended_at`` (NULL while in flight)."""


INTERCEPTIONS_TABLE = "aibridge_interceptions"
"""The table the filters select rows of (``_schema.INTERCEPTIONS``)."""
TOTALS_TABLE = "aibridge_interception_totals"
"""The table of per-interception totals the imports keep (``_schema.INTERCEPTION_TOTALS``)."""


@dataclass(frozen=True, slots=True)
class Totals:
    """A column of the interception totals."""

    column: str


@dataclass(frozen=True, slots=True)
class Child:
    """A column of one of the interception's child tables."""

    table: str
    column: str


SESSIONS_TABLE = "aibridge_session_rollup"
"""The sessions endpoint's rollup, one row per (session id, initiator) (``_schema.SESSION_ROLLUP``)."""


SESSION_COSTS_TABLE = "aibridge_session_costs"
"""The cost of each (session id, initiator)'s ended interceptions (``cost_usd``), priced when a
query asks for it and seen by that query only (never stored: prices change)."""


@dataclass(frozen=True, slots=True)
class SessionFigure:
    """A figure of the interception's whole session, from the session rollup: ``tokens`` (input,
    output and cache tokens), ``threads`` or ``duration`` (first start to last end); or its
    ``cost``, from the session costs."""

    name: str


Target = Col | Coalesce | Missing | Duration | Totals | Child | SessionFigure


class ValueType(Enum):
    USER = "user"  # me, a UUID, or a username
    TEXT = "text"
    TIME = "time"  # RFC 3339, Go's parser
    COUNT = "count"  # a whole number, compared (>, >=, <, <=, a..b)
    DURATION = "duration"  # 30s, 1.5m, 2h, 500ms, 1d (a number alone is seconds), compared
    CONTAINS = "contains"  # text found anywhere, ignoring case
    WHEN = "when"  # a day, a span of days, a time or a time back from now, compared
    FLAG = "flag"  # a name from FLAGS
    USD = "usd"  # an amount of US dollars (1, 0.25, $5), compared


@dataclass(frozen=True, slots=True)
class Field:
    key: str
    target: Target
    value_type: ValueType
    node: type = Equals
    doc: str = ""
    """What the key selects, for ``aibridge-store help search``."""


FIELDS: dict[str, Field] = {
    f.key: f
    for f in (
        Field("initiator", Col("initiator_id", never_null=True), ValueType.USER,
              doc="the user who made the request (me, a UUID or a username)"),
        Field("provider", Col("provider", never_null=True), ValueType.TEXT,
              doc="the provider type (anthropic, openai, copilot...)"),
        Field("provider_name", Col("provider_name", never_null=True), ValueType.TEXT,
              doc="the provider's configured name (bedrock, vertex...)"),
        Field("model", Col("model", never_null=True), ValueType.TEXT, doc="the model"),
        Field("client", Coalesce(Col("client"), "Unknown"), ValueType.TEXT, doc="the client (Unknown: none recorded)"),
        Field("session_id", Col("session_id", never_null=True), ValueType.TEXT, doc="the session id (sessions only)"),
        Field("started_after", Col("started_at", never_null=True), ValueType.TIME, AtLeast,
              doc="started at or after a quoted RFC 3339 time (or a day: from its start)"),
        Field("started_before", Col("started_at", never_null=True), ValueType.TIME, AtMost,
              doc="started at or before a quoted RFC 3339 time (or a day: through its end)"),
        Field("model_prefix", Col("model", never_null=True), ValueType.TEXT, StartsWith),
        Field("client_prefix", Coalesce(Col("client"), "Unknown"), ValueType.TEXT, StartsWith),
        # The extended language's keys.
        Field("input_tokens", Totals("input_tokens"), ValueType.COUNT, doc="input tokens of all its token usages"),
        Field("output_tokens", Totals("output_tokens"), ValueType.COUNT, doc="output tokens"),
        Field("cache_read_tokens", Totals("cache_read_input_tokens"), ValueType.COUNT, doc="cache-read tokens"),
        Field("cache_write_tokens", Totals("cache_write_input_tokens"), ValueType.COUNT, doc="cache-write tokens"),
        Field("duration", Duration(), ValueType.DURATION, doc="end minus start (none while in flight)"),
        Field("started", Col("started_at", never_null=True), ValueType.WHEN,
              doc="when it started (days in the caller's time zone)"),
        Field("prompt", Child("aibridge_user_prompts", "prompt"), ValueType.CONTAINS, doc="a prompt holds the text"),
        Field("tool", Child("aibridge_tool_usages", "tool"), ValueType.TEXT, doc="a tool call has that tool name"),
        Field("mcp", Child("aibridge_tool_usages", "server_url"), ValueType.CONTAINS,
              doc="a tool call's MCP server URL holds the text"),
        Field("tool_input", Child("aibridge_tool_usages", "input"), ValueType.CONTAINS,
              doc="a tool call's input holds the text"),
        Field("thought", Child("aibridge_model_thoughts", "content"), ValueType.CONTAINS,
              doc="a model thought holds the text"),
        Field("session.tokens", SessionFigure("tokens"), ValueType.COUNT,
              doc="the whole session's input, output and cache tokens (sessions only)"),
        Field("session.threads", SessionFigure("threads"), ValueType.COUNT,
              doc="the whole session's threads (sessions only)"),
        Field("session.duration", SessionFigure("duration"), ValueType.DURATION,
              doc="the whole session, first start to last end (sessions only)"),
        Field("session.cost", SessionFigure("cost"), ValueType.USD,
              doc="the whole session's cost in US dollars, as the cost report prices it (sessions only)"),
        Field("has", Totals(""), ValueType.FLAG, doc="has a prompt, tool call, failed tool call or thought"),
        Field("is", Col(""), ValueType.FLAG, doc="in flight (no end yet), or on the user's own key"),
        # What the flags test (not keys of their own).
        Field("prompts", Totals("prompts"), ValueType.COUNT),
        Field("tool_calls", Totals("tool_calls"), ValueType.COUNT),
        Field("tool_errors", Totals("tool_errors"), ValueType.COUNT),
        Field("thoughts", Totals("thoughts"), ValueType.COUNT),
        Field("in_flight", Missing(Col("ended_at")), ValueType.FLAG),
        Field("credential_kind", Col("credential_kind", never_null=True), ValueType.TEXT),
    )
}

FLAGS: dict[str, dict[str, tuple[str, object]]] = {
    "has": {"prompt": ("prompts", 0), "tool": ("tool_calls", 0), "tool_error": ("tool_errors", 0),
            "thinking": ("thoughts", 0)},
    "is": {"in_flight": ("in_flight", True), "byok": ("credential_kind", "byok")},
}
"""``has:name`` is ``field > value``; ``is:name`` is ``field = value``."""

EXTENDED_KEYS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "duration", "started",
                 "prompt", "tool", "mcp", "tool_input", "thought", "has", "is")
"""Keys of the extended language, for interceptions, sessions and reports; unknown to Coder."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """What one read endpoint accepts in ``q``.

    ``keys`` maps each accepted search key to its registry field, in the order Coder checks them.
    """

    name: str
    keys: dict[str, str]
    default_key: str | None
    invalid_message: str
    extended: tuple[str, ...] = ()
    """Keys the extended language adds (not read strictly)."""


INTERCEPTIONS_SEARCH = Endpoint(
    "interceptions",
    {k: k for k in ("initiator", "provider", "provider_name", "model", "client", "started_after", "started_before")},
    "initiator",
    "Invalid workspace search query.",
    EXTENDED_KEYS,
)
SESSION_KEYS = ("session.tokens", "session.threads", "session.duration", "session.cost")
"""Keys of the extended language that test a whole session, for the sessions endpoint."""
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
    (*EXTENDED_KEYS, *SESSION_KEYS),
)
MODELS_SEARCH = Endpoint("models", {"model": "model_prefix"}, "model", "Invalid AI Bridge models search query.")
CLIENTS_SEARCH = Endpoint("clients", {"client": "client_prefix"}, "client", "Invalid AI Bridge clients search query.")

ENDPOINTS = {e.name: e for e in (INTERCEPTIONS_SEARCH, SESSIONS_SEARCH, MODELS_SEARCH, CLIENTS_SEARCH)}
