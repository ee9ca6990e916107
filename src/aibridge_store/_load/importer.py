"""One import call from start to end: plan the inputs, merge every source in one transaction,
and say what happened in an :class:`ImportSummary`.

Table files, dumps, API responses and Arrow data arrive as :class:`~aibridge_store._ingest.Source`
objects and are merged one by one; a coderd log is merged a slice at a time by
:func:`~.logrecords.merge_log`. A live PostgreSQL database is read incrementally: the snapshot of
each run is kept per database and table, in the same transaction as the rows it brought.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from .. import _ingest as ingest
from .._ingest.postgres import PostgresReader, Snapshot
from .._schema import IMPORT_SOURCES, LOG_ENDS, LOG_LINEAGE, TABLES, Table, ident
from ..errors import ImportDataError, StorageError
from . import lineage, retention, rollups
from .logrecords import LogReport, merge_log
from .merge import TableCounts, merge_source
from .run import ImportRun, register_functions

ProgressCallback = Callable[[int, int], None]
"""Called with (bytes done, bytes in all) while an import runs."""


@dataclass
class SourceReport:
    """What one source gave: rows per table, and what it held that was not imported, with why."""

    name: str
    tables: dict[str, TableCounts] = field(default_factory=dict)
    passed_over: dict[str, int] = field(default_factory=dict)
    """Reason → how many lines or rows (other log lines, malformed lines...)."""
    kind: str | None = None
    """What the source was: "slog JSON log", "Docker json-file log", "full read", "incremental read"..."""


@dataclass
class ImportSummary:
    """What one import call did: rows per table, files read and files passed over."""

    tables: dict[str, TableCounts] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    passed_over: dict[str, str] = field(default_factory=dict)
    """Folder entry → why it was not read (a subfolder, a hidden file, an unrelated file...)."""
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    """What sources held that could not be imported (a sessions page holds no interceptions)."""

    reports: dict[str, SourceReport] = field(default_factory=dict)
    """Per source (a file, a database), what happened to its rows, and what was passed over."""

    def add(self, source: str, table: Table, counts: TableCounts) -> None:
        """Count what a merge did to ``table``'s rows from ``source``."""
        if counts.conflicting:
            self.notes.append(
                f"{source}: {counts.conflicting} row(s) of {table.name} repeat the key of another row of the same "
                f"source with different content (first: {counts.first_conflict}); one copy of each was kept"
            )
        self.tables.setdefault(table.name, TableCounts()).add(counts)
        self.report(source).tables.setdefault(table.name, TableCounts()).add(counts)
        if source not in self.sources:
            self.sources.append(source)

    @property
    def skipped(self) -> list[str]:
        """Folder entries that were not read (their reasons are in :attr:`passed_over`)."""
        return list(self.passed_over)

    @staticmethod
    def label(table: str) -> str:
        """How a table of the summary is named for people (the log tables hold bookkeeping)."""
        return _LABELS.get(table, table)

    @staticmethod
    def is_bookkeeping(table: str) -> bool:
        """A table that holds what log records leave for later, not rows of Coder's tables."""
        return table in _LABELS

    def report(self, source: str) -> SourceReport:
        """The report of one source (made empty on first use)."""
        return self.reports.setdefault(source, SourceReport(source))

    @property
    def merged(self) -> int:
        return sum(c.merged for c in self.tables.values())

    @property
    def inserted(self) -> int:
        return sum(c.inserted for c in self.tables.values())

    @property
    def updated(self) -> int:
        return sum(c.updated for c in self.tables.values())

    @property
    def unchanged(self) -> int:
        return sum(c.unchanged for c in self.tables.values())


_LABELS = {LOG_ENDS.name: "interception_end records", LOG_LINEAGE.name: "thread links (logs without thread ids)"}

Input = ingest.Source | ingest.LogFile
"""What an import merges: one table's rows, or a whole log."""


