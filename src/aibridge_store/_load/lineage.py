"""What log records leave for later, applied at the end of every import (before the rollup).

* ``interception_end`` records wait in :data:`~.schema.LOG_ENDS` until their interception is
  stored, then set its end time if it has none (the earliest end wins) and are dropped;
* interceptions logged without thread ids (the gateway's emitter) get them the way coderd
  derives them (docs/imports.md, "Lineage"): the parent is the interception that
  recorded the tool call this one answers (:data:`~.schema.LOG_LINEAGE`), the root is the
  parent's root, else the parent. They are recomputed from everything stored, so a parent that
  arrives in a later file, or a later import, still links its children, and a row's
  ``session_id`` follows its new root.

When several stored tool calls have the same provider call id, the newest (by ``created_at``,
then interception id) is the parent.
"""

from __future__ import annotations

from .._schema import FROM_LOG, INTERCEPTIONS, LOG_ENDS, LOG_LINEAGE, ORIGIN, TOOL_USAGES, ident
from .run import ImportRun

_I = ident(INTERCEPTIONS.name)
_MAX_DEPTH = 256


def apply(run: ImportRun) -> None:
    """Apply waiting end records, then recompute the derived thread ids."""
    _ends(run)
    _lineage(run)


def _ends(run: ImportRun) -> None:
    if not run.has_rows(ident(LOG_ENDS.name)):
        return
    ends = f'SELECT "interception_id", min("ended_at") AS ended_at FROM {ident(LOG_ENDS.name)} GROUP BY ALL'
    run.touch(
        f'SELECT i."id" FROM {_I} AS i JOIN ({ends}) AS e ON e."interception_id" = i."id" WHERE i."ended_at" IS NULL'
    )
    run.execute(
        f'UPDATE {_I} AS i SET "ended_at" = e.ended_at FROM ({ends}) AS e '
        f'WHERE i."id" = e."interception_id" AND i."ended_at" IS NULL'
    )
    run.execute(
        f'DELETE FROM {ident(LOG_ENDS.name)} '
        f'WHERE "interception_id" IN (SELECT "id" FROM {_I} WHERE "ended_at" IS NOT NULL)'
    )


def _lineage(run: ImportRun) -> None:
    if not run.has_rows(ident(LOG_LINEAGE.name)):
        return
    tools = ident(TOOL_USAGES.name)
    run.execute(f"""
CREATE OR REPLACE TEMP TABLE {run.links} AS
WITH child AS (
    SELECT l."interception_id" AS id, min(l."correlating_tool_call_id") AS call
    FROM {ident(LOG_LINEAGE.name)} AS l
    JOIN {_I} AS i ON i."id" = l."interception_id" AND i.{ident(ORIGIN)} = {FROM_LOG}
    GROUP BY ALL
),
calls AS (
    SELECT "provider_tool_call_id" AS call, arg_max("interception_id", ("created_at", "interception_id")) AS parent
    FROM {tools} WHERE "provider_tool_call_id" IN (SELECT call FROM child) GROUP BY ALL
)
SELECT c.id, CASE WHEN p.parent <> c.id THEN p.parent END AS parent
FROM child AS c LEFT JOIN calls AS p ON p.call = c.call
""")
    run.execute(f"""
CREATE OR REPLACE TEMP TABLE {run.links} AS
WITH RECURSIVE links AS (SELECT id, parent FROM {run.links} WHERE parent IS NOT NULL),
walk(id, top, depth) AS (
    SELECT id, parent, 1 FROM links
    UNION ALL
    SELECT w.id, l.parent, w.depth + 1 FROM walk AS w JOIN links AS l ON l.id = w.top WHERE w.depth < {_MAX_DEPTH}
),
tops AS (SELECT id, arg_max(top, depth) AS top FROM walk GROUP BY ALL)
SELECT k.id, k.parent,
       CASE WHEN k.parent IS NULL THEN NULL
            WHEN t.top IN (SELECT id FROM {run.links}) THEN t.top
            ELSE COALESCE(r."thread_root_id", t.top) END AS root
FROM {run.links} AS k LEFT JOIN tops AS t ON t.id = k.id LEFT JOIN {_I} AS r ON r."id" = t.top
""")
    changed = (
        f'SELECT i."id" FROM {_I} AS i JOIN {run.links} AS k ON k.id = i."id" '
        f'WHERE i."thread_parent_id" IS DISTINCT FROM k.parent OR i."thread_root_id" IS DISTINCT FROM k.root'
    )
    run.capture_sessions(changed)
    run.execute(
        f'UPDATE {_I} AS i SET "thread_parent_id" = k.parent, "thread_root_id" = k.root, '
        f'"session_id" = COALESCE(i."client_session_id", CAST(k.root AS VARCHAR), CAST(i."id" AS VARCHAR)) '
        f'FROM {run.links} AS k WHERE k.id = i."id" '
        f'AND (i."thread_parent_id" IS DISTINCT FROM k.parent OR i."thread_root_id" IS DISTINCT FROM k.root)'
    )
