"""The embedded importer's rules in Spark SQL, over every copy at once: what is stored in the
dataset already and what the staged files bring (docs/imports.md says what each rule means).

* interceptions: one row per id, the fullest copy (origin, then a copy that has ended, then
  the larger hash between log copies, then import order); an end time, once known, is kept;
* child rows: one per id (the first copy; between log copies the fuller one), and a row
  rebuilt from a log record gives way to a table export's copy of the same record (same
  natural key, times within a microsecond); model thoughts dedupe by interception, time and
  content; users: the newest copy;
* ``interception_end`` records end their interception if it has no end (the earliest wins) and
  wait while it is not stored; logged interceptions without thread ids get them from the tool
  call they answer (a recursive walk to the root);
* then what the store derives: parent start times, newest prompt times, the per-interception
  totals, the session rollup, the counts and the catalog.

Each step is a temporary view; the caller runs them with the session's settings for our SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._dataset import DATA_FILE, DAY, PARTITIONED, columns
from .._ingest import ROW
from .._load.merge import NATURAL_KEYS
from .._schema import (
    CATALOG,
    CHILD_TABLES,
    COUNTED_COLUMNS,
    FROM_LOG,
    FROM_TABLE,
    INTERCEPTION_COUNTS,
    INTERCEPTION_TOTALS,
    INTERCEPTIONS,
    LAST_PROMPT_AT,
    LOG_ENDS,
    LOG_ID_MARK,
    LOG_LINEAGE,
    MODEL_THOUGHTS,
    ORIGIN,
    PARENT_TIME,
    SESSION_ROLLUP,
    TOKEN_USAGES,
    TOOL_USAGES,
    TOTALS_COLUMNS,
    USER_PROMPTS,
    USERS,
    ident,
)
from ._staging import DIGEST, FULLER, SOURCE

SPARK_TYPES = {
    "UUID": "STRING", "VARCHAR": "STRING", "JSON": "STRING", "TIMESTAMPTZ": "TIMESTAMP", "BIGINT": "BIGINT",
    "BOOLEAN": "BOOLEAN", "DATE": "DATE", "VARCHAR[]": "ARRAY<STRING>",
}


def spark_schema(table: str) -> str:
    """The Spark schema (DDL) of a dataset table."""
    return ", ".join(f"`{name}` {SPARK_TYPES[kind]}" for name, kind in columns()[table])


def empty_frame(spark: Any, table: str) -> Any:
    """A DataFrame of no rows with a dataset table's columns."""
    return spark.createDataFrame([], spark_schema(table))


def dataset_frame(spark: Any, root: Path, table: str) -> Any:
    """A table of the dataset at ``root`` as a DataFrame of its columns, in the dataset's order
    (no rows when the dataset has no file of it)."""
    names = [c for c, _ in columns()[table]]
    folder = root / table
    if table in PARTITIONED and any(folder.glob(f"{DAY}=*")):
        return spark.read.option("basePath", str(folder)).parquet(str(folder)).select(*names)
    if (folder / DATA_FILE).exists():
        return spark.read.parquet(str(folder / DATA_FILE)).select(*names)
    return empty_frame(spark, table)


def stored(table: str) -> str:
    return f"__stored_{table}"


def staged(table: str) -> str:
    return f"__staged_{table}"


def final(table: str) -> str:
    return f"__final_{table}"


def _cols(table: str, prefix: str = "") -> str:
    return ", ".join(prefix + ident(c) for c, _ in columns()[table])


def _view(spark: Any, name: str, sql: str, *, keep: bool = False) -> None:
    """A temporary view of ``sql``; ``keep`` computes it now (a local checkpoint), for a step that
    several later ones read: their plans then start from its rows, not from its whole lineage."""
    frame = spark.sql(sql)
    if keep:
        frame = frame.localCheckpoint(eager=True)
    frame.createOrReplaceTempView(name)


