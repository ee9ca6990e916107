"""Tables, columns and DDL: the single source of truth for what the store holds.

The tables mirror Coder's (docs/semantics.md, "Data model"). Every SQL identifier the library writes
comes from here or from the query field registry, never from input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

DATABASE_SCHEMES = ("postgresql://", "postgres://")
"""How a live Coder database is named where a path could be given (imports read it directly)."""
SCHEMA_VERSION = 4
META_TABLE = "aibridge_store_meta"
PARENT_TIME = "interception_started_at"
"""Kept on child rows: their interception's ``started_at`` (NULL while it is unknown)."""
LAST_PROMPT_AT = "last_prompt_at"
"""Kept on interceptions: the ``created_at`` of their newest prompt (NULL when none)."""
ORIGIN = "record_origin"
"""Kept on interceptions: how complete the copy is that the row was built from, so that any order
of imports keeps the fullest copy. :data:`FROM_TABLE` for a table export, an API response or the
database; :data:`FROM_LOG_WITH_THREADS` for a log record with thread ids (coderd's enriched
emitter); :data:`FROM_LOG` for a log record without them (the first emitter and the gateway's; see
docs/imports.md, "The structured log")."""
FROM_LOG, FROM_LOG_WITH_THREADS, FROM_TABLE = 0, 1, 2
LOG_ID_MARK = "8a1b"
"""The variant group (fourth group) of the version-8 ids the store hashes for child rows rebuilt
from log records, which carry no ids; a random UUID has it with odds of one in a million."""


class Kind(Enum):
    """How a column's values are read, checked and stored."""

    UUID = "UUID"
    TEXT = "VARCHAR"
    TIMESTAMPTZ = "TIMESTAMPTZ"
    COUNT = "BIGINT"  # a non-negative integer (token counts)
    BOOL = "BOOLEAN"
    JSON = "JSON"

    @property
    def sql_type(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind
    required: bool = False
    """No default: an input without this column, or with NULL in it, is rejected."""
    not_null: bool = False
    """Never NULL in the store; a missing value takes ``default`` (SQL, may name other columns)."""
    default: str = "NULL"
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    """Older Coder column names accepted on import (migration 000370 used msg_id, input, output)."""
    internal: bool = False
    """Ours, not Coder's: never read from a file, only set by the reader that knows its value."""


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    """Natural key used to deduplicate imports."""
    derived: tuple[tuple[str, Kind, str], ...] = ()
    """Columns computed on import: (name, kind, SQL over the typed columns)."""
    order_by: str = ""
    """Physical order of the rows one import writes, newest first, so that zone maps let the
    newest-first reads skip everything older than the page they need."""
    maintained: tuple[str, ...] = ()
    """Internal TIMESTAMPTZ columns the merge keeps up to date (:data:`PARENT_TIME`,
    :data:`LAST_PROMPT_AT`); imports never write them."""
    column_index: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, Column] = {}
        for column in self.columns:
            if column.internal:
                continue
            index[column.name] = column
            for alias in column.aliases:
                index.setdefault(alias, column)
        object.__setattr__(self, "column_index", index)

    @property
    def parent_time(self) -> bool:
        """A child table: rows keep their interception's start time, so a page's children are
        found by zone maps."""
        return PARENT_TIME in self.maintained

    @property
    def stored_columns(self) -> tuple[str, ...]:
        """The columns an import writes (the parent time is filled in by the merge)."""
        return tuple(c.name for c in self.columns) + tuple(d[0] for d in self.derived)

    def declared_columns(self) -> list[tuple[str, str]]:
        """(name, DuckDB type with NOT NULL where it applies) of every stored column, in order."""
        def declared(c: Column) -> tuple[str, str]:
            return c.name, c.kind.sql_type + (" NOT NULL" if c.required or c.not_null else "")

        columns = [declared(c) for c in self.columns if not c.internal]
        columns += [(name, f"{kind.sql_type} NOT NULL") for name, kind, _ in self.derived]
        columns += [declared(c) for c in self.columns if c.internal]
        return columns + [(name, "TIMESTAMPTZ") for name in self.maintained]

    def ddl(self) -> str:
        parts = [f'"{name}" {kind}' for name, kind in self.declared_columns()]
        return f'CREATE TABLE IF NOT EXISTS "{self.name}" (\n  ' + ",\n  ".join(parts) + "\n)"


