"""Stage one :class:`~aibridge_store._ingest.Source`: cast every column to its type and check
every row, in one pass over the Arrow stream, into a temporary table.

Each row gets the first problem found in it (column order), so a failed import can name the
source, the row and the column. Identifiers come from the schema registry only.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from .._ingest import ROW, Source
from .._ingest.base import PulledStream
from .._schema import Column, Kind, Table, ident
from ..errors import ImportDataError, StorageError
from .checks import readable_checks
from .run import ImportRun

_SEP = "\x1f"


@dataclass(frozen=True, slots=True)
class Relation:
    """Log records that are in the import's connection already: a SELECT over the run's log table
    (DuckDB pulls the fields out of the JSON lines), with its column types. Log records carry no
    row ids, which the merge takes into account."""

    name: str
    table: Table
    schema: pa.Schema
    sql: str
    insert_only: bool = False


Staged = Source | Relation


def from_log(source: Staged) -> bool:
    return isinstance(source, Relation)


def stage_source(run: ImportRun, source: Staged) -> None:
    """Read ``source`` into ``run.stage``; raise :class:`ImportDataError` for its first bad row."""
    present = {f.name: f.type for f in source.schema if f.name != ROW}
    _check_columns(source, present)
    if isinstance(source, Relation):
        _create_stage(run, source, present, f"({source.sql})")
    else:
        stream = PulledStream(source.schema, source.batches)
        run.con.register(run.source, stream.reader())
        try:
            _create_stage(run, source, present, run.source, stream)
        finally:
            try:
                run.con.unregister(run.source)
            except duckdb.Error:
                pass  # the transaction failed already; the caller rolls it back
    _raise_first_bad_row(run, source)


def _create_stage(
    run: ImportRun, source: Staged, present: dict[str, pa.DataType], rows: str, stream: PulledStream | None = None
) -> None:
    try:
        run.execute(f"CREATE OR REPLACE TEMP TABLE {run.stage} AS {_stage_sql(source.table, present, rows)}")
    except duckdb.Error as e:
        if stream is not None:
            stream.reraise()
        raise StorageError(f"{source.name}: cannot stage rows: {e}") from e


def _check_columns(source: Staged, present: dict[str, pa.DataType]) -> None:
    for column in source.table.columns:
        if column.required and column.name not in present:
            raise ImportDataError("this required column is missing", source=source.name, column=column.name)
        if column.name in present and _cast(column, "x", present[column.name]) is None:
            raise ImportDataError(
                f"has type {present[column.name]}, which cannot hold {column.kind.name.lower()} values",
                source=source.name,
                column=column.name,
            )


def _cast(column: Column, raw: str, arrow: pa.DataType) -> str | None:
    """SQL turning the raw column into the column's type, NULL where it cannot; None if impossible."""
    if isinstance(arrow, pa.BaseExtensionType):
        if arrow.extension_name == "arrow.uuid":
            return f"TRY_CAST({raw} AS UUID)" if column.kind is Kind.UUID else None
        arrow = arrow.storage_type
    if pa.types.is_null(arrow):
        return f"CAST(NULL AS {column.kind.sql_type})"
    return _CASTS[column.kind](raw, arrow)


def _is_text(arrow: pa.DataType) -> bool:
    return bool(pa.types.is_string(arrow) or pa.types.is_large_string(arrow) or pa.types.is_string_view(arrow))


def _is_binary(arrow: pa.DataType) -> bool:
    return bool(pa.types.is_binary(arrow) or pa.types.is_fixed_size_binary(arrow) or pa.types.is_large_binary(arrow))


def _cast_uuid(raw: str, arrow: pa.DataType) -> str | None:
    if _is_binary(arrow):
        return f"CASE WHEN octet_length({raw}) = 16 THEN TRY_CAST(hex({raw}) AS UUID) END"
    return f"TRY_CAST({raw} AS UUID)" if _is_text(arrow) else None