def _copies(table: str, *extra: str) -> str:
    """Stored rows (first in import order) and staged rows, with the tie-break columns."""
    names = [c for c, _ in columns()[table]]
    staged_names = [c for c in names if c not in (PARENT_TIME, LAST_PROMPT_AT)]
    keep = ", ".join(map(ident, staged_names))
    nulls = "".join(f", CAST(NULL AS STRING) AS {e}" for e in extra)
    more = "".join(f", {e}" for e in extra)
    return (f"SELECT {keep}{nulls}, CAST(-1 AS BIGINT) AS {SOURCE}, CAST(0 AS BIGINT) AS {ROW} FROM {stored(table)} "
            f"UNION ALL SELECT {keep}{more}, {SOURCE}, {ROW} FROM {staged(table)}")


def _is_log_id(column: str) -> str:
    return f"(substr({column}, 15, 1) = '8' AND substr({column}, 20, 4) = '{LOG_ID_MARK}')"


def apply(spark: Any) -> None:
    """Make the ``__final_<table>`` views from ``__stored_<table>`` and ``__staged_<table>``."""
    _interceptions(spark)
    for table in (TOKEN_USAGES, USER_PROMPTS, TOOL_USAGES):
        _children(spark, table.name)
    _first_copy(spark, MODEL_THOUGHTS.name, MODEL_THOUGHTS.key)
    _users(spark)
    _ends(spark)
    _lineage(spark)
    _derived(spark)


def _interceptions(spark: Any) -> None:
    origin = ident(ORIGIN)
    rank = (f'{origin} DESC, CASE WHEN {origin} = {FROM_TABLE} THEN "ended_at" IS NULL END, '
            f"CASE WHEN {origin} < {FROM_TABLE} THEN {DIGEST} END DESC NULLS LAST, {SOURCE}, "
            f"CASE WHEN {origin} = {FROM_TABLE} THEN {ROW} END DESC")
    names = [c for c, _ in columns()[INTERCEPTIONS.name] if c not in (LAST_PROMPT_AT,)]
    chosen = ", ".join('COALESCE("ended_at", known_end) AS "ended_at"' if c == "ended_at" else ident(c) for c in names)
    _view(spark, "__deduped_interceptions", f"""
SELECT {chosen} FROM (
    SELECT *, row_number() OVER (PARTITION BY "id" ORDER BY {rank}) AS __n,
           first("ended_at", true) OVER (PARTITION BY "id" ORDER BY {rank}
               ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS known_end
    FROM ({_copies(INTERCEPTIONS.name, DIGEST)})
) WHERE __n = 1""")


def _children(spark: Any, table: str) -> None:
    is_log = _is_log_id('"id"')
    names = [c for c, _ in columns()[table] if c != PARENT_TIME]
    keep = ", ".join(map(ident, names))
    _view(spark, f"__deduped_{table}", f"""
SELECT {keep}, {is_log} AS __log FROM (
    SELECT *, row_number() OVER (PARTITION BY "id" ORDER BY
        CASE WHEN {is_log} THEN {FULLER} END DESC NULLS LAST, {SOURCE}, {ROW}) AS __n
    FROM ({_copies(table, FULLER)})
) WHERE __n = 1""")
    same = " AND ".join(f"o.{ident(k)} = w.{ident(k)}" for k in NATURAL_KEYS[table])
    _view(spark, f"__merged_{table}", keep=True, sql=f"""
SELECT {", ".join("w." + ident(c) for c in names)} FROM __deduped_{table} AS w
LEFT ANTI JOIN (SELECT * FROM __deduped_{table} WHERE NOT __log) AS o
    ON w.__log AND {same}
    AND o."created_at" BETWEEN w."created_at" - INTERVAL 1 MICROSECOND AND w."created_at" + INTERVAL 1 MICROSECOND""")


def _first_copy(spark: Any, table: str, key: tuple[str, ...], order: str = f"{SOURCE}, {ROW}") -> None:
    names = [c for c, _ in columns()[table] if c != PARENT_TIME]
    _view(spark, f"__merged_{table}", keep=True, sql=f"""
SELECT {", ".join(map(ident, names))} FROM (
    SELECT *, row_number() OVER (PARTITION BY {", ".join(map(ident, key))} ORDER BY {order}) AS __n
    FROM ({_copies(table)})
) WHERE __n = 1""")


