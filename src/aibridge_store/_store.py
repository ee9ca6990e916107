"""The embedded store: a DuckDB database with Coder's AI Bridge tables."""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import duckdb

from . import _ingest as ingest
from .errors import (
    AibridgeStoreError,
    ImportDataError,
    SchemaVersionError,
    StorageError,
)
from ._ingest.postgres import PostgresReader, Snapshot
from ._load.logrecords import LogReport, log_sources
from ._load.merge import TableCounts, begin_import, finish_import, merge_source
from ._schema import IMPORT_SOURCES, META_TABLE, SCHEMA_VERSION, TABLES, ddl_statements, ident, upgrade_statements

if TYPE_CHECKING:
    from ._auth import Actor
    from .models import InterceptionsPage, SessionsPage, SessionThreads


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
    skipped: list[str] = field(default_factory=list)
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    """What sources held that could not be imported (a sessions page holds no interceptions)."""

    reports: dict[str, SourceReport] = field(default_factory=dict)
    """Per source (a file, a database), what happened to its rows, and what was passed over."""

    def _add(self, table: str, counts: TableCounts, source: str | None = None) -> None:
        self.tables.setdefault(table, TableCounts()).add(counts)
        if source is not None:
            self.report(source).tables.setdefault(table, TableCounts()).add(counts)

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


ROW_GROUP_SIZE = 8192
"""Rows per row group. Smaller than DuckDB's default (122,880) so that zone maps let a page read
touch a few thousand rows instead of a hundred thousand (see benchmarks/README.md)."""
_CATALOG = "aibridge_store"

_MEMORY_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*", re.IGNORECASE)


def _memory_size(text: str) -> str:
    """A memory size such as ``512MB`` or ``2 GiB``. DuckDB's SET takes no parameters, so the
    value reaches SQL text only after this check has reduced it to digits and a unit."""
    match = _MEMORY_SIZE.fullmatch(text)
    if match is None:
        raise StorageError(f"invalid memory limit {text!r}: use a size such as '512MB' or '2GB'")
    return f"{match.group(1)}{match.group(2) or 'B'}"


ProgressCallback = Callable[[int, int], None]
"""Called with (bytes done, bytes in all) while an import runs."""


