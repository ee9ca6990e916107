"""The store as a SQLite file that people browse with ``sqlite3``, Datasette or sqlite-utils
(README, "A SQLite copy"; docs/decisions.md, "SQLite files").

The same tables, columns and public views as the DuckDB store, in types every SQLite tool reads:
UUIDs as lower-case text, instants as ISO 8601 text in UTC with six decimals
(``2026-01-31T09:30:00.000000Z``, so that text order is time order), booleans as 0 and 1, lists
(a session's providers and models) as JSON arrays, JSON as text. Tables are STRICT, so a value of
the wrong type is refused rather than stored. Indexes serve the read paths: pages newest first,
an interception's child rows, sessions by activity and by id.

A copy is written from a DuckDB store through Arrow batches into a new file beside the target,
which then replaces it, so that a reader never sees half a copy.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import pyarrow as pa

from .._query.dialect import SQLITE
from .._schema import (
    CATALOG,
    DERIVED_KEYS,
    DERIVED_TABLES,
    INTERCEPTION_COUNTS,
    INTERCEPTION_TOTALS,
    INTERCEPTIONS,
    LOG_TABLES,
    META_TABLE,
    SESSION_ROLLUP,
    TABLES,
    ident,
    public_views,
)
from ..errors import StorageError

_TYPES = {"UUID": "TEXT", "VARCHAR": "TEXT", "TIMESTAMPTZ": "TEXT", "JSON": "TEXT", "VARCHAR[]": "TEXT",
          "DATE": "TEXT", "BIGINT": "INTEGER", "BOOLEAN": "INTEGER"}
"""DuckDB type → SQLite (STRICT) type."""

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
"""How instants are written: UTC, always six decimals, so that text order is time order."""


class Index(NamedTuple):
    name: str
    table: str
    columns: tuple[str, ...]
    """Column names, each with ``DESC`` where the read path walks it newest first."""
    present: str | None = None
    """Only the rows where this column is not NULL (a partial index)."""


INDEXES: tuple[Index, ...] = (
    Index("aibridge_interceptions_page_idx", INTERCEPTIONS.name, ("started_at DESC", "id DESC")),
    Index("aibridge_interceptions_initiator_idx", INTERCEPTIONS.name, ("initiator_id", "started_at DESC", "id DESC")),
    Index("aibridge_interceptions_session_idx", INTERCEPTIONS.name, ("session_id", "initiator_id")),
    Index("aibridge_interceptions_thread_idx", INTERCEPTIONS.name, ("thread_root_id",), present="thread_root_id"),
    *(Index(f"{table.name}_interception_idx", table.name, ("interception_id", "created_at"))
      for table in TABLES.values() if table.parent_time),
    Index("aibridge_session_rollup_page_idx", SESSION_ROLLUP, ("last_active_at DESC", "session_id DESC",
                                                               "initiator_id DESC")),
    Index("aibridge_session_rollup_session_idx", SESSION_ROLLUP, ("session_id", "initiator_id")),
    Index("aibridge_interception_totals_page_idx", INTERCEPTION_TOTALS, ("started_at DESC", "id DESC")),
    Index("aibridge_catalog_kind_idx", CATALOG, ("kind", "value")),
)
"""The indexes of every read path."""

_BATCH_ROWS = 50_000


def tables() -> dict[str, list[tuple[str, str]]]:
    """Every table of the store: name → (column, DuckDB type) pairs."""
    found = {table.name: table.declared_columns() for table in (*TABLES.values(), *LOG_TABLES)}
    found |= {name: list(columns) for name, columns in DERIVED_TABLES.items()}
    return {META_TABLE: [("key", "VARCHAR NOT NULL"), ("value", "VARCHAR NOT NULL")], **found}


def _sqlite_type(duckdb_type: str) -> str:
    base = duckdb_type.removesuffix(" NOT NULL")
    return _TYPES[base] + (" NOT NULL" if base != duckdb_type else "")


_DERIVED_IDENTITIES = {
    SESSION_ROLLUP: ("session_id", "initiator_id"),
    INTERCEPTION_COUNTS: ("initiator_id", "provider", "provider_name", "model", "client"),
    INTERCEPTION_TOTALS: ("id",),
    CATALOG: ("kind", "value", "initiator_id"),
}
"""What identifies a row of the derived tables without a key (their grouping)."""


def _keys() -> dict[str, tuple[str, ...]]:
    """Every table's identity: its natural key, or for a derived table what it is grouped by."""
    keys = {table.name: table.key for table in (*TABLES.values(), *LOG_TABLES)}
    return {META_TABLE: ("key",), **keys, **DERIVED_KEYS, **_DERIVED_IDENTITIES}