def _users(spark: Any) -> None:
    _first_copy(spark, USERS.name, USERS.key, f"{SOURCE} DESC, {ROW} DESC")
    _view(spark, final(USERS.name), f"SELECT {_cols(USERS.name)} FROM __merged_{USERS.name}")


def _ends(spark: Any) -> None:
    _view(spark, "__all_ends", f"""
SELECT DISTINCT "interception_id", "ended_at" FROM (
    SELECT "interception_id", "ended_at" FROM {stored(LOG_ENDS.name)}
    UNION ALL SELECT "interception_id", "ended_at" FROM {staged(LOG_ENDS.name)})""")
    names = [c for c, _ in columns()[INTERCEPTIONS.name] if c != LAST_PROMPT_AT]
    chosen = ", ".join('COALESCE(i."ended_at", e.first_end) AS "ended_at"' if c == "ended_at" else f"i.{ident(c)}"
                       for c in names)
    _view(spark, "__ended_interceptions", keep=True, sql=f"""
SELECT {chosen} FROM __deduped_interceptions AS i
LEFT JOIN (SELECT "interception_id", min("ended_at") AS first_end FROM __all_ends GROUP BY 1) AS e
    ON e."interception_id" = i."id\"""")
    _view(spark, final(LOG_ENDS.name), f"""
SELECT {_cols(LOG_ENDS.name, 'e.')} FROM __all_ends AS e
LEFT ANTI JOIN __ended_interceptions AS i ON i."id" = e."interception_id" AND i."ended_at" IS NOT NULL""")


def _lineage(spark: Any) -> None:
    lineage = final(LOG_LINEAGE.name)
    _view(spark, lineage, f"""
SELECT DISTINCT "interception_id", "correlating_tool_call_id" FROM (
    SELECT "interception_id", "correlating_tool_call_id" FROM {stored(LOG_LINEAGE.name)}
    UNION ALL SELECT "interception_id", "correlating_tool_call_id" FROM {staged(LOG_LINEAGE.name)})""")
    tools = f"__merged_{TOOL_USAGES.name}"
    _view(spark, "__links0", f"""
WITH child AS (
    SELECT l."interception_id" AS id, min(l."correlating_tool_call_id") AS call
    FROM {lineage} AS l
    JOIN __ended_interceptions AS i ON i."id" = l."interception_id" AND i.{ident(ORIGIN)} = {FROM_LOG}
    GROUP BY 1
),
calls AS (
    SELECT "provider_tool_call_id" AS call, max_by("interception_id", struct("created_at", "interception_id")) AS parent
    FROM {tools} WHERE "provider_tool_call_id" IN (SELECT call FROM child) GROUP BY 1
)
SELECT c.id, CASE WHEN p.parent <> c.id THEN p.parent END AS parent
FROM child AS c LEFT JOIN calls AS p ON p.call = c.call""")
    _view(spark, "__links", """
WITH RECURSIVE links AS (SELECT id, parent FROM __links0 WHERE parent IS NOT NULL),
walk(id, top, depth) AS (
    SELECT id, parent, 1 FROM links
    UNION ALL
    SELECT w.id, l.parent, w.depth + 1 FROM walk AS w JOIN links AS l ON l.id = w.top WHERE w.depth < 256
),
tops AS (SELECT id, max_by(top, depth) AS top FROM walk GROUP BY id)
SELECT k.id, k.parent,
       CASE WHEN k.parent IS NULL THEN NULL
            WHEN x.id IS NOT NULL THEN t.top
            ELSE COALESCE(r."thread_root_id", t.top) END AS root
FROM __links0 AS k LEFT JOIN tops AS t ON t.id = k.id
LEFT JOIN (SELECT DISTINCT id FROM __links0) AS x ON x.id = t.top
LEFT JOIN __ended_interceptions AS r ON r."id" = t.top""")
    names = [c for c, _ in columns()[INTERCEPTIONS.name] if c != LAST_PROMPT_AT]
    moved = {
        "thread_parent_id": 'CASE WHEN k.id IS NULL THEN i."thread_parent_id" ELSE k.parent END',
        "thread_root_id": 'CASE WHEN k.id IS NULL THEN i."thread_root_id" ELSE k.root END',
        "session_id": ('CASE WHEN k.id IS NULL THEN i."session_id" '
                       'ELSE COALESCE(i."client_session_id", k.root, i."id") END'),
    }
    chosen = ", ".join(f"{moved[c]} AS {ident(c)}" if c in moved else f"i.{ident(c)}" for c in names)
    _view(spark, "__linked_interceptions",
          f'SELECT {chosen} FROM __ended_interceptions AS i LEFT JOIN __links AS k ON k.id = i."id"')


