"""The dataset layout: the store as Hive-partitioned Parquet that Spark, Trino and DuckDB read
(README, "Scale out").

``OUT/<table>/day=YYYY-MM-DD/data.parquet`` for the interceptions, their child rows and their
totals, partitioned by the UTC day the interception started (a child row whose interception is
not stored yet goes by its own ``created_at``); ``OUT/<table>/data.parquet`` for the small tables
(users, the session rollup, the catalog, the counts and what log records leave for later);
``OUT/manifest.json`` last. UUID and JSON columns are text, instants UTC timestamps.

Every file is written beside its place and renamed over it, so a reader sees a day's file whole,
old or new. The manifest keeps a fingerprint (row count and a hash of the rows) of every table's
day, so a later export rewrites only the days whose rows changed and removes the days that are
gone.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from ._schema import (
    CHILD_TABLES,
    DERIVED_TABLES,
    IMPORT_SOURCES,
    INTERCEPTION_TOTALS,
    INTERCEPTIONS,
    LOG_TABLES,
    PARENT_TIME,
    SCHEMA_VERSION,
    TABLES,
    ident,
)
from .errors import StorageError

MANIFEST = "manifest.json"
LAYOUT = "aibridge_store dataset"
LAYOUT_VERSION = 1
DAY = "day"
"""The partition column (a DATE, the UTC day)."""
DATA_FILE = "data.parquet"
FINGERPRINT = "duckdb hash"
"""How this writer fingerprints a day's rows (another writer's fingerprints are not compared)."""

PARTITIONED: dict[str, str] = {
    INTERCEPTIONS.name: '"started_at"',
    **{t.name: f'COALESCE({ident(PARENT_TIME)}, "created_at")' for t in CHILD_TABLES},
    INTERCEPTION_TOTALS: '"started_at"',
}
"""Tables partitioned by day → the instant whose UTC day names their partition."""


def columns() -> dict[str, list[tuple[str, str]]]:
    """Every table of the dataset: name → (column, DuckDB type without NOT NULL) in the store's order."""
    found = {t.name: t.declared_columns() for t in (*TABLES.values(), *LOG_TABLES)}
    found |= {name: list(cols) for name, cols in DERIVED_TABLES.items() if name != IMPORT_SOURCES}
    return {name: [(c, kind.removesuffix(" NOT NULL")) for c, kind in cols] for name, cols in found.items()}


def _portable(column: str, kind: str) -> str:
    """A column as the dataset holds it: UUIDs and JSON as text."""
    return f"CAST({ident(column)} AS VARCHAR)" if kind in ("UUID", "JSON") else ident(column)


def _select(table: str, cols: list[tuple[str, str]]) -> str:
    return ", ".join(f"{_portable(c, k)} AS {ident(c)}" for c, k in cols)


def _day_sql(table: str) -> str:
    return f"CAST(timezone('UTC', {PARTITIONED[table]}) AS DATE)"


def _digest(cols: list[tuple[str, str]]) -> str:
    return f"CAST(sum(hash({', '.join(ident(c) for c, _ in cols)})) AS VARCHAR)"


@dataclass
class DatasetExport:
    """What one export did: days written, removed and left as they were, and rows per table."""

    path: str
    days_written: list[str] = field(default_factory=list)
    days_removed: list[str] = field(default_factory=list)
    days_unchanged: int = 0
    tables_written: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)


def read_manifest(out: Path) -> dict[str, Any] | None:
    """The manifest of the dataset at ``out``, or None when there is none yet."""
    try:
        text = (out / MANIFEST).read_text()
    except FileNotFoundError:
        return None
    try:
        manifest = json.loads(text)
    except ValueError as e:
        raise StorageError(f"{out / MANIFEST}: not a dataset manifest ({e})") from e
    if not isinstance(manifest, dict) or manifest.get("layout") != LAYOUT:
        raise StorageError(f"{out / MANIFEST}: not an aibridge_store dataset manifest")
    return manifest


def comparable_manifest(root: Path, fingerprint: str) -> dict[str, Any] | None:
    """The dataset's manifest if this writer can compare its fingerprints (the same layout,
    schema and hash), else None: everything is written again."""
    old = read_manifest(root)
    if old is None:
        return None
    if (old.get("layout_version"), old.get("schema_version"), old.get("fingerprint")) != (
        LAYOUT_VERSION, SCHEMA_VERSION, fingerprint
    ):
        return None
    return old


