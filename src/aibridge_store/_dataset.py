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
from collections.abc import Callable
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
FINGERPRINT = "duckdb hash of the dataset's values"
"""How a day's rows are fingerprinted (by DuckDB, over the values as the dataset holds them, so
that an export and a Spark import compare each other's days)."""

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
    """(day → table → [rows, digest]) of the partitioned tables, (table → [rows, digest]) of the
    others, over the store's tables."""
    def rows(table: str) -> str:
        day = f", {_day_sql(table)} AS {DAY}" if table in PARTITIONED else ""
        return f"SELECT {_select(table, columns()[table])}{day} FROM {ident(table)}"

    return _fingerprint_rows(con, rows)


def fingerprint_folder(
    con: duckdb.DuckDBPyConnection, folder: Path
) -> tuple[dict[str, dict[str, list[Any]]], dict[str, list[Any]]]:
    """The same fingerprints over a dataset's files (as another writer left them in ``folder``)."""
    def rows(table: str) -> str:
        names = ", ".join(ident(c) for c, _ in columns()[table])
        if table in PARTITIONED:
            if not any((folder / table).glob(f"{DAY}=*/*.parquet")):
                empty = ", ".join(f"CAST(NULL AS VARCHAR) AS {ident(c)}" for c, _ in columns()[table])
                return f"SELECT * FROM (SELECT {empty}, CAST(NULL AS DATE) AS {DAY}) WHERE FALSE"
            files = _quote(str(folder / table / f"{DAY}=*" / "*.parquet"))
            return f"SELECT {names}, {DAY} FROM read_parquet({files}, hive_partitioning = true)"
        return f"SELECT {names} FROM read_parquet({_quote(str(folder / table / '*.parquet'))})"

    return _fingerprint_rows(con, rows)


def _fingerprint_rows(
    con: duckdb.DuckDBPyConnection, rows: Callable[[str], str]
) -> tuple[dict[str, dict[str, list[Any]]], dict[str, list[Any]]]:
    days: dict[str, dict[str, list[Any]]] = {}
    whole: dict[str, list[Any]] = {}
    for table, cols in columns().items():
        digest = _digest(cols)
        if table in PARTITIONED:
            for day, n, value in con.execute(
                f"SELECT CAST({DAY} AS VARCHAR) AS d, count(*), {digest} FROM ({rows(table)}) GROUP BY d"
            ).fetchall():
                days.setdefault(day, {})[table] = [n, value]
        else:
            n, value = con.execute(f"SELECT count(*), {digest} FROM ({rows(table)})").fetchall()[0]
            whole[table] = [n, value]
    return days, whole


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass
class Changes:
    """What a write must do to bring a dataset to new fingerprints."""

    days: dict[str, dict[str, list[Any]]]
    whole: dict[str, list[Any]]
    changed: list[str]
    removed: list[str]
    tables: list[str]
    """The unpartitioned tables to write again."""


def plan_changes(
    root: Path, days: dict[str, dict[str, list[Any]]], whole: dict[str, list[Any]]
) -> Changes:
    """Compare new fingerprints with the dataset's manifest: the days and tables to write."""
    old = comparable_manifest(root, FINGERPRINT) or {}
    old_days: dict[str, Any] = old.get("days", {})
    old_whole: dict[str, Any] = old.get("tables_fingerprint", {})
    changed = sorted(d for d in days if days[d] != old_days.get(d) or not _day_complete(root, d, days[d]))
    removed = sorted(set(old_days) - set(days))
    tables = [t for t, p in whole.items() if p != old_whole.get(t) or not (root / t / DATA_FILE).exists()]
    return Changes(days, whole, changed, removed, tables)


def export_dataset(con: duckdb.DuckDBPyConnection, out: str | os.PathLike[str]) -> DatasetExport:
    """Write the store ``con`` reads (in one snapshot) as a dataset at ``out``, rewriting only
    what changed since the dataset's last export."""
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    changes = plan_changes(root, *_fingerprints(con))
    aside = root / f".staging-{uuid.uuid4().hex}"
    try:
        aside.mkdir()
        if changes.changed:
            _copy_days(con, aside, changes.changed)
        for table in changes.tables:
            _copy_whole(con, aside, table)
        place(root, aside, changes)
    finally:
        shutil.rmtree(aside, ignore_errors=True)
    first, last = con.execute(
        f'SELECT min("started_at"), max("started_at") FROM {ident(INTERCEPTIONS.name)}'
    ).fetchall()[0]
    rows = write_manifest(root, changes, first=first, last=last)
    return DatasetExport(str(root), days_written=changes.changed, days_removed=changes.removed,
                         days_unchanged=len(changes.days) - len(changes.changed), tables_written=changes.tables,
                         rows=rows)


def _day_complete(root: Path, day: str, tables: dict[str, list[Any]]) -> bool:
    return all((root / table / f"{DAY}={day}" / DATA_FILE).exists() for table in tables)


