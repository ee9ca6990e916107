"""Keep the derived data exact after every import, inside the import's transaction.

* child rows get their interception's start time (``PARENT_TIME``) once it is known;
* interceptions get the time of their newest prompt (``LAST_PROMPT_AT``);
* ``SESSION_ROLLUP`` holds each (session_id, initiator_id)'s aggregates over all its ended
  interceptions; every session an import touches is rebuilt from the base tables, so the rollup
  always equals a from-scratch computation;
* ``CATALOG`` holds the distinct models and clients of ended interceptions, per initiator.

An import records the interception ids it touched (its interceptions, and the interceptions its
child rows belong to) in :data:`TOUCHED`; everything here works from that set.
"""

from __future__ import annotations

import duckdb

from .._schema import (
    CATALOG,
    CHILD_TABLES,
    INTERCEPTIONS,
    LAST_PROMPT_AT,
    PARENT_TIME,
    SESSION_ROLLUP,
    TOKEN_USAGES,
    USER_PROMPTS,
    ident,
)

TOUCHED = "__aibridge_touched"
UPDATED = "__aibridge_updated"
_BEFORE = "__aibridge_sessions_before"
_AFFECTED = "__aibridge_affected"
_I = ident(INTERCEPTIONS.name)


def begin(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f'CREATE OR REPLACE TEMP TABLE {TOUCHED} ("id" UUID)')
    con.execute(f'CREATE OR REPLACE TEMP TABLE {UPDATED} ("id" UUID)')
    con.execute(f'CREATE OR REPLACE TEMP TABLE {_BEFORE} ("session_id" VARCHAR, "initiator_id" UUID)')


def touch(con: duckdb.DuckDBPyConnection, select_ids: str) -> None:
    """Record interception ids (a SELECT of one UUID column) as touched by this import."""
    con.execute(f"INSERT INTO {TOUCHED} {select_ids}")


def capture_sessions(con: duckdb.DuckDBPyConnection, select_ids: str) -> None:
    """Before stored interceptions change in a way that may move them to another session (their
    thread or client session ids), remember the sessions they are in now, which need rebuilding
    too; and mark them touched."""
    con.execute(
        f'INSERT INTO {_BEFORE} SELECT "session_id", "initiator_id" FROM {_I} WHERE "id" IN ({select_ids})'
    )
    touch(con, select_ids)


def finish(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE {TOUCHED} AS SELECT DISTINCT \"id\" FROM {TOUCHED}")
    _parent_times(con)
    _last_prompt_times(con)
    _sessions(con)
    _catalog(con)
    for name in (TOUCHED, UPDATED, _BEFORE, _AFFECTED):
        con.execute(f"DROP TABLE IF EXISTS {name}")


def _parent_times(con: duckdb.DuckDBPyConnection) -> None:
    parent_time = ident(PARENT_TIME)
    changed = con.execute(f"SELECT count(*) FROM {UPDATED}").fetchone()[0]  # type: ignore[index]
    for child in CHILD_TABLES:
        con.execute(
            f'UPDATE {ident(child.name)} AS c SET {parent_time} = p."started_at" '
            f'FROM {_I} AS p WHERE c.{parent_time} IS NULL AND c."interception_id" = p."id"'
        )
        if changed:
            con.execute(
                f'UPDATE {ident(child.name)} AS c SET {parent_time} = p."started_at" '
                f'FROM {_I} AS p WHERE c."interception_id" = p."id" '
                f'AND c."interception_id" IN (SELECT "id" FROM {UPDATED}) '
                f'AND c.{parent_time} IS DISTINCT FROM p."started_at"'
            )


def _last_prompt_times(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f'UPDATE {_I} AS i SET {ident(LAST_PROMPT_AT)} = p.newest FROM ('
        f'SELECT "interception_id", max("created_at") AS newest FROM {ident(USER_PROMPTS.name)} '
        f'WHERE "interception_id" IN (SELECT "id" FROM {TOUCHED}) GROUP BY ALL) AS p '
        f'WHERE i."id" = p."interception_id" AND i.{ident(LAST_PROMPT_AT)} IS DISTINCT FROM p.newest'
    )