def _cast_timestamp(raw: str, arrow: pa.DataType) -> str | None:
    if _is_text(arrow):
        return timestamp_sql(raw)
    return f"TRY_CAST({raw} AS TIMESTAMPTZ)" if pa.types.is_timestamp(arrow) else None


def _cast_count(raw: str, arrow: pa.DataType) -> str | None:
    if pa.types.is_integer(arrow):
        return f"CAST({raw} AS BIGINT)"
    if _is_text(arrow):
        return f"CASE WHEN regexp_full_match(trim({raw}), '[+-]?[0-9]+') THEN TRY_CAST(trim({raw}) AS BIGINT) END"
    return None


_TRUE = ("t", "true", "1")
_FALSE = ("f", "false", "0")


def _cast_bool(raw: str, arrow: pa.DataType) -> str | None:
    if pa.types.is_boolean(arrow):
        return raw
    if not _is_text(arrow):
        return None
    true, false = (", ".join(f"'{v}'" for v in values) for values in (_TRUE, _FALSE))
    return f"CASE WHEN lower(trim({raw})) IN ({true}) THEN true WHEN lower(trim({raw})) IN ({false}) THEN false END"


def _cast_json(raw: str, arrow: pa.DataType) -> str | None:
    if _is_text(arrow):
        return f"TRY_CAST({raw} AS JSON)"
    if pa.types.is_struct(arrow) or pa.types.is_map(arrow) or pa.types.is_list(arrow):
        return f"to_json({raw})"
    return None


def _cast_text(raw: str, arrow: pa.DataType) -> str | None:
    return raw if _is_text(arrow) else None


_CASTS = {
    Kind.UUID: _cast_uuid,
    Kind.TIMESTAMPTZ: _cast_timestamp,
    Kind.COUNT: _cast_count,
    Kind.BOOL: _cast_bool,
    Kind.JSON: _cast_json,
    Kind.TEXT: _cast_text,
}


def timestamp_sql(text: str) -> str:
    """SQL reading a timestamp string the way PostgreSQL does: more than six fractional digits
    (Go logs nanoseconds) are rounded to the microsecond, half to even on the float value as
    PostgreSQL's ``rint``, where DuckDB's cast would truncate (docs/imports.md, "Timestamps")."""
    fraction = f"regexp_extract({text}, '\\.([0-9]{{7,}})', 1)"
    rounded = f"CAST(round_even(TRY_CAST('0.' || {fraction} AS DOUBLE) * 1000000.0, 0) AS BIGINT)"
    truncated = f"CAST(left({fraction}, 6) AS BIGINT)"
    return (
        f"CASE WHEN {fraction} = '' THEN TRY_CAST({text} AS TIMESTAMPTZ) "
        f"ELSE TRY_CAST({text} AS TIMESTAMPTZ) + to_microseconds({rounded} - {truncated}) END"
    )


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
    return checks + readable_checks(column.kind, typed, shown)




_KIND_NAMES = {
    Kind.UUID: "a UUID",
    Kind.TEXT: "text",
    Kind.TIMESTAMPTZ: "a timestamp with time zone",
    Kind.COUNT: "a whole number",
    Kind.BOOL: "a boolean (t/f, true/false, 1/0)",
    Kind.JSON: "JSON",
}


def _stage_sql(table: Table, present: dict[str, pa.DataType], rows: str) -> str:
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
        f"FROM {rows} AS src)"
    )


def _raise_first_bad_row(run: ImportRun, source: Staged) -> None:
    found = run.execute(
        f"SELECT {ident(ROW)}, __error FROM {run.stage} WHERE __error IS NOT NULL "
        f"ORDER BY {ident(ROW)} LIMIT 1"
    ).fetchall()
    bad = found[0] if found else None
    if bad is not None:
        column, _, reason = bad[1].partition(_SEP)
        raise ImportDataError(reason, source=source.name, row=bad[0], column=column)