def _derived(spark: Any) -> None:
    interceptions = final(INTERCEPTIONS.name)
    _view(spark, interceptions, keep=True, sql=f"""
SELECT {", ".join('p.newest AS ' + ident(c) if c == LAST_PROMPT_AT else 'i.' + ident(c)
                  for c, _ in columns()[INTERCEPTIONS.name])}
FROM __linked_interceptions AS i
LEFT JOIN (SELECT "interception_id", max("created_at") AS newest FROM __merged_{USER_PROMPTS.name} GROUP BY 1) AS p
    ON p."interception_id" = i."id\"""")
    for child in CHILD_TABLES:
        _view(spark, final(child.name), keep=True, sql=f"""
SELECT {", ".join('p."started_at" AS ' + ident(c) if c == PARENT_TIME else 'c.' + ident(c)
                  for c, _ in columns()[child.name])}
FROM __merged_{child.name} AS c LEFT JOIN {interceptions} AS p ON p."id" = c."interception_id\"""")
    _view(spark, final(INTERCEPTION_TOTALS), _totals_sql())
    _view(spark, final(SESSION_ROLLUP), sessions_sql())
    counted = ", ".join(map(ident, COUNTED_COLUMNS))
    _view(spark, final(INTERCEPTION_COUNTS),
          f'SELECT {counted}, count(*) AS "interceptions" FROM {interceptions} '
          f'WHERE "ended_at" IS NOT NULL GROUP BY {counted}')
    _view(spark, final(CATALOG), f"""
SELECT DISTINCT * FROM (
    SELECT 'model' AS "kind", "model" AS "value", "initiator_id" FROM {interceptions} WHERE "ended_at" IS NOT NULL
    UNION ALL
    SELECT 'client', COALESCE("client", 'Unknown'), "initiator_id" FROM {interceptions} WHERE "ended_at" IS NOT NULL
)""")


def _totals_sql() -> str:
    day = 'to_date("created_at")'
    usage_input = '"input_tokens" + "cache_read_input_tokens" + "cache_write_input_tokens"'
    values = [f"i.{ident(name)}" for name, _ in TOTALS_COLUMNS[:9]] + [
        "COALESCE(t.n, 0)", "COALESCE(t.i, 0)", "COALESCE(t.o, 0)", "COALESCE(t.r, 0)", "COALESCE(t.w, 0)",
        "COALESCE(t.recorded, 0)", "COALESCE(t.recorded_cost, 0)", "t.first_day", "t.last_day", "t.least", "t.most",
        "COALESCE(p.n, 0)", "COALESCE(u.n, 0)", "COALESCE(u.injected, 0)", "COALESCE(u.errors, 0)", "COALESCE(m.n, 0)",
    ]
    selected = ", ".join(
        f"CAST({value} AS {SPARK_TYPES[kind.removesuffix(' NOT NULL')]}) AS {ident(name)}"
        for value, (name, kind) in zip(values, TOTALS_COLUMNS, strict=True)
    )
    return f"""
WITH t AS (
    SELECT "interception_id" AS id, count(*) AS n, sum("input_tokens") AS i, sum("output_tokens") AS o,
           sum("cache_read_input_tokens") AS r, sum("cache_write_input_tokens") AS w,
           count("cost_micros") AS recorded, sum("cost_micros") AS recorded_cost,
           min({day}) AS first_day, max({day}) AS last_day, min({usage_input}) AS least, max({usage_input}) AS most
    FROM {final(TOKEN_USAGES.name)} WHERE {ident(PARENT_TIME)} IS NOT NULL GROUP BY 1
),
p AS (SELECT "interception_id" AS id, count(*) AS n FROM {final(USER_PROMPTS.name)}
      WHERE {ident(PARENT_TIME)} IS NOT NULL GROUP BY 1),
u AS (
    SELECT "interception_id" AS id, count(*) AS n, count_if("injected") AS injected,
           count_if(COALESCE("invocation_error", '') <> '') AS errors
    FROM {final(TOOL_USAGES.name)} WHERE {ident(PARENT_TIME)} IS NOT NULL GROUP BY 1
),
m AS (SELECT "interception_id" AS id, count(*) AS n FROM {final(MODEL_THOUGHTS.name)}
      WHERE {ident(PARENT_TIME)} IS NOT NULL GROUP BY 1)
SELECT {selected}
FROM {final(INTERCEPTIONS.name)} AS i
LEFT JOIN t ON t.id = i."id" LEFT JOIN p ON p.id = i."id" LEFT JOIN u ON u.id = i."id" LEFT JOIN m ON m.id = i."id"
"""