def _cache_from_metadata(*keys: str) -> str:
    """Coder's backfill of cache token columns from provider metadata (greatest of the keys)."""
    terms = [f"COALESCE(TRY_CAST(json_extract_string(\"metadata\", '$.{k}') AS BIGINT), 0)" for k in keys]
    return terms[0] if len(terms) == 1 else f"GREATEST({', '.join(terms)})"


INTERCEPTIONS = Table(
    name="aibridge_interceptions",
    columns=(
        Column("id", Kind.UUID, required=True),
        Column("initiator_id", Kind.UUID, required=True),
        Column("provider", Kind.TEXT, required=True),
        Column("model", Kind.TEXT, required=True),
        Column("started_at", Kind.TIMESTAMPTZ, required=True),
        Column("metadata", Kind.JSON),
        Column("ended_at", Kind.TIMESTAMPTZ),
        Column("api_key_id", Kind.TEXT),
        # Coder's migration added the column with DEFAULT 'Unknown': rows from exports that predate
        # it read as 'Unknown'. A NULL in an export that has the column stays NULL.
        Column("client", Kind.TEXT, max_length=64, default="'Unknown'"),
        Column("thread_parent_id", Kind.UUID),
        Column("thread_root_id", Kind.UUID),
        Column("client_session_id", Kind.TEXT, max_length=256),
        # Legacy rows were back-filled with the provider type.
        Column("provider_name", Kind.TEXT, not_null=True, default='"provider"'),
        Column(
            "credential_kind",
            Kind.TEXT,
            not_null=True,
            default="'centralized'",
            choices=("centralized", "byok"),
        ),
        Column("credential_hint", Kind.TEXT, not_null=True, default="''", max_length=15),
        Column(ORIGIN, Kind.COUNT, not_null=True, default=str(FROM_TABLE), internal=True),
    ),
    key=("id",),
    derived=(
        (
            "session_id",
            Kind.TEXT,
            'COALESCE("client_session_id", CAST("thread_root_id" AS VARCHAR), CAST("id" AS VARCHAR))',
        ),
    ),
    order_by='"started_at" DESC, "id" DESC',
    maintained=(LAST_PROMPT_AT,),
)

RECORDED_PRICES = ("input_price_micros", "output_price_micros", "cache_read_price_micros", "cache_write_price_micros")
RECORDED_COST = (*RECORDED_PRICES, "cost_micros", "priced_model", "effective_group_id")
"""The token usage columns in which newer Coder versions record how they priced it."""

_ID = Column("id", Kind.UUID, required=True)
_INTERCEPTION_ID = Column("interception_id", Kind.UUID, required=True)
_RESPONSE_ID = Column("provider_response_id", Kind.TEXT, required=True, aliases=("msg_id",))
_METADATA = Column("metadata", Kind.JSON)
_CREATED_AT = Column("created_at", Kind.TIMESTAMPTZ, required=True, aliases=("timestamp",))


def _child_table(name: str, columns: tuple[Column, ...], key: tuple[str, ...] = ("id",)) -> Table:
    """A table of rows that belong to one interception, stored clustered by its start time."""
    return Table(name=name, columns=columns, key=key, order_by=f'"{PARENT_TIME}" DESC NULLS LAST',
                 maintained=(PARENT_TIME,))