class Importer:
    """Runs import calls against one store connection, each in one transaction: if anything is
    bad, nothing is kept."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def import_paths(self, paths: Iterable[str | Path], progress: ProgressCallback | None) -> ImportSummary:
        planned: list[ingest.PlannedFile] = []
        summary = ImportSummary()
        for path in paths:
            files, skipped = ingest.plan_path(Path(path))
            planned += files
            summary.passed_over.update({str(p): reason for p, reason in skipped.items()})
        total = sum(f.size for f in planned)
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            if progress is not None:
                progress(min(done, total), total)

        self._merge((item for f in planned for item in _open(f, advance, summary)), summary)
        if progress is not None:
            progress(total, total)
        return summary

    def import_arrow(self, table: str, data: Any) -> ImportSummary:
        if table not in TABLES:
            raise ImportDataError(f"unknown table; expected one of {', '.join(TABLES)}", source=table)
        summary = ImportSummary()
        self._merge([ingest.read_arrow(data, TABLES[table], f"arrow data for {table}")], summary)
        return summary

    def import_postgres(self, dsn: str, progress: ProgressCallback | None, full: bool) -> ImportSummary:
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            if progress is not None:
                progress(done, 0)

        reader = PostgresReader(dsn, advance)
        try:
            since = {} if full else self._snapshots(reader.name)
            summary = ImportSummary()
            tables = [name for name in TABLES if reader.columns.get(name)]

            def remember(run: ImportRun) -> None:
                for table in tables:
                    run.execute(
                        f'INSERT OR REPLACE INTO {ident(IMPORT_SOURCES)} ("source", "table_name", "state", '
                        f'"imported_at") VALUES (?, ?, ?, now())',
                        [reader.name, table, json.dumps({"snapshot": reader.snapshot.text})],
                    )

            self._merge(reader.sources(since), summary, remember)
        finally:
            reader.close()
        for table in tables:
            summary.report(f"{reader.name} ({table})").kind = "incremental read" if table in since else "full read"
        return summary

    def delete_before(self, before: datetime) -> dict[str, int]:
        deleted: dict[str, int] = {}

        def prune(run: ImportRun) -> None:
            deleted.update(retention.delete_before(run, before))

        self._merge([], ImportSummary(), prune)
        return deleted

    def _snapshots(self, name: str) -> dict[str, Snapshot]:
        rows = self._con.execute(
            f"SELECT table_name, state->>'snapshot' FROM {ident(IMPORT_SOURCES)} WHERE source = ?", [name]
        ).fetchall()
        return {table: Snapshot(text) for table, text in rows if text}

    def _merge(
        self, inputs: Iterable[Input], summary: ImportSummary, remember: Callable[[ImportRun], None] | None = None
    ) -> None:
        register_functions(self._con)
        self._con.begin()
        try:
            with ImportRun(self._con) as run:
                for item in inputs:
                    try:
                        _merge_one(run, item, summary)
                    except UNREADABLE as e:
                        raise ImportDataError(f"cannot read: {_reason(e)}", source=item.name) from e
                lineage.apply(run)
                rollups.finish(run)
                if remember is not None:
                    remember(run)
        except BaseException as e:
            self._con.rollback()
            if isinstance(e, duckdb.InterruptException):
                raise KeyboardInterrupt from None  # Ctrl-C while DuckDB ran a statement
            if isinstance(e, duckdb.Error):
                raise StorageError(f"import failed, nothing was kept: {e}") from e
            raise
        self._con.commit()


UNREADABLE = (OSError, EOFError, pa.ArrowException)
"""What reading a damaged file raises (a truncated or corrupt archive, an unreadable Parquet page)."""


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _merge_one(run: ImportRun, item: Input, summary: ImportSummary) -> None:
    if isinstance(item, ingest.LogFile):
        _merge_log(run, item, summary)
        return
    summary.add(item.name, item.table, merge_source(run, item))
    if item.ignored_columns:
        summary.ignored_columns[item.name] = item.ignored_columns


def _open(entry: ingest.PlannedFile, progress: ingest.Progress, summary: ImportSummary) -> Iterator[Input]:
    found = 0
    try:
        for item in _inputs(entry, progress, summary):
            found += 1
            yield item
    except UNREADABLE as e:
        raise ImportDataError(f"cannot read: {_reason(e)}", source=str(entry.path)) from e
    if not found:
        summary.notes.append(f"{entry.path}: held no rows of an aibridge table")


def _inputs(entry: ingest.PlannedFile, progress: ingest.Progress, summary: ImportSummary) -> Iterator[Input]:
    if entry.format == "log":
        yield ingest.open_log(entry, progress)
    elif entry.format == "stdin":
        opened = ingest.open_stdin(progress)
        if isinstance(opened, ingest.LogFile):
            yield opened
        else:
            sources, notes = opened
            summary.notes.extend(notes)
            yield from sources
    else:
        yield from ingest.open_file(entry, progress, summary.notes)


def _merge_log(run: ImportRun, log: ingest.LogFile, summary: ImportSummary) -> None:
    found = LogReport()
    for table, counts in merge_log(run, log, found):
        summary.add(log.name, table, counts)
    report = summary.report(log.name)
    report.kind = f"{log.stats.wrapper.value} log"
    unknown = sum(found.unknown_types.values())
    passed = {
        "other log lines": log.stats.lines - found.records - found.malformed - unknown,
        "lines that mention an interception log but are not JSON": found.malformed,
        **{f"records of unknown type {kind!r}": n for kind, n in found.unknown_types.items()},
    }
    report.passed_over.update({reason: n for reason, n in passed.items() if n})
    if found.first_malformed is not None:
        summary.notes.append(
            f"{log.name}: {found.malformed} line(s) mention an interception log but are not valid JSON "
            f"(first at line {found.first_malformed}); they were passed over"
        )
    if not found.records:
        summary.notes.append(f"{log.name}: no interception records in {log.stats.lines} lines")

