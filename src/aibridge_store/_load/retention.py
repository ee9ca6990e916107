"""Retention: remove the interceptions that started before a time, with everything that hangs off
them, and keep the rollups, the counts and the catalog exact, in the run's one transaction."""

from __future__ import annotations

from datetime import datetime

from .._schema import CATALOG, CHILD_TABLES, INTERCEPTION_TOTALS, INTERCEPTIONS, LOG_TABLES, PARENT_TIME, ident
from . import rollups
from .run import ImportRun

_I = ident(INTERCEPTIONS.name)


def delete_before(run: ImportRun, before: datetime) -> dict[str, int]:
    """Delete every interception (ended or in flight) with ``started_at < before`` and its child
    rows and waiting log records; rebuild the sessions and catalog entries they were part of.
    Returns the rows deleted per table. Child rows without a stored interception stay."""
    run.execute(
        f'CREATE OR REPLACE TEMP TABLE {run.doomed} AS '
        f'SELECT "id", "session_id", "initiator_id" FROM {_I} WHERE "started_at" < ?',
        [before],
    )
    run.execute(
        f'INSERT INTO {run.sessions_before} ("session_id", "initiator_id") '
        f'SELECT DISTINCT "session_id", "initiator_id" FROM {run.doomed}'
    )
    deleted: dict[str, int] = {}
    for child in CHILD_TABLES:
        # Child rows carry their interception's start time: zone maps find them without a join.
        deleted[child.name] = run.number(
            f"DELETE FROM {ident(child.name)} WHERE {ident(PARENT_TIME)} < ? "
            f'AND "interception_id" IN (SELECT "id" FROM {run.doomed})',
            [before],
        )
    for table in LOG_TABLES:
        deleted[table.name] = run.number(
            f'DELETE FROM {ident(table.name)} WHERE "interception_id" IN (SELECT "id" FROM {run.doomed})'
        )
    deleted[INTERCEPTIONS.name] = run.number(f'DELETE FROM {_I} WHERE "started_at" < ?', [before])
    run.execute(f'DELETE FROM {ident(INTERCEPTION_TOTALS)} WHERE "started_at" < ?', [before])
    rollups.finish(run)
    _rebuild_catalog(run)
    return deleted


def _rebuild_catalog(run: ImportRun) -> None:
    """The catalog entries of the initiators who lost interceptions, computed again from what is
    left (the catalog otherwise only grows)."""
    initiators = f'SELECT DISTINCT "initiator_id" FROM {run.doomed}'
    run.execute(f'DELETE FROM {ident(CATALOG)} WHERE "initiator_id" IN ({initiators})')
    ended = f'"ended_at" IS NOT NULL AND "initiator_id" IN ({initiators})'
    run.execute(
        f'INSERT INTO {ident(CATALOG)} ("kind", "value", "initiator_id") SELECT DISTINCT * FROM ('
        f"SELECT 'model', \"model\", \"initiator_id\" FROM {_I} WHERE {ended} "
        f"UNION ALL SELECT 'client', COALESCE(\"client\", 'Unknown'), \"initiator_id\" FROM {_I} WHERE {ended})"
    )