def ddl_statements() -> list[str]:
    """The tables (STRICT; JSON columns hold valid JSON, as DuckDB's JSON type requires)."""
    return [
        f"CREATE TABLE IF NOT EXISTS {ident(name)} ({', '.join(map(_column_ddl, columns))}) STRICT"
        for name, columns in tables().items()
    ]


def _column_ddl(column: tuple[str, str]) -> str:
    name, kind = column
    # NULL first: SQLite before 3.45 answers json_valid(NULL) with 0.
    check = f" CHECK ({ident(name)} IS NULL OR json_valid({ident(name)}))" if kind.startswith("JSON") else ""
    return f"{ident(name)} {_sqlite_type(kind)}{check}"


def index_statements(table: str | None = None) -> list[str]:
    """Each table's natural key as a unique index, and the read paths' indexes (of one ``table``
    only, if given). Built after a bulk load, from sorted runs, which is many times faster than
    keeping them row by row."""
    keys = [f"CREATE UNIQUE INDEX IF NOT EXISTS {ident(name + '_key')} ON {ident(name)} "
            f"({', '.join(map(ident, columns))})" for name, columns in _keys().items() if table in (None, name)]
    return keys + [_index(index) for index in INDEXES if table in (None, index.table)]


def _index_names(table: str) -> list[str]:
    return [name + "_key" for name in _keys() if name == table] + [i.name for i in INDEXES if i.table == table]


def _index(index: Index) -> str:
    ordered = ", ".join(_ordered(column) for column in index.columns)
    partial = f" WHERE {ident(index.present)} IS NOT NULL" if index.present else ""
    return f"CREATE INDEX IF NOT EXISTS {ident(index.name)} ON {ident(index.table)} ({ordered}){partial}"


def _ordered(column: str) -> str:
    name, _, order = column.partition(" ")
    return ident(name) + (f" {order}" if order else "")


def view_statements() -> list[str]:
    return [f"CREATE VIEW IF NOT EXISTS {ident(name)} AS {sql}" for name, sql in public_views(SQLITE.micros).items()]


def _as_sqlite(column: str, duckdb_type: str) -> str:
    """DuckDB SQL that reads a column as the SQLite file holds it."""
    base, quoted = duckdb_type.removesuffix(" NOT NULL"), ident(column)
    if base == "TIMESTAMPTZ":
        return f"strftime({quoted} AT TIME ZONE 'UTC', '{TIME_FORMAT}')"
    if base == "VARCHAR[]":
        return f"CAST(to_json({quoted}) AS VARCHAR)"
    if base == "BOOLEAN":
        return f"CAST({quoted} AS INTEGER)"
    if base in ("UUID", "JSON", "DATE"):
        return f"CAST({quoted} AS VARCHAR)"
    return quoted


def _reader(con: duckdb.DuckDBPyConnection, name: str, columns: list[tuple[str, str]]) -> pa.RecordBatchReader:
    """A table's rows as Arrow batches, in the SQLite file's types."""
    select = ", ".join(f"{_as_sqlite(column, kind)} AS {ident(column)}" for column, kind in columns)
    return con.sql(f"SELECT {select} FROM {ident(name)}").to_arrow_reader(_BATCH_ROWS)


def copy_store(
    con: duckdb.DuckDBPyConnection, path: str | os.PathLike[str], *, replace: bool = False
) -> dict[str, int]:
    """Write every table of the DuckDB store ``con`` reads into a new SQLite file at ``path``
    (its tables, indexes and public views, in WAL mode); rows written per table.

    The rows go from DuckDB to SQLite as Arrow batches through ADBC's SQLite driver, with no
    Python object per value. The file is written beside ``path`` and renamed over it when
    complete, so it appears whole or not at all."""
    import adbc_driver_sqlite.dbapi as adbc

    target = Path(path)
    if target.exists() and not replace:
        raise StorageError(f"{target} exists: pass replace=True (--replace) to write over it")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    written: dict[str, int] = {}
    try:
        with adbc.connect(str(partial), autocommit=True) as out, out.cursor() as cursor:
            for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -262144"):
                cursor.execute(f"PRAGMA {pragma}")  # a new file: nothing to protect until it is renamed
            for statement in ddl_statements():
                cursor.execute(statement)
            for name, columns in tables().items():
                written[name] = cursor.adbc_ingest(name, _reader(con, name, columns), mode="append")
            for statement in [*index_statements(), *view_statements(), "PRAGMA journal_mode = WAL"]:
                cursor.execute(statement)
                cursor.fetchall()
        os.replace(partial, target)
    except (adbc.Error, duckdb.Error, OSError) as e:
        raise StorageError(f"cannot write the SQLite copy {target}: {e}") from e
    finally:
        partial.unlink(missing_ok=True)
    return written


