"""Keep the derived data exact after every import, inside the import's transaction.

* child rows get their interception's start time (``PARENT_TIME``) once it is known;
* interceptions get the time of their newest prompt (``LAST_PROMPT_AT``);
* ``SESSION_ROLLUP`` holds each (session_id, initiator_id)'s aggregates over all its ended
  interceptions; every session an import touches is rebuilt from the base tables, so the rollup
  always equals a from-scratch computation (:func:`sessions_sql` with no scope);
* ``CATALOG`` holds the distinct models and clients of ended interceptions, per initiator;
* ``INTERCEPTION_TOTALS`` holds each interception's searchable columns and its child rows' sums;
  every interception an import touches gets its row computed again (:func:`~.._schema.totals_sql`);
* ``INTERCEPTION_COUNTS`` holds the number of ended interceptions per counted column values,
  computed again in full by every run (a GROUP BY over the interceptions, about 0.1 s at a
  million), so that it is exact even after rows were written by hand.

Everything here works from what the :class:`~.run.ImportRun` recorded as touched.
"""

from __future__ import annotations

from .._schema import (
    CATALOG,
    CHILD_TABLES,
    INTERCEPTIONS,
    LAST_PROMPT_AT,
    PARENT_TIME,
    SESSION_ROLLUP,
    TOKEN_USAGES,
    USER_PROMPTS,
    fill_counts_statements,
    fill_totals_statements,
    ident,
)
from .run import ImportRun

_I = ident(INTERCEPTIONS.name)


def finish(run: ImportRun) -> None:
    """Bring the derived data up to date with everything the run touched."""
    run.execute(f'CREATE OR REPLACE TEMP TABLE {run.touched} AS SELECT DISTINCT "id" FROM {run.touched}')
    _parent_times(run)
    _totals(run)
    _last_prompt_times(run)
    _sessions(run)
    _catalog(run)
    recount(run)


def _parent_times(run: ImportRun) -> None:
    parent_time = ident(PARENT_TIME)
    changed = run.has_rows(run.updated)
    for child in CHILD_TABLES:
        run.execute(
            f'UPDATE {ident(child.name)} AS c SET {parent_time} = p."started_at" '
            f'FROM {_I} AS p WHERE c.{parent_time} IS NULL AND c."interception_id" = p."id"'
        )
        if changed:
            run.execute(
                f'UPDATE {ident(child.name)} AS c SET {parent_time} = p."started_at" '
                f'FROM {_I} AS p WHERE c."interception_id" = p."id" '
                f'AND c."interception_id" IN (SELECT "id" FROM {run.updated}) '
                f'AND c.{parent_time} IS DISTINCT FROM p."started_at"'
            )


def _totals(run: ImportRun) -> None:
    """Rebuild the totals of the touched interceptions; of all of them when the run touched at
    least half (a first import): a plain scan then costs less than picking rows by id."""
    touched = run.number(f"SELECT count(*) FROM {run.touched}")
    most = touched * 2 >= run.number(f"SELECT count(*) FROM {_I}")
    for statement in fill_totals_statements(None if most else run.touched):
        run.execute(statement)


def _last_prompt_times(run: ImportRun) -> None:
    run.execute(
        f'UPDATE {_I} AS i SET {ident(LAST_PROMPT_AT)} = p.newest FROM ('
        f'SELECT "interception_id", max("created_at") AS newest FROM {ident(USER_PROMPTS.name)} '
        f'WHERE "interception_id" IN (SELECT "id" FROM {run.touched}) GROUP BY ALL) AS p '
        f'WHERE i."id" = p."interception_id" AND i.{ident(LAST_PROMPT_AT)} IS DISTINCT FROM p.newest'
    )


ROLLUP_COLUMNS = (
    "session_id", "initiator_id", "started_at", "last_started_at", "ended_at", "threads", "max_prompt_at",
    "last_active_at", "providers", "models", "client", "metadata", "input_tokens", "output_tokens",
    "cache_read_input_tokens", "cache_write_input_tokens", "last_prompt",
)
"""The rollup's columns, in the order :func:`sessions_sql` selects them."""


def sessions_sql(scope: str | None = None) -> str:
    """The rollup rows of the sessions named in ``scope`` (a table of ``session_id`` and
    ``initiator_id``), or of every session when ``scope`` is None: the aggregates of all their
    ended interceptions (see docs/semantics.md, "Sessions")."""
    within = ""
    if scope is not None:
        within = f'SEMI JOIN {scope} AS a ON a."session_id" = i."session_id" AND a."initiator_id" = i."initiator_id"'
    return f"""
WITH rows AS (
    SELECT i."id", i."session_id", i."initiator_id", i."started_at", i."ended_at", i."thread_root_id",
           i."provider", i."model", i."client", i."metadata"
    FROM {_I} AS i {within}
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


def _sessions(run: ImportRun) -> None:
    run.execute(
        f'CREATE OR REPLACE TEMP TABLE {run.affected} AS SELECT "session_id", "initiator_id" '
        f'FROM {_I} WHERE "id" IN (SELECT "id" FROM {run.touched}) '
        f'UNION SELECT "session_id", "initiator_id" FROM {run.sessions_before}'
    )
    run.execute(
        f'DELETE FROM {ident(SESSION_ROLLUP)} AS r USING {run.affected} AS a '
        f'WHERE r."session_id" = a."session_id" AND r."initiator_id" = a."initiator_id"'
    )
    columns = ", ".join(ident(c) for c in ROLLUP_COLUMNS)
    run.execute(f"INSERT INTO {ident(SESSION_ROLLUP)} ({columns}) {sessions_sql(run.affected)}")


def recount(run: ImportRun) -> None:
    """Compute ``INTERCEPTION_COUNTS`` again from the interceptions."""
    for statement in fill_counts_statements():
        run.execute(statement)


def _catalog(run: ImportRun) -> None:
    ended = f'"ended_at" IS NOT NULL AND "id" IN (SELECT "id" FROM {run.touched})'
    run.execute(
        f'INSERT INTO {ident(CATALOG)} ("kind", "value", "initiator_id") '
        f"SELECT DISTINCT * FROM ("
        f"SELECT 'model', \"model\", \"initiator_id\" FROM {_I} WHERE {ended} "
        f"UNION ALL SELECT 'client', COALESCE(\"client\", 'Unknown'), \"initiator_id\" FROM {_I} WHERE {ended}"
        f') EXCEPT SELECT "kind", "value", "initiator_id" FROM {ident(CATALOG)}'
    )