# Aggregates of all ended interceptions of each affected (session_id, initiator_id)
# (coder-semantics.md §4.1 unfiltered, §4.2).
_ROLLUP_SQL = f"""
WITH rows AS (
    SELECT i."id", i."session_id", i."initiator_id", i."started_at", i."ended_at", i."thread_root_id",
           i."provider", i."model", i."client", i."metadata"
    FROM {_I} AS i SEMI JOIN {_AFFECTED} AS a ON a."session_id" = i."session_id" AND a."initiator_id" = i."initiator_id"
    WHERE i."ended_at" IS NOT NULL
),
base AS (
    SELECT "session_id", "initiator_id", min("started_at") AS started_at, max("started_at") AS last_started_at,
           max("ended_at") AS ended_at,
           count(*) FILTER (WHERE "thread_root_id" IS NULL) AS threads,
           list_sort(list_distinct(list("provider"))) AS providers,
           list_sort(list_distinct(list("model"))) AS models,
           arg_min_null("client", ("started_at", "id")) AS client,
           arg_min_null("metadata", ("started_at", "id")) AS metadata
    FROM rows GROUP BY ALL
),
tokens AS (
    SELECT r."session_id", r."initiator_id", sum(t."input_tokens") AS input_tokens,
           sum(t."output_tokens") AS output_tokens, sum(t."cache_read_input_tokens") AS cache_read,
           sum(t."cache_write_input_tokens") AS cache_write
    FROM {ident(TOKEN_USAGES.name)} AS t
    JOIN rows AS r ON t."interception_id" = r."id" AND t.{ident(PARENT_TIME)} = r."started_at"
    GROUP BY ALL
),
prompts AS (
    SELECT r."session_id", r."initiator_id", max(p."created_at") AS max_prompt_at,
           arg_max(p."prompt", (p."created_at", p."id")) AS last_prompt
    FROM {ident(USER_PROMPTS.name)} AS p
    JOIN rows AS r ON p."interception_id" = r."id" AND p.{ident(PARENT_TIME)} = r."started_at"
    GROUP BY ALL
)
SELECT b."session_id", b."initiator_id", b.started_at, b.last_started_at, b.ended_at, b.threads, p.max_prompt_at,
       COALESCE(p.max_prompt_at, b.started_at), b.providers, b.models, b.client, b.metadata,
       COALESCE(t.input_tokens, 0), COALESCE(t.output_tokens, 0), COALESCE(t.cache_read, 0),
       COALESCE(t.cache_write, 0), p.last_prompt
FROM base AS b
LEFT JOIN tokens AS t ON t."session_id" = b."session_id" AND t."initiator_id" = b."initiator_id"
LEFT JOIN prompts AS p ON p."session_id" = b."session_id" AND p."initiator_id" = b."initiator_id"
"""


def _sessions(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f'CREATE OR REPLACE TEMP TABLE {_AFFECTED} AS SELECT "session_id", "initiator_id" '
        f'FROM {_I} WHERE "id" IN (SELECT "id" FROM {TOUCHED}) UNION SELECT * FROM {_BEFORE}'
    )
    con.execute(
        f'DELETE FROM {ident(SESSION_ROLLUP)} AS r USING {_AFFECTED} AS a '
        f'WHERE r."session_id" = a."session_id" AND r."initiator_id" = a."initiator_id"'
    )
    con.execute(f"INSERT INTO {ident(SESSION_ROLLUP)} {_ROLLUP_SQL}")


def rebuild_sessions_sql() -> str:
    """The rollup computed from scratch for every session (tests compare it with the table)."""
    return _ROLLUP_SQL.replace(
        f"SEMI JOIN {_AFFECTED} AS a ON a.\"session_id\" = i.\"session_id\" AND a.\"initiator_id\" = i.\"initiator_id\"",
        "",
    )


def _catalog(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"INSERT INTO {ident(CATALOG)} "
        f"SELECT DISTINCT * FROM ("
        f"SELECT 'model', \"model\", \"initiator_id\" FROM {_I} "
        f'WHERE "ended_at" IS NOT NULL AND "id" IN (SELECT "id" FROM {TOUCHED}) '
        f"UNION ALL SELECT 'client', COALESCE(\"client\", 'Unknown'), \"initiator_id\" FROM {_I} "
        f'WHERE "ended_at" IS NOT NULL AND "id" IN (SELECT "id" FROM {TOUCHED})'
        f") EXCEPT SELECT * FROM {ident(CATALOG)}"
    )
