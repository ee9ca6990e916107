"""Merge staged rows into their table, inside the caller's transaction.

A bad row raises :class:`ImportDataError` while staging and the caller rolls the whole import
back. Rules per table:

* interceptions dedupe by ``id``; a stored in-flight row (``ended_at`` NULL) is replaced by an
  incoming copy that has ended; anything else already stored is left as it is;
* token usages, prompts and tool usages dedupe by ``id`` (first copy wins);
* model thoughts (no id) dedupe by interception, time and content;
* users are replaced by a newer copy when any field differs.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from . import rollup
from .ingest import ROW, Source
from .rollup import UPDATED
from .schema import INTERCEPTIONS, PARENT_TIME, USERS, Table, ident
from .staging import STAGE, stage_source

_DUPLICATE_KEYS = "__aibridge_duplicate_keys"
_LOSERS = "__aibridge_losers"


@dataclass
class TableCounts:
    """Rows of one table in one import: inserted, updated and unchanged (already there)."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: TableCounts) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged

    @property
    def rows(self) -> int:
        return self.inserted + self.updated + self.unchanged


def merge_source(con: duckdb.DuckDBPyConnection, source: Source) -> TableCounts:
    """Stage, validate and merge one source; return what happened to its rows."""
    stage_source(con, source)
    if source.table is INTERCEPTIONS:
        rollup.touch(con, f'SELECT "id" FROM {STAGE}')
    elif "interception_id" in source.table.column_index:
        rollup.touch(con, f'SELECT "interception_id" FROM {STAGE}')
    staged = _scalar(con, f"SELECT count(*) FROM {STAGE}")
    merger = _merge_insert_only if source.insert_only else _MERGERS.get(source.table.name, _merge_insert_only)
    inserted, updated = merger(con, source.table)
    return TableCounts(inserted=inserted, updated=updated, unchanged=staged - inserted - updated)


def _columns(table: Table, prefix: str = "") -> str:
    return ", ".join(prefix + ident(c) for c in table.stored_columns)


def _key_match(table: Table, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{ident(k)} = {right}.{ident(k)}" for k in table.key)


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return con.execute(sql).fetchone()[0]  # type: ignore[index]


def _drop_duplicates(con: duckdb.DuckDBPyConnection, table: Table, prefer: str) -> str:
    """Find rows that lose to another copy of the same key (usually none); return a condition
    that keeps the winners of ``s``."""
    keys = ", ".join(ident(k) for k in table.key)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_DUPLICATE_KEYS} AS "
        f"SELECT {keys} FROM {STAGE} GROUP BY ALL HAVING count(*) > 1"
    )
    if not _scalar(con, f"SELECT count(*) FROM {_DUPLICATE_KEYS}"):
        return "TRUE"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_LOSERS} AS SELECT {ident(ROW)} FROM ("
        f"SELECT s.{ident(ROW)}, row_number() OVER (PARTITION BY {', '.join('s.' + ident(k) for k in table.key)} "
        f"ORDER BY {prefer}) AS n FROM {STAGE} AS s SEMI JOIN {_DUPLICATE_KEYS} AS d ON {_key_match(table, 's', 'd')}"
        f") WHERE n > 1"
    )
    return f"s.{ident(ROW)} NOT IN (SELECT {ident(ROW)} FROM {_LOSERS})"


def _insert_new(con: duckdb.DuckDBPyConnection, table: Table, keep: str) -> int:
    columns = _columns(table)
    values = _columns(table, "s.")
    parent = ""
    if table.parent_time:
        columns += f", {ident(PARENT_TIME)}"
        values += f', p."started_at" AS {ident(PARENT_TIME)}'
        parent = f'LEFT JOIN {ident(INTERCEPTIONS.name)} AS p ON p."id" = s."interception_id"'
    order = f"ORDER BY {table.order_by}" if table.order_by else ""
    return _scalar(
        con,
        f"INSERT INTO {ident(table.name)} ({columns}) SELECT {values} FROM {STAGE} AS s {parent} "
        f"ANTI JOIN {ident(table.name)} AS t ON {_key_match(table, 't', 's')} WHERE {keep} {order}",
    )


def _update(con: duckdb.DuckDBPyConnection, table: Table, candidates: str, when: str, keep: str) -> int:
    """Overwrite stored rows (among ``candidates``, a SELECT of keys) that ``when`` says to."""
    sets = ", ".join(f"{ident(c)} = s.{ident(c)}" for c in table.stored_columns if c not in table.key)
    return _scalar(
        con,
        f"UPDATE {ident(table.name)} AS t SET {sets} FROM {STAGE} AS s "
        f"WHERE {_key_match(table, 't', 's')} AND s.{ident(table.key[0])} IN ({candidates}) "
        f"AND ({when}) AND {keep}",
    )


def _merge_insert_only(con: duckdb.DuckDBPyConnection, table: Table) -> tuple[int, int]:
    keep = _drop_duplicates(con, table, f"s.{ident(ROW)}")
    return _insert_new(con, table, keep), 0


def _merge_interceptions(con: duckdb.DuckDBPyConnection, table: Table) -> tuple[int, int]:
    keep = _drop_duplicates(con, table, f's."ended_at" IS NULL, s.{ident(ROW)} DESC')
    in_flight = f'SELECT "id" FROM {ident(table.name)} WHERE "ended_at" IS NULL'
    con.execute(
        f'INSERT INTO {UPDATED} SELECT s."id" FROM {STAGE} AS s '
        f'WHERE s."ended_at" IS NOT NULL AND s."id" IN ({in_flight}) AND {keep}'
    )
    updated = _update(con, table, f"SELECT * FROM {UPDATED}", 't."ended_at" IS NULL AND s."ended_at" IS NOT NULL', keep)
    return _insert_new(con, table, keep), updated


def _merge_users(con: duckdb.DuckDBPyConnection, table: Table) -> tuple[int, int]:
    keep = _drop_duplicates(con, table, f"s.{ident(ROW)} DESC")
    differs = " OR ".join(
        f"t.{ident(c)} IS DISTINCT FROM s.{ident(c)}" for c in table.stored_columns if c not in table.key
    )
    updated = _update(con, table, f'SELECT "id" FROM {ident(table.name)}', differs, keep)
    return _insert_new(con, table, keep), updated


_MERGERS = {INTERCEPTIONS.name: _merge_interceptions, USERS.name: _merge_users}


def begin_import(con: duckdb.DuckDBPyConnection) -> None:
    """Set up the bookkeeping of one import call (inside its transaction)."""
    rollup.begin(con)


def finish_import(con: duckdb.DuckDBPyConnection) -> None:
    """Bring the derived data up to date with what this import changed (see :mod:`.rollup`)."""
    rollup.finish(con)
    for name in (STAGE, _DUPLICATE_KEYS, _LOSERS):
        con.execute(f"DROP TABLE IF EXISTS {name}")