class Store:
    """An embedded AI Bridge database.

    Open one with :meth:`open`; use it as a context manager or call :meth:`close`. A store is safe
    to use from one thread at a time.
    """

    def __init__(self, connection: duckdb.DuckDBPyConnection, path: str | None, read_only: bool) -> None:
        self._con = connection
        self.path = path
        self.read_only = read_only
        self._lock = threading.RLock()

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        read_only: bool = False,
        memory_limit: str | None = None,
    ) -> Store:
        """Open (or create) the database at ``path``; in memory when ``path`` is None.

        ``memory_limit`` (DuckDB syntax, e.g. ``"2GB"``) caps the memory DuckDB uses; imports
        larger than it spill to disk (by default DuckDB takes 80% of the machine's memory). A
        database file can be open once per process; a second ``open`` of the same file fails with
        :class:`StorageError` until the first store is closed.
        """
        location = ":memory:" if path is None else os.fspath(path)
        if read_only and (path is None or not os.path.exists(location)):
            raise StorageError(f"cannot open {location!r} read-only: no such database file")
        con = duckdb.connect()
        options = [f"ROW_GROUP_SIZE {ROW_GROUP_SIZE}"] + (["READ_ONLY"] if read_only else [])
        literal = "'" + location.replace("'", "''") + "'"
        try:
            con.execute(f"ATTACH {literal} AS {_CATALOG} ({', '.join(options)})")
            con.execute(f"USE {_CATALOG}")
        except duckdb.Error as e:
            con.close()
            raise StorageError(f"cannot open database {location!r}: {e}") from e
        store = cls(con, None if path is None else location, read_only)
        try:
            if memory_limit is not None:
                store._set_memory_limit(memory_limit)
            store._prepare()
        except BaseException:
            con.close()
            raise
        return store

    def _set_memory_limit(self, limit: str) -> None:
        try:
            self._con.execute(f"SET memory_limit = '{_memory_size(limit)}'")
        except duckdb.Error as e:
            raise StorageError(f"invalid memory limit {limit!r}: {e}") from e

    def _prepare(self) -> None:
        self._con.execute("SET TimeZone = 'UTC'")
        self._con.execute("SET enable_progress_bar = false")
        version = self._schema_version()
        where = self.path or "the in-memory database"
        if version is not None and version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{where} was written by a newer aibridge_store (schema version {version}); "
                f"this version reads schema version {SCHEMA_VERSION} or older: upgrade aibridge_store"
            )
        if self.read_only:
            if version is None:
                raise StorageError(f"{where} is not an aibridge_store database")
            return
        with self.transaction():
            if version is not None and version < SCHEMA_VERSION:
                for statement in upgrade_statements(version):
                    self._con.execute(statement)
            for statement in ddl_statements():
                self._con.execute(statement)
            self._con.execute(
                f"INSERT OR REPLACE INTO {ident(META_TABLE)} VALUES ('schema_version', ?)",
                [str(SCHEMA_VERSION)],
            )

    def _schema_version(self) -> int | None:
        exists = self._con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() "
            "AND table_name = ?",
            [META_TABLE],
        ).fetchone()
        if not exists or not exists[0]:
            return None
        row = self._con.execute(
            f"SELECT value FROM {ident(META_TABLE)} WHERE key = 'schema_version'"
        ).fetchone()
        return int(row[0]) if row else None

    @property
    def schema_version(self) -> int:
        """The schema version recorded in the database."""
        return self._schema_version() or SCHEMA_VERSION

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the database; the store cannot be used afterwards."""
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The underlying DuckDB connection, for ad-hoc SQL over the tables."""
        return self._con

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One DuckDB transaction: committed on success, rolled back on any exception."""
        with self._lock:
            self._con.begin()
            try:
                yield self._con
            except BaseException:
                self._con.rollback()
                raise
            self._con.commit()

    # -- import ----------------------------------------------------------------------------

    def import_path(
        self,
        *paths: str | os.PathLike[str],
        progress: ProgressCallback | None = None,
    ) -> ImportSummary:
        """Import files, directories or standard input (``"-"``), all in one transaction.

        Table exports are recognised by name: ``<table>.csv``, ``.parquet``, ``.jsonl`` or
        ``.ndjson``, optionally compressed (``.gz``, ``.zst``), ``.sql`` pg_dump files and ``.json``
        saved API responses. coderd logs with structured interception records are recognised by
        their content, whatever their name (JSON or Stackdriver sink, bare or wrapped by Docker,
        Kubernetes CRI, ``kubectl --timestamps`` or Loki). If any row is bad nothing is kept and
        :class:`ImportDataError` names the file, row (a log's line) and column (a record's field).
        """
        planned: list[ingest.PlannedFile] = []
        summary = ImportSummary()
        for path in paths:
            files, skipped = ingest.plan_path(Path(path))
            planned += files
            summary.skipped += [str(p) for p in skipped]
        total = sum(f.size for f in planned)
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            if progress is not None:
                progress(min(done, total), total)

        sources = (source for f in planned for source in self._open(f, advance, summary))
        self._import_sources(sources, summary)
        if progress is not None:
            progress(total, total)
        return summary

    def _open(self, entry: ingest.PlannedFile, progress: ingest.Progress, summary: ImportSummary) -> Iterator[ingest.Source]:
        if entry.format == "log":
            yield from self._log_sources(ingest.open_log(entry, progress), summary)
        elif entry.format == "stdin":
            opened = ingest.open_stdin(progress)
            if isinstance(opened, ingest.LogFile):
                yield from self._log_sources(opened, summary)
            else:
                sources, notes = opened
                summary.notes.extend(notes)
                yield from sources
        else:
            yield from ingest.open_file(entry, progress, summary.notes)

    def _log_sources(self, log: ingest.LogFile, summary: ImportSummary) -> Iterator[ingest.Source]:
        found = LogReport()
        yield from log_sources(self._con, log, found)
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

    def import_arrow(self, table: str, data: Any) -> ImportSummary:
        """Import Arrow data (a ``pyarrow.Table``, a ``RecordBatchReader`` or any object with
        ``__arrow_c_stream__``) into the named table, with the same rules as :meth:`import_path`."""
        if table not in TABLES:
            raise ImportDataError(f"unknown table; expected one of {', '.join(TABLES)}", source=table)
        summary = ImportSummary()
        self._import_sources([ingest.read_arrow(data, TABLES[table], f"arrow data for {table}")], summary)
        return summary

    def import_postgres(
        self, dsn: str, *, progress: ProgressCallback | None = None, full: bool = False
    ) -> ImportSummary:
        """Import straight from a live Coder PostgreSQL database (``postgresql://user@host/db``).

        Reads the aibridge tables and ``users`` in one read-only, repeatable-read snapshot, through
        the ADBC PostgreSQL driver (no CSV round trip). The store remembers the snapshot per
        database (named without its password), so the next call reads only rows written since:
        new rows, and interceptions that were in flight and have ended. ``full=True`` reads
        everything again (the merge keeps it idempotent). ``progress`` gets rows read (the total
        is not known in advance: it is passed as 0).
        """
        self._writable()
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            if progress is not None:
                progress(done, 0)

        reader = PostgresReader(dsn, advance)
        try:
            since = {} if full else self._postgres_snapshots(reader.name)
            summary = ImportSummary()
            tables = [name for name in TABLES if reader.columns.get(name)]

            def remember(con: duckdb.DuckDBPyConnection) -> None:
                for table in tables:
                    con.execute(
                        f"INSERT OR REPLACE INTO {ident(IMPORT_SOURCES)} VALUES (?, ?, ?, now())",
                        [reader.name, table, json.dumps({"snapshot": reader.snapshot.text})],
                    )

            self._import_sources(reader.sources(since), summary, remember)
        finally:
            reader.close()
        for table in tables:
            summary.report(f"{reader.name} ({table})").kind = "incremental read" if table in since else "full read"
        return summary

    def _postgres_snapshots(self, name: str) -> dict[str, Snapshot]:
        rows = self._con.execute(
            f"SELECT table_name, state->>'snapshot' FROM {ident(IMPORT_SOURCES)} WHERE source = ?", [name]
        ).fetchall()
        return {table: Snapshot(text) for table, text in rows if text}

    def _import_sources(
        self,
        sources: Iterable[ingest.Source],
        summary: ImportSummary,
        remember: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    ) -> None:
        self._writable()
        try:
            with self.transaction() as con:
                begin_import(con)
                for source in sources:
                    summary._add(source.table.name, merge_source(con, source), source.name)
                    if source.name not in summary.sources:
                        summary.sources.append(source.name)
                    if source.ignored_columns:
                        summary.ignored_columns[source.name] = source.ignored_columns
                finish_import(con)
                if remember is not None:
                    remember(con)
        except AibridgeStoreError:
            raise
        except duckdb.Error as e:
            raise StorageError(f"import failed, nothing was kept: {e}") from e

    def _writable(self) -> None:
        if self.read_only:
            raise StorageError("the store was opened read-only")

    # -- reads -------------------------------------------------------------------------------

    def list_interceptions(
        self,
        q: str = "",
        *,
        limit: int | str | None = None,
        offset: int | str = 0,
        after_id: Any = None,
        actor: Actor | None = None,
    ) -> InterceptionsPage:
        """List ended interceptions newest first, as ``GET /api/v2/aibridge/interceptions`` does."""
        from ._reads.interceptions import list_interceptions

        with self._lock:
            return list_interceptions(self._con, q, limit=limit, offset=offset, after_id=after_id, actor=actor)

    def list_sessions(
        self,
        q: str = "",
        *,
        limit: int | str | None = None,
        offset: int | str = 0,
        after_session_id: str | None = None,
        actor: Actor | None = None,
    ) -> SessionsPage:
        """List sessions, most recently active first, as ``GET /api/v2/aibridge/sessions`` does.

        A session is a (session id, initiator) pair: two users sharing a client session id get
        two sessions with the same id. Filters choose which interceptions count for
        ``started_at``, ``ended_at``, ``threads`` and ``last_active_at``; the other fields always
        cover the whole session.
        """
        from ._reads.sessions import list_sessions

        with self._lock:
            return list_sessions(
                self._con, q, limit=limit, offset=offset, after_session_id=after_session_id, actor=actor
            )

    def get_session_threads(
        self,
        session_id: str,
        *,
        after_id: Any = None,
        before_id: Any = None,
        limit: int | str | None = None,
        actor: Actor | None = None,
    ) -> SessionThreads:
        """A session's threads, oldest first, as ``GET /api/v2/aibridge/sessions/{session_id}``.

        ``session_id`` is a session id or the UUID of any interception in the session.
        ``after_id`` gives the threads right after that interception's thread, ``before_id``
        those right before it; ``limit`` is 1-200 (default 50).
        """
        from ._reads.threads import get_session_threads

        with self._lock:
            return get_session_threads(
                self._con, session_id, after_id=after_id, before_id=before_id, limit=limit, actor=actor
            )

    def list_models(
        self, q: str = "", *, limit: int | str | None = None, offset: int | str = 0, actor: Actor | None = None
    ) -> list[str]:
        """Distinct models of ended interceptions, sorted; ``q`` is a prefix (``model:`` or bare)."""
        from ._query import MODELS
        from ._reads.catalog import list_catalog

        with self._lock:
            return list_catalog(self._con, MODELS, q, limit=limit, offset=offset, actor=actor)

    def list_clients(
        self, q: str = "", *, limit: int | str | None = None, offset: int | str = 0, actor: Actor | None = None
    ) -> list[str]:
        """Distinct clients of ended interceptions (a missing client is "Unknown"), sorted."""
        from ._query import CLIENTS
        from ._reads.catalog import list_catalog

        with self._lock:
            return list_catalog(self._con, CLIENTS, q, limit=limit, offset=offset, actor=actor)