# -- a SQLite store's mirror: the file's rows in DuckDB, and the changes written back -----------

def _from_sqlite(column: str, duckdb_type: str) -> str:
    """DuckDB SQL that reads a column of the SQLite file back in the store's type."""
    base, quoted = duckdb_type.removesuffix(" NOT NULL"), ident(column)
    if base == "VARCHAR[]":
        return f"CAST(from_json({quoted}, '[\"VARCHAR\"]') AS VARCHAR[])"
    if base in ("TIMESTAMPTZ", "BOOLEAN", "UUID", "JSON", "DATE"):
        return f"CAST({quoted} AS {base})"
    return quoted


def _batches(source: sqlite3.Connection, name: str, columns: list[tuple[str, str]]) -> pa.RecordBatchReader:
    """A table of the SQLite file as Arrow batches of its SQLite types (text and integers)."""
    schema = pa.schema([(column, pa.int64() if _sqlite_type(kind).startswith("INTEGER") else pa.string())
                        for column, kind in columns])
    cursor = source.execute(f"SELECT {', '.join(ident(c) for c, _ in columns)} FROM {ident(name)}")

    row = pa.struct(list(schema))

    def batches() -> Iterator[pa.RecordBatch]:
        while rows := cursor.fetchmany(_BATCH_ROWS):  # tuples convert to a struct array in C
            yield pa.RecordBatch.from_struct_array(pa.array(rows, type=row))

    return pa.RecordBatchReader.from_batches(schema, batches())