def _fingerprints(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, dict[str, list[Any]]], dict[str, list[Any]]]:
    """(day → table → [rows, digest]) of the partitioned tables, (table → [rows, digest]) of the others."""
    days: dict[str, dict[str, list[Any]]] = {}
    whole: dict[str, list[Any]] = {}
    for table, cols in columns().items():
        digest = _digest(cols)
        if table in PARTITIONED:
            for day, rows, value in con.execute(
                f"SELECT CAST({_day_sql(table)} AS VARCHAR) AS d, count(*), {digest} FROM {ident(table)} GROUP BY d"
            ).fetchall():
                days.setdefault(day, {})[table] = [rows, value]
        else:
            rows, value = con.execute(f"SELECT count(*), {digest} FROM {ident(table)}").fetchall()[0]
            whole[table] = [rows, value]
    return days, whole


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def export_dataset(con: duckdb.DuckDBPyConnection, out: str | os.PathLike[str]) -> DatasetExport:
    """Write the store ``con`` reads (in one snapshot) as a dataset at ``out``, rewriting only
    what changed since the dataset's last export."""
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    old = comparable_manifest(root, FINGERPRINT)
    days, whole = _fingerprints(con)
    old_days: dict[str, Any] = (old or {}).get("days", {})
    old_whole: dict[str, Any] = (old or {}).get("tables_fingerprint", {})
    changed = sorted(d for d in days if days[d] != old_days.get(d) or not _day_complete(root, d, days[d]))
    removed = sorted(set(old_days) - set(days))
    result = DatasetExport(str(root), days_written=changed, days_removed=removed,
                           days_unchanged=len(days) - len(changed))
    staging = root / f".staging-{uuid.uuid4().hex}"
    try:
        if changed:
            _write_days(con, root, staging, changed, days)
        for day in removed:
            _remove_day(root, day)
        for table, print_ in whole.items():
            if print_ != old_whole.get(table) or not (root / table / DATA_FILE).exists():
                _write_whole(con, root, staging, table)
                result.tables_written.append(table)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    result.rows = _row_counts(days, whole)
    _write_manifest(con, root, days, whole, result.rows)
    return result


def _day_complete(root: Path, day: str, tables: dict[str, list[Any]]) -> bool:
    return all((root / table / f"{DAY}={day}" / DATA_FILE).exists() for table in tables)


def _write_days(
    con: duckdb.DuckDBPyConnection, root: Path, staging: Path, changed: list[str], days: dict[str, Any]
) -> None:
    """One partitioned COPY per table of the changed days into ``staging``, then each day's files
    renamed into place, a day at a time."""
    listed = ", ".join(f"DATE {_quote(d)}" for d in changed)
    cols = columns()
    staging.mkdir(parents=True, exist_ok=True)
    for table in PARTITIONED:
        target = staging / table
        con.execute(
            f"COPY (SELECT {_select(table, cols[table])}, {_day_sql(table)} AS {DAY} FROM {ident(table)} "
            f"WHERE {_day_sql(table)} IN ({listed})) TO {_quote(str(target))} "
            f"(FORMAT parquet, PARTITION_BY ({DAY}), FILENAME_PATTERN 'part_{{i}}', COMPRESSION zstd)"
        )
    for day in changed:
        for table in PARTITIONED:
            final = root / table / f"{DAY}={day}"
            written = sorted((staging / table / f"{DAY}={day}").glob("*.parquet"))
            if day not in days or table not in days[day]:
                if final.exists():
                    shutil.rmtree(final)
                continue
            if len(written) != 1:
                raise StorageError(f"export of {table} for {day} wrote {len(written)} files, expected one")
            final.mkdir(parents=True, exist_ok=True)
            os.replace(written[0], final / DATA_FILE)


def _remove_day(root: Path, day: str) -> None:
    for table in PARTITIONED:
        shutil.rmtree(root / table / f"{DAY}={day}", ignore_errors=True)


def _write_whole(con: duckdb.DuckDBPyConnection, root: Path, staging: Path, table: str) -> None:
    staging.mkdir(parents=True, exist_ok=True)
    temporary = staging / f"{table}.parquet"
    con.execute(
        f"COPY (SELECT {_select(table, columns()[table])} FROM {ident(table)}) TO {_quote(str(temporary))} "
        f"(FORMAT parquet, COMPRESSION zstd)"
    )
    (root / table).mkdir(parents=True, exist_ok=True)
    os.replace(temporary, root / table / DATA_FILE)


def _row_counts(days: dict[str, dict[str, list[Any]]], whole: dict[str, list[Any]]) -> dict[str, int]:
    rows = {table: 0 for table in columns()}
    for tables in days.values():
        for table, (n, _) in tables.items():
            rows[table] += int(n)
    for table, (n, _) in whole.items():
        rows[table] = int(n)
    return rows


def _write_manifest(
    con: duckdb.DuckDBPyConnection, root: Path, days: dict[str, Any], whole: dict[str, Any], rows: dict[str, int]
) -> None:
    first, last = con.execute(
        f'SELECT min("started_at"), max("started_at") FROM {ident(INTERCEPTIONS.name)}'
    ).fetchall()[0]
    write_manifest(root, days=days, whole=whole, rows=rows, first=first, last=last, fingerprint=FINGERPRINT)


def write_manifest(
    root: Path, *, days: dict[str, Any], whole: dict[str, Any], rows: dict[str, int],
    first: datetime | None, last: datetime | None, fingerprint: str,
) -> None:
    """Write the manifest (atomically, last): what readers and the next export rely on."""
    def instant(moment: datetime | None) -> str | None:
        return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")

    manifest = {
        "layout": LAYOUT,
        "layout_version": LAYOUT_VERSION,
        "schema_version": SCHEMA_VERSION,
        "written_at": instant(datetime.now(UTC)),
        "partitioned_by": {"column": DAY, "tables": list(PARTITIONED)},
        "rows": rows,
        "time_range": {"first_started_at": instant(first), "last_started_at": instant(last)},
        "fingerprint": fingerprint,
        "days": dict(sorted(days.items())),
        "tables_fingerprint": whole,
    }
    temporary = root / f".{MANIFEST}.{uuid.uuid4().hex}"
    temporary.write_text(json.dumps(manifest, indent=1) + "\n")
    os.replace(temporary, root / MANIFEST)