TOKEN_USAGES = _child_table(
    "aibridge_token_usages",
    (
        _ID,
        _INTERCEPTION_ID,
        _RESPONSE_ID,
        Column("input_tokens", Kind.COUNT, required=True, aliases=("input",)),
        Column("output_tokens", Kind.COUNT, required=True, aliases=("output",)),
        _METADATA,
        _CREATED_AT,
        Column(
            "cache_read_input_tokens",
            Kind.COUNT,
            not_null=True,
            default=_cache_from_metadata("cache_read_input", "input_cached", "prompt_cached"),
        ),
        Column(
            "cache_write_input_tokens", Kind.COUNT, not_null=True, default=_cache_from_metadata("cache_creation_input")
        ),
        # Newer Coder versions price usage themselves and record it per token usage (kept as
        # given; the reports use cost_micros, in millionths of a USD, where it is set).
        *(Column(name, Kind.COUNT) for name in RECORDED_PRICES),
        Column("cost_micros", Kind.COUNT),
        Column("priced_model", Kind.TEXT),
        Column("effective_group_id", Kind.UUID),
    ),
)

USER_PROMPTS = _child_table(
    "aibridge_user_prompts",
    (_ID, _INTERCEPTION_ID, _RESPONSE_ID, Column("prompt", Kind.TEXT, required=True), _METADATA, _CREATED_AT),
)

TOOL_USAGES = _child_table(
    "aibridge_tool_usages",
    (
        _ID,
        _INTERCEPTION_ID,
        _RESPONSE_ID,
        Column("server_url", Kind.TEXT),
        Column("tool", Kind.TEXT, required=True),
        Column("input", Kind.TEXT, required=True),
        Column("injected", Kind.BOOL, not_null=True, default="false"),
        Column("invocation_error", Kind.TEXT),
        _METADATA,
        _CREATED_AT,
        Column("provider_tool_call_id", Kind.TEXT),
        Column("provider_item_id", Kind.TEXT),
    ),
)

MODEL_THOUGHTS = _child_table(
    "aibridge_model_thoughts",
    (
        _INTERCEPTION_ID,
        Column("content", Kind.TEXT, required=True),
        _METADATA,
        Column("created_at", Kind.TIMESTAMPTZ, required=True),
    ),
    # No id in Coder's table: a thought is the same thought when all three agree.
    key=("interception_id", "created_at", "content"),
)

USERS = Table(
    name="users",
    columns=(
        Column("id", Kind.UUID, required=True),
        Column("username", Kind.TEXT, required=True),
        Column("name", Kind.TEXT, not_null=True, default="''"),
        Column("avatar_url", Kind.TEXT, not_null=True, default="''"),
        Column("email", Kind.TEXT, not_null=True, default="''"),
        Column("deleted", Kind.BOOL, not_null=True, default="false"),
    ),
    key=("id",),
)

TABLES: dict[str, Table] = {
    t.name: t for t in (INTERCEPTIONS, TOKEN_USAGES, USER_PROMPTS, TOOL_USAGES, MODEL_THOUGHTS, USERS)
}
"""Every table of the store, by name, in the order imports apply them."""

CHILD_TABLES = (TOKEN_USAGES, USER_PROMPTS, TOOL_USAGES, MODEL_THOUGHTS)



LOG_ENDS = Table(
    name="aibridge_log_pending_ends",
    columns=(_INTERCEPTION_ID, Column("ended_at", Kind.TIMESTAMPTZ, required=True)),
    key=("interception_id", "ended_at"),
)
"""``interception_end`` log records whose interception is not stored yet (or not ended yet);
applied, then dropped, as soon as it is."""

LOG_LINEAGE = Table(
    name="aibridge_log_lineage",
    columns=(_INTERCEPTION_ID, Column("correlating_tool_call_id", Kind.TEXT, required=True)),
    key=("interception_id", "correlating_tool_call_id"),
)
"""The tool call each logged interception answers, for logs that carry no thread ids: its thread
parent is the interception that recorded that tool call (docs/imports.md, "Lineage")."""

LOG_TABLES = (LOG_ENDS, LOG_LINEAGE)

IMPORT_SOURCES = "aibridge_import_sources"
"""Per external source (a PostgreSQL database) and table: how far earlier imports read it."""