def load_mirror(source: sqlite3.Connection, con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Read every table of the SQLite file into the empty DuckDB store ``con``, inside the caller's
    read transaction on ``source``; rows read per table.

    Through the standard library's SQLite, as every access of a store's file in a process must
    be: two SQLite libraries with one file open in one process release each other's POSIX
    locks, which can corrupt the file."""
    loaded: dict[str, int] = {}
    con.begin()
    try:
        for name, columns in tables().items():
            con.register("aibridge_sqlite_rows", _batches(source, name, columns))
            try:
                values = ", ".join(_from_sqlite(column, kind) for column, kind in columns)
                con.execute(f"DELETE FROM {ident(name)}")
                con.execute(f"INSERT INTO {ident(name)} ({', '.join(ident(c) for c, _ in columns)}) "
                            f"SELECT {values} FROM aibridge_sqlite_rows")
                loaded[name] = int(con.execute(f"SELECT count(*) FROM {ident(name)}").fetchall()[0][0])
            finally:
                con.unregister("aibridge_sqlite_rows")
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return loaded


_REBUILD_FROM = 20_000
"""Rows added to a table from which rebuilding its indexes may pay (and only if they are a
quarter of what it holds or more)."""


class Snapshot:
    """Every table of a DuckDB store as it was, to find what an import changed: per row its row id,
    a hash of its values and its identity (:func:`_keys`), in temporary tables."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.names = {name: ident(f"aibridge_before_{name}") for name in tables()}
        for name, copy in self.names.items():
            con.execute(f"CREATE OR REPLACE TEMP TABLE {copy} AS SELECT {_fingerprint(name)} FROM {ident(name)}")

    def drop(self) -> None:
        for copy in self.names.values():
            self.con.execute(f"DROP TABLE IF EXISTS {copy}")


def _fingerprint(name: str) -> str:
    """A row's row id, the hash of all its values, and its identity columns."""
    every = ", ".join(ident(column) for column, _ in tables()[name])
    identity = ", ".join(ident(column) for column in _keys()[name])
    return f"rowid AS aibridge_row, hash({every}) AS aibridge_hash, {identity}"


def write_changes(con: duckdb.DuckDBPyConnection, before: Snapshot, out: sqlite3.Connection) -> dict[str, int]:
    """Write what changed in the DuckDB store since ``before`` into the SQLite file (``out``, in
    the caller's transaction); rows written per table.

    A row whose (row id, hash) pair is gone was deleted or changed: it is deleted from the file by
    its identity. A row whose pair is new was inserted or changed: it is inserted. A table that
    gains many rows for its size (a first import) has its indexes dropped before the rows go in
    and built again after, from sorted runs, in the same transaction."""
    written: dict[str, int] = {}
    rebuilt = False
    for name, columns in tables().items():
        table, old = ident(name), before.names[name]
        con.execute(f"CREATE OR REPLACE TEMP TABLE aibridge_after AS SELECT {_fingerprint(name)} FROM {table}")
        try:
            same = "USING (aibridge_row, aibridge_hash)"
            gone = con.sql(f"SELECT {', '.join(_as_sqlite(c, _type(name, c)) for c in _keys()[name])} "
                           f"FROM {old} ANTI JOIN aibridge_after {same}").fetchall()
            if gone:
                _delete_rows(out, name, _keys()[name], gone)
            con.execute(f"CREATE OR REPLACE TEMP TABLE aibridge_added AS SELECT aibridge_row FROM aibridge_after "
                        f"ANTI JOIN {old} {same}")
            written[name], indexed = _write_added(con, out, name, columns)
            rebuilt = rebuilt or indexed
        finally:
            con.execute("DROP TABLE IF EXISTS aibridge_after")
            con.execute("DROP TABLE IF EXISTS aibridge_added")
    if rebuilt:  # statistics for the planner, from a sample of each index
        out.execute("PRAGMA analysis_limit = 1000")
        out.execute("ANALYZE")
    return written


def _type(name: str, column: str) -> str:
    return dict(tables()[name])[column]


def _write_added(con: duckdb.DuckDBPyConnection, out: sqlite3.Connection, name: str,
                 columns: list[tuple[str, str]]) -> tuple[int, bool]:
    """Insert the rows of ``aibridge_added``: their number, and whether the table's indexes were
    built again."""
    added = int(con.execute("SELECT count(*) FROM aibridge_added").fetchall()[0][0])
    if not added:
        return 0, False
    table = ident(name)
    stored = out.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    rebuild = added >= _REBUILD_FROM and added * 4 >= stored
    if rebuild:
        for index in _index_names(name):
            out.execute(f"DROP INDEX IF EXISTS {ident(index)}")
    select = ", ".join(f"{_as_sqlite(column, kind)} AS {ident(column)}" for column, kind in columns)
    rows = con.sql(f"SELECT {select} FROM {table} WHERE rowid IN (SELECT aibridge_row FROM aibridge_added)")
    written = _insert(out, name, columns, rows)
    if rebuild:
        out.execute("PRAGMA threads = 2")  # sort for the indexes in helper threads
        for statement in index_statements(name):
            out.execute(statement)
    return written, rebuild


def _insert(out: sqlite3.Connection, name: str, columns: list[tuple[str, str]], rows: duckdb.DuckDBPyRelation) -> int:
    """Insert the rows of a relation, through Arrow batches (their columns become Python values
    faster than DuckDB's row tuples)."""
    insert = (f"INSERT INTO {ident(name)} ({', '.join(ident(c) for c, _ in columns)}) "
              f"VALUES ({', '.join('?' * len(columns))})")
    written = 0
    for batch in rows.to_arrow_reader(_BATCH_ROWS):
        out.executemany(insert, zip(*(column.to_pylist() for column in batch.columns), strict=True))
        written += batch.num_rows
    return written


def _delete_rows(out: sqlite3.Connection, name: str, identity: tuple[str, ...], rows: list[Any]) -> None:
    """Delete the rows of a table of the SQLite file with these identities."""
    gone = ident("aibridge_gone_rows")
    out.execute(f"CREATE TEMP TABLE {gone} ({', '.join(map(ident, identity))})")
    try:
        out.executemany(f"INSERT INTO temp.{gone} VALUES ({', '.join('?' * len(identity))})", rows)
        same = " AND ".join(f"t.{ident(column)} IS g.{ident(column)}" for column in identity)
        out.execute(f"DELETE FROM {ident(name)} WHERE rowid IN "
                    f"(SELECT t.rowid FROM temp.{gone} AS g JOIN {ident(name)} AS t ON {same})")
    finally:
        out.execute(f"DROP TABLE temp.{gone}")
