"""Stage one :class:`~aibridge_store.ingest.Source`, check every row, merge it into its table.

Runs inside the caller's transaction: a bad row raises :class:`ImportDataError` and the caller
rolls the whole import back. Rules per table:

* interceptions dedupe by ``id``; a stored in-flight row (``ended_at`` NULL) is replaced by an
  incoming copy that has ended; anything else already stored is left as it is;
* token usages, prompts and tool usages dedupe by ``id`` (first copy wins);
* model thoughts (no id) dedupe by interception, time and content;
* users are replaced by a newer copy when any field differs.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from .errors import ImportDataError, StorageError
from .ingest import ROW, Source
from .schema import INTERCEPTIONS, USERS, Column, Kind, Table, ident

STAGE = "__aibridge_stage"
_SOURCE = "__aibridge_source"
_SEP = "\x1f"


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


class _Guard:
    """Keeps the first exception raised while DuckDB pulls batches from Python."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.error: BaseException | None = None

    def reader(self) -> pa.RecordBatchReader:
        def batches():  # type: ignore[no-untyped-def]
            try:
                yield from self.source.batches
            except BaseException as e:
                self.error = e
                raise

        return pa.RecordBatchReader.from_batches(self.source.schema, batches())


def merge_source(con: duckdb.DuckDBPyConnection, source: Source) -> TableCounts:
    """Stage, validate and merge one source; return what happened to its rows."""
    table = source.table
    present = {f.name: f.type for f in source.schema if f.name != ROW}
    _check_columns(source, present)
    guard = _Guard(source)
    con.register(_SOURCE, guard.reader())
    try:
        con.execute(f"DROP TABLE IF EXISTS {STAGE}")
        con.execute(f"CREATE TEMP TABLE {STAGE} AS {_stage_sql(table, present)}")
    except duckdb.Error as e:
        if guard.error is not None:
            raise guard.error from None
        raise StorageError(f"{source.name}: cannot stage rows: {e}") from e
    finally:
        con.unregister(_SOURCE)
    _raise_first_bad_row(con, source)
    try:
        return _MERGERS.get(table.name, _merge_insert_only)(con, table)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {STAGE}")


def _check_columns(source: Source, present: dict[str, pa.DataType]) -> None:
    for column in source.table.columns:
        if column.required and column.name not in present:
            raise ImportDataError("this required column is missing", source=source.name, column=column.name)
        if column.name in present and _cast(column, "x", present[column.name]) is None:
            raise ImportDataError(
                f"has type {present[column.name]}, which cannot hold {column.kind.name.lower()} values",
                source=source.name,
                column=column.name,
            )


_TRUE = ("t", "true", "1")
_FALSE = ("f", "false", "0")


def _cast(column: Column, raw: str, arrow: pa.DataType) -> str | None:
    """SQL turning the raw column into the column's type, NULL where it cannot; None if impossible."""
    stringy = pa.types.is_string(arrow) or pa.types.is_large_string(arrow) or pa.types.is_string_view(arrow)
    binary = pa.types.is_binary(arrow) or pa.types.is_fixed_size_binary(arrow) or pa.types.is_large_binary(arrow)
    kind = column.kind
    if pa.types.is_null(arrow):
        return f"CAST(NULL AS {kind.sql_type})"
    if kind is Kind.UUID:
        if binary:
            return f"CASE WHEN octet_length({raw}) = 16 THEN TRY_CAST(hex({raw}) AS UUID) END"
        return f"TRY_CAST({raw} AS UUID)" if stringy or isinstance(arrow, pa.ExtensionType) else None
    if kind is Kind.TIMESTAMPTZ:
        return f"TRY_CAST({raw} AS TIMESTAMPTZ)" if stringy or pa.types.is_timestamp(arrow) else None
    if kind is Kind.COUNT:
        if pa.types.is_integer(arrow):
            return f"CAST({raw} AS BIGINT)"
        if stringy:
            return f"CASE WHEN regexp_full_match(trim({raw}), '[+-]?[0-9]+') THEN TRY_CAST(trim({raw}) AS BIGINT) END"
        return None
    if kind is Kind.BOOL:
        if pa.types.is_boolean(arrow):
            return raw
        if stringy:
            t, f = (", ".join(f"'{v}'" for v in vs) for vs in (_TRUE, _FALSE))
            return f"CASE WHEN lower(trim({raw})) IN ({t}) THEN true WHEN lower(trim({raw})) IN ({f}) THEN false END"
        return None
    if kind is Kind.JSON:
        if stringy:
            return f"CASE WHEN json_valid({raw}) THEN CAST({raw} AS JSON) END"
        if pa.types.is_struct(arrow) or pa.types.is_map(arrow) or pa.types.is_list(arrow):
            return f"to_json({raw})"
        return None
    return raw if stringy else None


def _checks(column: Column, raw: str, typed: str) -> list[tuple[str, str]]:
    """(condition, SQL message) pairs, in the order they are reported."""
    shown = f"'''' || left(CAST({raw} AS VARCHAR), 80) || ''''"
    checks = []
    if column.required:
        checks.append((f"{raw} IS NULL", "'a value is required'"))
    if typed != raw:
        checks.append((
            f"{raw} IS NOT NULL AND {typed} IS NULL",
            f"'cannot read ' || {shown} || ' as {_KIND_NAMES[column.kind]}'",
        ))
    if column.kind is Kind.COUNT:
        checks.append((f"{typed} < 0", f"'must not be negative, got ' || CAST({typed} AS VARCHAR)"))
    if column.max_length is not None:
        checks.append((
            f"length({typed}) > {column.max_length}",
            f"'is longer than {column.max_length} characters: ' || {shown}",
        ))
    if column.choices:
        allowed = ", ".join(f"'{c}'" for c in column.choices)
        checks.append((
            f"{typed} NOT IN ({allowed})",
            f"'must be one of {', '.join(column.choices)}, got ' || {shown}",
        ))
    return checks