SESSION_ROLLUP = "aibridge_session_rollup"
"""One row per (session_id, initiator_id) with ended interceptions: the session's aggregates
over all of them, rebuilt for every session an import touches."""
INTERCEPTION_COUNTS = "aibridge_interception_counts"
"""How many ended interceptions each (initiator, provider, provider name, model, client) has:
the interception count of any query without a time bound is a sum over its few thousand rows
(docs/decisions.md, "Remembered counts"). Rebuilt by every import and every retention run."""
COUNTED_COLUMNS = ("initiator_id", "provider", "provider_name", "model", "client")
INTERCEPTION_TOTALS = "aibridge_interception_totals"
"""One row per stored interception (ended or in flight): its columns that searches filter on and
what its child rows add up to, so that a report scans one table instead of joining four
(README, "Analytics"). Rebuilt, in every import and retention run, for each interception the run
touched; :func:`totals_sql` computes it."""
TOTALS_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "UUID NOT NULL"),
    ("initiator_id", "UUID NOT NULL"),
    ("provider", "VARCHAR NOT NULL"),
    ("provider_name", "VARCHAR NOT NULL"),
    ("model", "VARCHAR NOT NULL"),
    ("client", "VARCHAR"),
    ("session_id", "VARCHAR NOT NULL"),
    ("started_at", "TIMESTAMPTZ NOT NULL"),
    ("ended_at", "TIMESTAMPTZ"),
    ("token_usages", "BIGINT NOT NULL"),
    ("input_tokens", "BIGINT NOT NULL"),
    ("output_tokens", "BIGINT NOT NULL"),
    ("cache_read_input_tokens", "BIGINT NOT NULL"),
    ("cache_write_input_tokens", "BIGINT NOT NULL"),
    ("recorded_usages", "BIGINT NOT NULL"),
    ("recorded_cost_micros", "BIGINT NOT NULL"),
    ("first_usage_day", "DATE"),
    ("last_usage_day", "DATE"),
    ("least_usage_input", "BIGINT"),
    ("most_usage_input", "BIGINT"),
    ("prompts", "BIGINT NOT NULL"),
    ("tool_calls", "BIGINT NOT NULL"),
    ("injected_tool_calls", "BIGINT NOT NULL"),
    ("tool_errors", "BIGINT NOT NULL"),
    ("thoughts", "BIGINT NOT NULL"),
)
"""The totals' columns. A token usage's day is the UTC date of its ``created_at`` (the day whose
prices apply to it); its input is its input, cache-read and cache-write tokens together (what
tiered prices are chosen by). The first and last day and the least and most input of an
interception's token usages tell a report whether one price line covers all of them."""
TOTALS_FILTERED = frozenset(name for name, _ in TOTALS_COLUMNS[:9])
"""The interception columns the totals copy: a search that reads only these runs on the totals."""
"""The interception columns the counts are grouped by, as the search registry names them."""
CATALOG = "aibridge_catalog"
"""Distinct (kind, value, initiator) of ended interceptions: kind 'model' or 'client' (the
client coalesced to 'Unknown'). Ended interceptions never change, so it only grows."""

INDEXES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("aibridge_interceptions_id_idx", INTERCEPTIONS.name, ("id",)),
    ("users_id_idx", USERS.name, ("id",)),
    ("aibridge_session_rollup_session_idx", SESSION_ROLLUP, ("session_id",)),
)
"""ART indexes (name, table, columns): point look-ups by id (cursors, users) and of a session
by its id (a scan of compressed session ids costs several milliseconds at a hundred thousand)."""