def sessions_sql(name: Callable[[str], str] = final) -> str:
    """The session rollup's rows from the tables ``name`` gives the views of: the rules' results
    while importing, or a dataset's tables (:func:`aibridge_store.spark.rollup_sql`)."""
    parent = ident(PARENT_TIME)
    return f"""
WITH rows AS (
    SELECT "id", "session_id", "initiator_id", "started_at", "ended_at", "thread_root_id", "provider", "model",
           "client", "metadata"
    FROM {name(INTERCEPTIONS.name)} WHERE "ended_at" IS NOT NULL
),
base AS (
    SELECT "session_id", "initiator_id", min("started_at") AS started_at, max("started_at") AS last_started_at,
           max("ended_at") AS ended_at, count_if("thread_root_id" IS NULL) AS threads,
           array_sort(collect_set("provider")) AS providers, array_sort(collect_set("model")) AS models,
           min_by("client", struct("started_at", "id")) AS client,
           min_by("metadata", struct("started_at", "id")) AS metadata
    FROM rows GROUP BY 1, 2
),
tokens AS (
    SELECT r."session_id", r."initiator_id", sum(t."input_tokens") AS input_tokens,
           sum(t."output_tokens") AS output_tokens, sum(t."cache_read_input_tokens") AS cache_read,
           sum(t."cache_write_input_tokens") AS cache_write
    FROM {name(TOKEN_USAGES.name)} AS t JOIN rows AS r ON t."interception_id" = r."id" AND t.{parent} = r."started_at"
    GROUP BY 1, 2
),
prompts AS (
    SELECT r."session_id", r."initiator_id", max(p."created_at") AS max_prompt_at,
           max_by(p."prompt", struct(p."created_at", p."id")) AS last_prompt
    FROM {name(USER_PROMPTS.name)} AS p JOIN rows AS r ON p."interception_id" = r."id" AND p.{parent} = r."started_at"
    GROUP BY 1, 2
)
SELECT b."session_id", b."initiator_id", b.started_at, b.last_started_at, b.ended_at, b.threads,
       p.max_prompt_at, COALESCE(p.max_prompt_at, b.started_at) AS last_active_at, b.providers, b.models,
       b.client, b.metadata, COALESCE(t.input_tokens, 0) AS input_tokens, COALESCE(t.output_tokens, 0) AS output_tokens,
       COALESCE(t.cache_read, 0) AS cache_read_input_tokens, COALESCE(t.cache_write, 0) AS cache_write_input_tokens,
       p.last_prompt
FROM base AS b
LEFT JOIN tokens AS t ON t."session_id" = b."session_id" AND t."initiator_id" = b."initiator_id"
LEFT JOIN prompts AS p ON p."session_id" = b."session_id" AND p."initiator_id" = b."initiator_id"
"""