_KIND_NAMES = {
    Kind.UUID: "a UUID",
    Kind.TEXT: "text",
    Kind.TIMESTAMPTZ: "a timestamp with time zone",
    Kind.COUNT: "a whole number",
    Kind.BOOL: "a boolean (t/f, true/false, 1/0)",
    Kind.JSON: "JSON",
}


def _stage_sql(table: Table, present: dict[str, pa.DataType]) -> str:
    typed_cols, checks = [], []
    for column in table.columns:
        name = ident(column.name)
        if column.name in present:
            raw = f"src.{name}"
            typed = _cast(column, raw, present[column.name]) or raw
            typed_cols.append(f"{typed} AS {name}")
            checks += [
                (cond, f"'{column.name}{_SEP}' || {msg}") for cond, msg in _checks(column, raw, typed)
            ]
        else:
            typed_cols.append(f"CAST(NULL AS {column.kind.sql_type}) AS {name}")
    error = "CASE " + " ".join(f"WHEN {c} THEN {m}" for c, m in checks) + " END" if checks else "NULL"
    final = []
    for column in table.columns:
        name = ident(column.name)
        if column.name not in present:
            final.append(f"CAST({column.default} AS {column.kind.sql_type}) AS {name}")
        elif column.not_null:
            final.append(f"COALESCE({name}, {column.default}) AS {name}")
        else:
            final.append(name)
    final += [f"{sql} AS {ident(name)}" for name, _, sql in table.derived]
    return (
        f"SELECT {', '.join(final)}, {ident(ROW)}, __error FROM ("
        f"SELECT {', '.join(typed_cols)}, src.{ident(ROW)}, {error} AS __error "
        f"FROM {_SOURCE} AS src)"
    )


def _raise_first_bad_row(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    bad = con.execute(
        f"SELECT {ident(ROW)}, __error FROM {STAGE} WHERE __error IS NOT NULL "
        f"ORDER BY {ident(ROW)} LIMIT 1"
    ).fetchone()
    if bad is not None:
        column, _, reason = bad[1].partition(_SEP)
        raise ImportDataError(reason, source=source.name, row=bad[0], column=column)


def _columns(table: Table, prefix: str = "") -> str:
    return ", ".join(prefix + ident(c) for c in table.stored_columns)


def _key_match(table: Table, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{ident(k)} = {right}.{ident(k)}" for k in table.key)


def _staged_rows(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute(f"SELECT count(*) FROM {STAGE}").fetchone()[0]  # type: ignore[index]


def _dedupe(con: duckdb.DuckDBPyConnection, table: Table, prefer: str) -> None:
    """Keep one staged row per key: the first by ``prefer``."""
    keys = ", ".join(ident(k) for k in table.key)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {STAGE}_one AS SELECT {_columns(table)} FROM {STAGE} "
        f"QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY {prefer}) = 1"
    )


def _insert_new(con: duckdb.DuckDBPyConnection, table: Table) -> int:
    order = ", ".join(f"s.{ident(c)}" for c in table.order_by) or "1"
    cursor = con.execute(
        f"INSERT INTO {ident(table.name)} ({_columns(table)}) "
        f"SELECT {_columns(table, 's.')} FROM {STAGE}_one AS s "
        f"ANTI JOIN {ident(table.name)} AS t ON {_key_match(table, 't', 's')} ORDER BY {order}"
    )
    return cursor.fetchone()[0]  # type: ignore[index]


def _update(con: duckdb.DuckDBPyConnection, table: Table, when: str) -> int:
    sets = ", ".join(
        f"{ident(c)} = s.{ident(c)}" for c in table.stored_columns if c not in table.key
    )
    cursor = con.execute(
        f"UPDATE {ident(table.name)} AS t SET {sets} FROM {STAGE}_one AS s "
        f"WHERE {_key_match(table, 't', 's')} AND ({when})"
    )
    return cursor.fetchone()[0]  # type: ignore[index]


def _finish(con: duckdb.DuckDBPyConnection, staged: int, inserted: int, updated: int) -> TableCounts:
    con.execute(f"DROP TABLE IF EXISTS {STAGE}_one")
    return TableCounts(inserted=inserted, updated=updated, unchanged=staged - inserted - updated)


def _merge_insert_only(con: duckdb.DuckDBPyConnection, table: Table) -> TableCounts:
    staged = _staged_rows(con)
    _dedupe(con, table, ident(ROW))
    return _finish(con, staged, _insert_new(con, table), 0)


def _merge_interceptions(con: duckdb.DuckDBPyConnection, table: Table) -> TableCounts:
    staged = _staged_rows(con)
    _dedupe(con, table, f'"ended_at" IS NULL, {ident(ROW)} DESC')
    updated = _update(con, table, 't."ended_at" IS NULL AND s."ended_at" IS NOT NULL')
    return _finish(con, staged, _insert_new(con, table), updated)


def _merge_users(con: duckdb.DuckDBPyConnection, table: Table) -> TableCounts:
    staged = _staged_rows(con)
    _dedupe(con, table, f"{ident(ROW)} DESC")
    differs = " OR ".join(
        f"t.{ident(c)} IS DISTINCT FROM s.{ident(c)}" for c in table.stored_columns if c not in table.key
    )
    updated = _update(con, table, differs)
    return _finish(con, staged, _insert_new(con, table), updated)


_MERGERS = {INTERCEPTIONS.name: _merge_interceptions, USERS.name: _merge_users}