def _copy_days(con: duckdb.DuckDBPyConnection, aside: Path, changed: list[str]) -> None:
    """One partitioned COPY per table of the changed days into ``aside``."""
    listed = ", ".join(f"DATE {_quote(d)}" for d in changed)
    cols = columns()
    for table in PARTITIONED:
        con.execute(
            f"COPY (SELECT {_select(table, cols[table])}, {_day_sql(table)} AS {DAY} FROM {ident(table)} "
            f"WHERE {_day_sql(table)} IN ({listed})) TO {_quote(str(aside / table))} "
            f"(FORMAT parquet, PARTITION_BY ({DAY}), FILENAME_PATTERN 'part_{{i}}', COMPRESSION zstd)"
        )


def _copy_whole(con: duckdb.DuckDBPyConnection, aside: Path, table: str) -> None:
    (aside / table).mkdir(parents=True, exist_ok=True)
    con.execute(
        f"COPY (SELECT {_select(table, columns()[table])} FROM {ident(table)}) "
        f"TO {_quote(str(aside / table / DATA_FILE))} (FORMAT parquet, COMPRESSION zstd)"
    )


def _one_file(folder: Path) -> Path | None:
    found = sorted(folder.glob("*.parquet")) if folder.exists() else []
    if len(found) > 1:
        raise StorageError(f"{folder}: {len(found)} files were written, expected one")
    return found[0] if found else None


def place(root: Path, aside: Path, changes: Changes) -> None:
    """Rename what was written ``aside`` into the dataset: each changed day's file of every
    partitioned table (a day without rows of a table loses its folder), the days that are gone,
    then the unpartitioned tables. Each rename replaces one file whole."""
    for day in changes.changed:
        for table in PARTITIONED:
            final = root / table / f"{DAY}={day}"
            written = _one_file(aside / table / f"{DAY}={day}")
            if written is None or table not in changes.days.get(day, {}):
                shutil.rmtree(final, ignore_errors=True)
                continue
            final.mkdir(parents=True, exist_ok=True)
            os.replace(written, final / DATA_FILE)
    for day in changes.removed:
        for table in PARTITIONED:
            shutil.rmtree(root / table / f"{DAY}={day}", ignore_errors=True)
    for table in changes.tables:
        written = _one_file(aside / table)
        if written is None:
            raise StorageError(f"{aside / table}: no file was written")
        (root / table).mkdir(parents=True, exist_ok=True)
        os.replace(written, root / table / DATA_FILE)


def _row_counts(days: dict[str, dict[str, list[Any]]], whole: dict[str, list[Any]]) -> dict[str, int]:
    rows = {table: 0 for table in columns()}
    for tables in days.values():
        for table, (n, _) in tables.items():
            rows[table] += int(n)
    for table, (n, _) in whole.items():
        rows[table] = int(n)
    return rows


def write_manifest(root: Path, changes: Changes, *, first: datetime | None, last: datetime | None) -> dict[str, int]:
    """Write the manifest (atomically, last): what readers and the next write rely on. Returns
    the rows per table."""
    def instant(moment: datetime | None) -> str | None:
        return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")

    rows = _row_counts(changes.days, changes.whole)
    manifest = {
        "layout": LAYOUT,
        "layout_version": LAYOUT_VERSION,
        "schema_version": SCHEMA_VERSION,
        "written_at": instant(datetime.now(UTC)),
        "partitioned_by": {"column": DAY, "tables": list(PARTITIONED)},
        "rows": rows,
        "time_range": {"first_started_at": instant(first), "last_started_at": instant(last)},
        "fingerprint": FINGERPRINT,
        "days": dict(sorted(changes.days.items())),
        "tables_fingerprint": changes.whole,
    }
    temporary = root / f".{MANIFEST}.{uuid.uuid4().hex}"
    temporary.write_text(json.dumps(manifest, indent=1) + "\n")
    os.replace(temporary, root / MANIFEST)
    return rows


def _stored(column: str, kind: str) -> str:
    """A dataset column read back as the store types it."""
    if kind in ("UUID", "JSON"):
        return f"CAST({ident(column)} AS {kind}) AS {ident(column)}"
    return ident(column)


def view_statements(root: Path) -> list[str]:
    """Views named as the store's tables over the dataset's files (values typed as the store
    types them), for a read-only DuckDB store over the dataset."""
    statements = []
    for table, cols in columns().items():
        selected = ", ".join(_stored(c, k) for c, k in cols)
        if table in PARTITIONED:
            files = sorted((root / table).glob(f"{DAY}=*/*.parquet"))
            pattern = _quote(str(root / table / f"{DAY}=*" / "*.parquet"))
            source = f"read_parquet({pattern}, hive_partitioning = true)" if files else None
        else:
            present = (root / table / DATA_FILE).exists()
            source = f"read_parquet({_quote(str(root / table / DATA_FILE))})" if present else None
        if source is None:
            empty = ", ".join(f"CAST(NULL AS {k}) AS {ident(c)}" for c, k in cols)
            statements.append(f"CREATE VIEW {ident(table)} AS SELECT * FROM (SELECT {empty}) WHERE FALSE")
        else:
            statements.append(f"CREATE VIEW {ident(table)} AS SELECT {selected} FROM {source}")
    return statements