SESSION_ROLLUP_COLUMNS: tuple[tuple[str, str], ...] = (
    ("session_id", "VARCHAR NOT NULL"),
    ("initiator_id", "UUID NOT NULL"),
    ("started_at", "TIMESTAMPTZ NOT NULL"),
    ("last_started_at", "TIMESTAMPTZ NOT NULL"),
    ("ended_at", "TIMESTAMPTZ NOT NULL"),
    ("threads", "BIGINT NOT NULL"),
    ("max_prompt_at", "TIMESTAMPTZ"),
    ("last_active_at", "TIMESTAMPTZ NOT NULL"),
    ("providers", "VARCHAR[] NOT NULL"),
    ("models", "VARCHAR[] NOT NULL"),
    ("client", "VARCHAR"),
    ("metadata", "JSON"),
    ("input_tokens", "BIGINT NOT NULL"),
    ("output_tokens", "BIGINT NOT NULL"),
    ("cache_read_input_tokens", "BIGINT NOT NULL"),
    ("cache_write_input_tokens", "BIGINT NOT NULL"),
    ("last_prompt", "VARCHAR"),
)

DERIVED_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    SESSION_ROLLUP: SESSION_ROLLUP_COLUMNS,
    INTERCEPTION_COUNTS: (("initiator_id", "UUID NOT NULL"), ("provider", "VARCHAR NOT NULL"),
                          ("provider_name", "VARCHAR NOT NULL"), ("model", "VARCHAR NOT NULL"),
                          ("client", "VARCHAR"), ("interceptions", "BIGINT NOT NULL")),
    INTERCEPTION_TOTALS: TOTALS_COLUMNS,
    CATALOG: (("kind", "VARCHAR NOT NULL"), ("value", "VARCHAR NOT NULL"), ("initiator_id", "UUID NOT NULL")),
    IMPORT_SOURCES: (("source", "VARCHAR NOT NULL"), ("table_name", "VARCHAR NOT NULL"), ("state", "JSON NOT NULL"),
                     ("imported_at", "TIMESTAMPTZ NOT NULL")),
}
"""The tables the store derives or keeps for itself: name → (column, DuckDB type) pairs."""
DERIVED_KEYS = {IMPORT_SOURCES: ("source", "table_name")}
"""The derived tables with a primary key."""


def _derived_ddl(name: str) -> str:
    columns = [f"{ident(column)} {kind}" for column, kind in DERIVED_TABLES[name]]
    if name in DERIVED_KEYS:
        columns.append(f"PRIMARY KEY ({', '.join(map(ident, DERIVED_KEYS[name]))})")
    return f"CREATE TABLE IF NOT EXISTS {ident(name)} ({', '.join(columns)})"


def ident(name: str) -> str:
    """Quote an identifier from our own registry for SQL."""
    return '"' + name.replace('"', '""') + '"'


def _columns(*names: str) -> str:
    return ", ".join(ident(n) for n in names)


_CHILD_START = ("id", "interception_id", "provider_response_id")


def public_views(micros: Callable[[str], str]) -> dict[str, str]:
    """The public views' SQL, given how the engine turns a time column into microseconds."""
    return {
        "interceptions": (
            "SELECT "
            + _columns("id", "initiator_id", "provider", "provider_name", "model", "client", "session_id",
                       "client_session_id", "thread_root_id", "thread_parent_id", "started_at", "ended_at")
            + ', "ended_at" IS NULL AS "in_flight", '
            + f'{micros(ident("ended_at"))} - {micros(ident("started_at"))} AS "duration_us", '
            + _columns("api_key_id", "credential_kind", "credential_hint", "metadata")
            + f" FROM {ident(INTERCEPTIONS.name)}"
        ),
        **_OTHER_VIEWS,
    }


