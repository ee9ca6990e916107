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
from .schema import CHILD_TABLES, INTERCEPTIONS, PARENT_TIME, USERS, Column, Kind, Table, ident

STAGE = "__aibridge_stage"
UPDATED = "__aibridge_updated"
_SOURCE = "__aibridge_source"
_DUPLICATE_KEYS = "__aibridge_duplicate_keys"
_LOSERS = "__aibridge_losers"
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
        try:
            con.unregister(_SOURCE)
        except duckdb.Error:
            pass  # the transaction failed already; the caller rolls it back
    _raise_first_bad_row(con, source)
    staged = _scalar(con, f"SELECT count(*) FROM {STAGE}")
    inserted, updated = _MERGERS.get(table.name, _merge_insert_only)(con, table)
    return TableCounts(inserted=inserted, updated=updated, unchanged=staged - inserted - updated)


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
    extension = arrow.extension_name if isinstance(arrow, pa.BaseExtensionType) else None
    if extension is not None:
        arrow = arrow.storage_type
    stringy = pa.types.is_string(arrow) or pa.types.is_large_string(arrow) or pa.types.is_string_view(arrow)
    binary = pa.types.is_binary(arrow) or pa.types.is_fixed_size_binary(arrow) or pa.types.is_large_binary(arrow)
    if extension == "arrow.uuid":
        return f"TRY_CAST({raw} AS UUID)" if column.kind is Kind.UUID else None
    kind = column.kind
    if pa.types.is_null(arrow):
        return f"CAST(NULL AS {kind.sql_type})"
    if kind is Kind.UUID:
        if binary:
            return f"CASE WHEN octet_length({raw}) = 16 THEN TRY_CAST(hex({raw}) AS UUID) END"
        return f"TRY_CAST({raw} AS UUID)" if stringy else None
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
    con.execute(f'CREATE OR REPLACE TEMP TABLE {UPDATED} ("id" UUID)')


def finish_import(con: duckdb.DuckDBPyConnection) -> None:
    """Give child rows the start time of interceptions that arrived or changed in this import."""
    for child in CHILD_TABLES:
        parent_time = ident(PARENT_TIME)
        con.execute(
            f'UPDATE {ident(child.name)} AS c SET {parent_time} = p."started_at" '
            f'FROM {ident(INTERCEPTIONS.name)} AS p WHERE c.{parent_time} IS NULL AND c."interception_id" = p."id"'
        )
        if _scalar(con, f"SELECT count(*) FROM {UPDATED}"):
            con.execute(
                f'UPDATE {ident(child.name)} AS c SET {parent_time} = p."started_at" '
                f'FROM {ident(INTERCEPTIONS.name)} AS p WHERE c."interception_id" = p."id" '
                f'AND c."interception_id" IN (SELECT "id" FROM {UPDATED}) '
                f'AND c.{parent_time} IS DISTINCT FROM p."started_at"'
            )
    for name in (UPDATED, STAGE, _DUPLICATE_KEYS, _LOSERS):
        con.execute(f"DROP TABLE IF EXISTS {name}")