_OTHER_VIEWS: dict[str, str] = {
    "token_usages": (
        "SELECT " + _columns(*_CHILD_START, "input_tokens", "output_tokens", "cache_read_input_tokens",
                             "cache_write_input_tokens", "metadata", "created_at", *RECORDED_COST)
        + f" FROM {ident(TOKEN_USAGES.name)}"
    ),
    "user_prompts": (
        "SELECT " + _columns(*_CHILD_START, "prompt", "metadata", "created_at") + f" FROM {ident(USER_PROMPTS.name)}"
    ),
    "tool_usages": (
        "SELECT " + _columns(*_CHILD_START, "server_url", "tool", "input", "injected", "invocation_error",
                             "provider_tool_call_id", "provider_item_id", "metadata", "created_at")
        + f" FROM {ident(TOOL_USAGES.name)}"
    ),
    "model_thoughts": (
        "SELECT " + _columns("interception_id", "content", "metadata", "created_at")
        + f" FROM {ident(MODEL_THOUGHTS.name)}"
    ),
    "sessions": (
        "SELECT " + _columns("session_id", "initiator_id", "started_at", "ended_at", "last_active_at", "threads",
                             "providers", "models", "client", "metadata", "input_tokens", "output_tokens",
                             "cache_read_input_tokens", "cache_write_input_tokens", "last_prompt")
        + f" FROM {ident(SESSION_ROLLUP)}"
    ),
}
VIEWS = public_views(lambda column: f"epoch_us({column})")
"""The public views (README, "SQL and Arrow"): stable names and columns over the tables, without
our bookkeeping columns. ``interceptions`` holds in-flight rows too (``in_flight``); ``sessions``
covers ended interceptions, as the sessions endpoint does. ``users`` is the table itself."""


def view_statements(*, temporary: bool = False) -> list[str]:
    """CREATE OR REPLACE statements of the public views (temporary ones for a store that cannot
    be upgraded)."""
    kind = "TEMP VIEW" if temporary else "VIEW"
    return [f"CREATE OR REPLACE {kind} {ident(name)} AS {sql}" for name, sql in VIEWS.items()]


def ddl_statements() -> list[str]:
    """Every statement that creates the store's tables and indexes (idempotent)."""
    statements = [f'CREATE TABLE IF NOT EXISTS "{META_TABLE}" ("key" VARCHAR PRIMARY KEY, "value" VARCHAR NOT NULL)']
    statements += [table.ddl() for table in TABLES.values()]
    statements += [table.ddl() for table in LOG_TABLES]
    statements += [_derived_ddl(name) for name in DERIVED_TABLES]
    statements += [
        f"CREATE INDEX IF NOT EXISTS {ident(name)} ON {ident(table)} ({', '.join(map(ident, cols))})"
        for name, table, cols in INDEXES
    ]
    statements += view_statements()
    return statements


def counts_sql() -> str:
    """The rows of :data:`INTERCEPTION_COUNTS`, computed from the interceptions."""
    columns = ", ".join(map(ident, COUNTED_COLUMNS))
    return (
        f"SELECT {columns}, count(*) FROM {ident(INTERCEPTIONS.name)} "
        f'WHERE "ended_at" IS NOT NULL GROUP BY ALL ORDER BY ALL'
    )


def fill_counts_statements() -> list[str]:
    """Replace every row of :data:`INTERCEPTION_COUNTS` by a fresh computation."""
    columns = ", ".join(map(ident, (*COUNTED_COLUMNS, "interceptions")))
    return [
        f"DELETE FROM {ident(INTERCEPTION_COUNTS)}",
        f"INSERT INTO {ident(INTERCEPTION_COUNTS)} ({columns}) {counts_sql()}",
    ]


def totals_sql(scope: str | None = None) -> str:
    """The rows of :data:`INTERCEPTION_TOTALS` (columns in order) of the interceptions whose ids
    the table ``scope`` holds, or of every interception."""
    of_scope = f'i."id" IN (SELECT "id" FROM {scope})' if scope else "TRUE"
    children = f'"interception_id" IN (SELECT "id" FROM {scope})' if scope else f"{ident(PARENT_TIME)} IS NOT NULL"
    day = "CAST(timezone('UTC', \"created_at\") AS DATE)"
    usage_input = '"input_tokens" + "cache_read_input_tokens" + "cache_write_input_tokens"'
    values = [f"i.{ident(name)}" for name, _ in TOTALS_COLUMNS[:9]] + [
        "COALESCE(t.n, 0)", "COALESCE(t.i, 0)", "COALESCE(t.o, 0)", "COALESCE(t.r, 0)", "COALESCE(t.w, 0)",
        "COALESCE(t.recorded, 0)", "COALESCE(t.recorded_cost, 0)", "t.first_day", "t.last_day", "t.least", "t.most",
        "COALESCE(p.n, 0)", "COALESCE(u.n, 0)", "COALESCE(u.injected, 0)", "COALESCE(u.errors, 0)", "COALESCE(m.n, 0)",
    ]
    columns = ", ".join(
        f"CAST({value} AS {kind.removesuffix(' NOT NULL')}) AS {ident(name)}"
        for value, (name, kind) in zip(values, TOTALS_COLUMNS, strict=True)
    )
    return f"""
WITH t AS (
    SELECT "interception_id" AS "id", count(*) AS n, sum("input_tokens") AS i, sum("output_tokens") AS o,
           sum("cache_read_input_tokens") AS r, sum("cache_write_input_tokens") AS w,
           count("cost_micros") AS recorded, sum("cost_micros") AS recorded_cost,
           min({day}) AS first_day, max({day}) AS last_day, min({usage_input}) AS least, max({usage_input}) AS most
    FROM {ident(TOKEN_USAGES.name)} WHERE {children} GROUP BY ALL
),
p AS (SELECT "interception_id" AS "id", count(*) AS n FROM {ident(USER_PROMPTS.name)} WHERE {children} GROUP BY ALL),
u AS (
    SELECT "interception_id" AS "id", count(*) AS n, count(*) FILTER (WHERE "injected") AS injected,
           count(*) FILTER (WHERE COALESCE("invocation_error", '') <> '') AS errors
    FROM {ident(TOOL_USAGES.name)} WHERE {children} GROUP BY ALL
),
m AS (SELECT "interception_id" AS "id", count(*) AS n FROM {ident(MODEL_THOUGHTS.name)} WHERE {children} GROUP BY ALL)
SELECT {columns}
FROM {ident(INTERCEPTIONS.name)} AS i
LEFT JOIN t USING ("id") LEFT JOIN p USING ("id") LEFT JOIN u USING ("id") LEFT JOIN m USING ("id")
WHERE {of_scope}
ORDER BY i."started_at" DESC, i."id" DESC
"""


def fill_totals_statements(scope: str | None = None) -> list[str]:
    """Replace the totals of the interceptions in ``scope`` (of all, when None) by a fresh
    computation."""
    columns = ", ".join(ident(name) for name, _ in TOTALS_COLUMNS)
    where = f' WHERE "id" IN (SELECT "id" FROM {scope})' if scope else ""
    return [
        f"DELETE FROM {ident(INTERCEPTION_TOTALS)}{where}",
        f"INSERT INTO {ident(INTERCEPTION_TOTALS)} ({columns}) {totals_sql(scope)}",
    ]


def upgrade_statements(version: int) -> list[str]:
    """What brings a store written at schema ``version`` up to :data:`SCHEMA_VERSION` (the
    new tables come from :func:`ddl_statements`; :func:`fill_statements` fills them)."""
    statements = []
    if version < 2:
        # DuckDB alters no table that an index depends on: drop it, ddl_statements() recreates it.
        statements += [
            f"DROP INDEX IF EXISTS {ident(name)}" for name, table, _ in INDEXES if table == INTERCEPTIONS.name
        ]
        statements.append(
            f"ALTER TABLE {ident(INTERCEPTIONS.name)} "
            f"ADD COLUMN IF NOT EXISTS {ident(ORIGIN)} BIGINT DEFAULT {FROM_TABLE}"
        )
    if version < 3:
        kinds = {c.name: c.kind for c in TOKEN_USAGES.columns}
        statements += [
            f"ALTER TABLE {ident(TOKEN_USAGES.name)} ADD COLUMN IF NOT EXISTS {ident(name)} {kinds[name].sql_type}"
            for name in RECORDED_COST
        ]
    return statements


def fill_statements(version: int) -> list[str]:
    """What fills, after :func:`ddl_statements`, the derived tables that a store written at
    schema ``version`` lacks."""
    statements = fill_counts_statements() if version < 3 else []
    return statements + (fill_totals_statements() if version < 4 else [])
