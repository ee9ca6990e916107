"""The embedded store: a DuckDB database with Coder's AI Bridge tables."""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import duckdb

from ._auth import Actor, Role
from ._query import CLIENTS_SEARCH, MODELS_SEARCH
from ._reads.catalog import list_catalog
from ._reads.common import resolve_user
from ._reads.interceptions import list_interceptions
from ._reads.memo import ReadMemo
from ._reads.sessions import list_sessions
from ._reads.threads import get_session_threads
from ._schema import (
    INTERCEPTION_TOTALS,
    META_TABLE,
    SCHEMA_VERSION,
    ddl_statements,
    fill_statements,
    ident,
    totals_sql,
    upgrade_statements,
    view_statements,
)
from .errors import NotFoundError, SchemaVersionError, SqlError, StorageError
from .models import InterceptionsPage, SessionsPage, SessionThreads

if TYPE_CHECKING:
    from ._dataset import DatasetExport
    from ._load import Importer, ImportSummary, ProgressCallback
    from ._reports import Report, Window
    from ._reports.pricebook import PriceBook

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


_LOCKED = re.compile(r"Could not set lock on file .*?: Conflicting lock is held in (.*?)(?:\. See also|$)")


def _attach(
    location: str, read_only: bool, timeout: float, on_wait: Callable[[str], None] | None
) -> duckdb.DuckDBPyConnection:
    """A connection with the database attached, waiting up to ``timeout`` s for another process's lock."""
    options = [f"ROW_GROUP_SIZE {ROW_GROUP_SIZE}"] + (["READ_ONLY"] if read_only else [])
    literal = "'" + location.replace("'", "''") + "'"
    deadline = time.monotonic() + timeout
    waited = False
    while True:
        con = duckdb.connect()
        try:
            con.execute(f"ATTACH {literal} AS {_CATALOG} ({', '.join(options)})")
            con.execute(f"USE {_CATALOG}")
            return con
        except duckdb.Error as e:
            con.close()
            locked = _LOCKED.search(str(e))
            if locked is None:
                raise StorageError(f"cannot open database {location!r}: {_first_line(e)}") from e
            holder = locked.group(1)
            if time.monotonic() >= deadline:
                raise StorageError(
                    f"{location} is in use by {holder}: a store has one writer, or readers while nobody "
                    f"writes; close that program or try again" + (f" (waited {timeout:g} s)" if timeout else "")
                ) from e
            if on_wait is not None and not waited:
                on_wait(holder)
            waited = True
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))


def _instant(value: datetime | str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise StorageError(f"cannot read {value!r} as a time: use RFC 3339, e.g. 2026-01-01T00:00:00Z") from None
    if value.tzinfo is None:
        raise StorageError(f"{value.isoformat()} has no time zone: give one (e.g. +00:00 or Z)")
    return value


ENGINES = ("duckdb", "sqlite")


def _engine(engine: str | None, location: str | None) -> str:
    if engine is not None:
        if engine not in ENGINES:
            raise StorageError(f"unknown engine {engine!r}: use {' or '.join(map(repr, ENGINES))}")
        return engine
    if location is None:
        return "duckdb"
    from ._engines.sqlite_store import is_sqlite_path

    return "sqlite" if is_sqlite_path(location) else "duckdb"


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


class Store:
    """An embedded AI Bridge database.

    Open one with :meth:`open`; use it as a context manager or call :meth:`close`. Calls from
    several threads take turns on one lock, so a store can be shared between threads (the raw
    :attr:`connection` bypasses that lock).
    """

    def __init__(self, connection: duckdb.DuckDBPyConnection, path: str | None, read_only: bool) -> None:
        self._con = connection
        self.path = path
        self.read_only = read_only
        self._lock = threading.RLock()
        self._transactions = 0
        self._memo = ReadMemo(counts_table=False)
        self._sql_con: duckdb.DuckDBPyConnection | None = None
        self._views = True
        self._totals = ident(INTERCEPTION_TOTALS)
        """Where reports read the interception totals: their table, or the query that computes them
        in a store too old to have it, opened read-only."""
        self._prices: PriceBook | None = None

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        read_only: bool = False,
        memory_limit: str | None = None,
        timeout: float = 0.0,
        on_wait: Callable[[str], None] | None = None,
        engine: str | None = None,
    ) -> Store:
        """Open (or create) the database at ``path``; in memory when ``path`` is None.

        ``engine`` is ``"duckdb"`` or ``"sqlite"``; by default a path ending in ``.sqlite`` or
        ``.sqlite3``, or a file that holds a SQLite database, opens as a SQLite store (README,
        "Two engines"), anything else as DuckDB. Both answer every read the same way. A folder
        that holds a dataset (:meth:`export_dataset`) opens read-only with :meth:`open_dataset`.

        ``memory_limit`` (DuckDB syntax, e.g. ``"2GB"``) caps the memory DuckDB uses; imports
        larger than it spill to disk (by default DuckDB takes 80% of the machine's memory). A
        database file can be open once per process; a second ``open`` of the same file fails with
        :class:`StorageError` until the first store is closed.

        A DuckDB file has one writer, or any number of readers while nobody writes (README,
        "Concurrency"). When another process holds it, ``open`` waits up to ``timeout`` seconds
        (calling ``on_wait`` once with who holds it), then fails with :class:`StorageError`
        naming the holder. A SQLite file has readers in any number while one process writes;
        a second writer waits up to ``timeout`` seconds for the write lock when it imports.
        """
        location = ":memory:" if path is None else os.fspath(path)
        if path is not None and engine is None and os.path.isfile(os.path.join(location, "manifest.json")):
            return cls.open_dataset(location, memory_limit=memory_limit)  # a dataset's folder: read it
        if _engine(engine, None if path is None else location) == "sqlite":
            if path is None:
                raise StorageError("a SQLite store is a file: give a path (engine='sqlite')")
            from ._engines.sqlite_store import SQLiteStore

            return SQLiteStore.open_file(location, read_only=read_only, timeout=timeout, memory_limit=memory_limit,
                                         on_wait=on_wait)
        if read_only and (path is None or not os.path.exists(location)):
            raise StorageError(f"cannot open {location!r} read-only: no such database file")
        con = _attach(location, read_only, timeout, on_wait)
        store = cls(con, None if path is None else location, read_only)
        try:
            if memory_limit is not None:
                store._set_memory_limit(memory_limit)
            store._prepare()
        except duckdb.Error as e:
            con.close()
            raise StorageError(f"cannot open {location!r} as an aibridge_store database: {_first_line(e)}") from e
        except BaseException:
            con.close()
            raise
        return store

    @classmethod
    def open_dataset(cls, path: str | os.PathLike[str], *, memory_limit: str | None = None) -> Store:
        """Open a dataset (:meth:`export_dataset`, or ``aibridge_store.spark.import_sources``)
        read-only with DuckDB: every read and report of a store, answered from its Parquet files
        (README, "Scale out")."""
        from ._dataset import read_manifest
        from ._dataset import view_statements as dataset_views

        root = Path(path)
        manifest = read_manifest(root)
        if manifest is None:
            raise StorageError(f"no dataset at {os.fspath(root)!r} (its manifest.json is missing)")
        if manifest.get("schema_version") != SCHEMA_VERSION:
            raise SchemaVersionError(f"{os.fspath(root)!r} holds schema version {manifest.get('schema_version')}; "
                                     f"this version reads {SCHEMA_VERSION}")
        con = _attach(":memory:", False, 0.0, None)
        try:
            con.execute(f'CREATE TABLE {ident(META_TABLE)} ("key" VARCHAR PRIMARY KEY, "value" VARCHAR NOT NULL)')
            con.execute(f"INSERT INTO {ident(META_TABLE)} VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
            for statement in [*dataset_views(root), *view_statements()]:
                con.execute(statement)
            store = cls(con, None, True)
            if memory_limit is not None:
                store._set_memory_limit(memory_limit)
            store._prepare()
        except duckdb.Error as e:
            con.close()
            raise StorageError(f"cannot read the dataset at {os.fspath(root)!r}: {_first_line(e)}") from e
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
        if version is None and self._foreign_tables():
            raise StorageError(
                f"{where} is not an aibridge_store database: it holds other tables "
                f"({', '.join(self._foreign_tables()[:5])}); open a file of its own"
            )
        if self.read_only:
            if version is None:
                raise StorageError(f"{where} is not an aibridge_store database")
            # A store of an older version cannot be upgraded read-only: it is read without the
            # tables it lacks, and store.sql() gets the public views as temporary ones.
            self._memo = ReadMemo(counts_table=version >= 3)
            self._views = version >= 3
            if version == 3:  # its totals, computed when read, under the table's name
                self._con.execute(f"CREATE TEMP VIEW {ident(INTERCEPTION_TOTALS)} AS {totals_sql()}")
            return
        with self.transaction():
            if version is not None and version < SCHEMA_VERSION:
                for statement in upgrade_statements(version):
                    self._con.execute(statement)
            for statement in ddl_statements():
                self._con.execute(statement)
            if version is not None and version < SCHEMA_VERSION:
                for statement in fill_statements(version):
                    self._con.execute(statement)
            self._con.execute(
                f'INSERT OR REPLACE INTO {ident(META_TABLE)} ("key", "value") VALUES (\'schema_version\', ?)',
                [str(SCHEMA_VERSION)],
            )
        self._memo = ReadMemo(counts_table=True)

    def _foreign_tables(self) -> list[str]:
        rows = self._con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() "
            "ORDER BY table_name"
        ).fetchall()
        return [name for (name,) in rows]

    def _schema_version(self) -> int | None:
        exists = self._con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() "
            "AND table_name = ?",
            [META_TABLE],
        ).fetchall()
        if exists != [(1,)]:
            return None
        rows = self._con.execute(f"SELECT value FROM {ident(META_TABLE)} WHERE key = 'schema_version'").fetchall()
        return int(rows[0][0]) if rows else None

    @property
    def engine(self) -> str:
        """``"duckdb"`` or ``"sqlite"``: the engine that holds the store."""
        return "duckdb"

    @property
    def schema_version(self) -> int:
        """The schema version recorded in the database."""
        return self._schema_version() or SCHEMA_VERSION

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the database; the store cannot be used afterwards."""
        if self._sql_con is not None:
            self._sql_con.close()
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The underlying DuckDB connection, for ad-hoc SQL over the tables.

        Reads remember counts while the store stays the same; taking the connection makes them
        forget, and on a writable store counts are then computed from the interceptions until
        the next import, so that rows written by hand are counted too. Write through it before
        the next read, not while holding it across reads."""
        self._memo.changed(counts_exact=None if self.read_only else False)
        return self._con

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One DuckDB transaction: committed on success, rolled back on any exception."""
        with self._lock:
            if self._transactions:
                raise StorageError("store.transaction() does not nest")
            self._con.begin()
            self._transactions += 1
            self._memo.changed(counts_exact=None if self.read_only else False)
            try:
                yield self._con
            except BaseException:
                self._con.rollback()
                raise
            else:
                self._con.commit()
            finally:
                self._transactions -= 1
                self._memo.changed(counts_exact=None if self.read_only else False)

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
        with self._writing() as importer:
            return importer.import_paths([os.fspath(p) for p in paths], progress)

    def import_arrow(self, table: str, data: Any) -> ImportSummary:
        """Import Arrow data (a ``pyarrow.Table``, a ``RecordBatchReader`` or any object with
        ``__arrow_c_stream__``) into the named table, with the same rules as :meth:`import_path`."""
        with self._writing() as importer:
            return importer.import_arrow(table, data)

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
        with self._writing() as importer:
            return importer.import_postgres(dsn, progress, full)

    def delete_before(self, before: datetime | str) -> dict[str, int]:
        """Delete every interception that started before ``before`` (a time with a zone, or RFC
        3339 text), in flight or not, with its token usages, prompts, tool usages, thoughts and
        waiting log records, in one transaction; sessions and the models and clients lists are
        rebuilt from what is left, and the space is given back to the file (a checkpoint).
        Returns the rows deleted per table."""
        moment = _instant(before)
        with self._writing() as importer:
            deleted = importer.delete_before(moment)
            if self.path is not None:
                try:
                    self._con.execute("CHECKPOINT")
                except duckdb.Error as e:
                    raise StorageError(f"the rows were deleted, but the space was not given back: {e}") from e
        return deleted

    @contextmanager
    def _writing(self) -> Iterator[Importer]:
        # The write path (Arrow, NumPy, the readers) loads on the first write: a program that only
        # reads, such as a read command of the command line, never pays for it.
        from ._load import Importer

        if self.read_only:
            raise StorageError("the store was opened read-only")
        with self._lock:
            if self._transactions:
                raise StorageError("an import runs in a transaction of its own: start it outside store.transaction()")
            try:
                yield Importer(self._con)
            except BaseException:
                self._memo.changed()
                raise
            else:
                # Every import and retention run computes the counts table again.
                self._memo.changed(counts_exact=True)

    @contextmanager
    def _reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The connection, inside one read snapshot so that a page's count and rows agree: the
        caller's transaction if a :meth:`transaction` is open, else a read transaction of its own."""
        with self._lock:
            try:
                if self._transactions:
                    yield self._con
                    return
                self._con.begin()
                try:
                    yield self._con
                finally:
                    self._con.rollback()
            except duckdb.InterruptException:
                raise KeyboardInterrupt from None  # Ctrl-C while DuckDB ran a query
            except duckdb.Error as e:
                raise StorageError(f"cannot read the store: {e}") from e

    # -- reads -------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Forget what reads remember (counts, bound queries, cursor positions, initiators), so
        that the next reads compute everything from the tables again. Imports, transactions and
        taking :attr:`connection` already do this; benchmarks use it to time cold reads."""
        with self._lock:
            self._memo.changed()

    def _read_memo(self) -> ReadMemo | None:
        """What reads may remember: nothing inside a transaction, which may have written."""
        return None if self._transactions else self._memo

    def actor(self, user: str | uuid.UUID, *, role: Role = "member") -> Actor:
        """The :class:`Actor` of a user named by username or id, in ``role`` (``"member"``: their
        own rows; ``"auditor"`` or ``"owner"``: everything). An id is taken as it is, stored or not;
        an unknown username raises :class:`NotFoundError`."""
        with self._reading() as con:
            user_id = resolve_user(con, user)
        if user_id is None:
            raise NotFoundError(f"no user named {str(user)!r} in the store")
        return Actor(role, user_id)

    def list_interceptions(
        self,
        q: str = "",
        *,
        limit: int | str | None = None,
        offset: int | str = 0,
        after_id: Any = None,
        actor: Actor | None = None,
        strict: bool = False,
    ) -> InterceptionsPage:
        """List ended interceptions newest first, as ``GET /api/v2/aibridge/interceptions`` does.
        ``strict`` reads ``q`` as Coder does (no negation, lists or globs: README, "The search
        language")."""

        with self._reading() as con:
            return list_interceptions(
                con, q, limit=limit, offset=offset, after_id=after_id, actor=actor, memo=self._read_memo(),
                strict=strict,
            )

    def list_sessions(
        self,
        q: str = "",
        *,
        limit: int | str | None = None,
        offset: int | str = 0,
        after_session_id: str | None = None,
        after_initiator_id: Any = None,
        actor: Actor | None = None,
        strict: bool = False,
    ) -> SessionsPage:
        """List sessions, most recently active first, as ``GET /api/v2/aibridge/sessions`` does.

        A session is a (session id, initiator) pair: two users sharing a client session id get
        two sessions with the same id. Filters choose which interceptions count for
        ``started_at``, ``ended_at``, ``threads`` and ``last_active_at``; the other fields always
        cover the whole session.

        Page on with ``after_session_id`` and ``after_initiator_id``, the last session's id and
        initiator (``store.list_sessions(q, **page.next_cursor)``): that pair names one session,
        so a walk never repeats or skips one. ``after_session_id`` alone, as Coder takes it, names
        the first of the sessions that share that id. ``strict`` reads ``q`` as Coder does.
        """

        with self._reading() as con:
            return list_sessions(
                con, q, limit=limit, offset=offset, after_session_id=after_session_id,
                after_initiator_id=after_initiator_id, actor=actor, memo=self._read_memo(), strict=strict,
                session_costs=self._session_costs,
            )

    def _session_costs(self, con: Any) -> Any:
        """Every session's cost at the store's prices, remembered while the store and its prices
        stay the same."""
        from . import _reports as reports

        compute = partial(reports.session_costs, con, book=self._prices, totals=self._totals)
        memo = self._read_memo()
        return compute() if memo is None else memo.get("session costs", None, compute)

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

        with self._reading() as con:
            return get_session_threads(
                con, session_id, after_id=after_id, before_id=before_id, limit=limit, actor=actor,
                memo=self._read_memo(),
            )

    def list_models(
        self, q: str = "", *, limit: int | str | None = None, offset: int | str = 0, actor: Actor | None = None
    ) -> list[str]:
        """Distinct models of ended interceptions, sorted; ``q`` is a prefix (``model:`` or bare)."""

        with self._reading() as con:
            return list_catalog(con, MODELS_SEARCH, q, limit=limit, offset=offset, actor=actor)

    def list_clients(
        self, q: str = "", *, limit: int | str | None = None, offset: int | str = 0, actor: Actor | None = None
    ) -> list[str]:
        """Distinct clients of ended interceptions (a missing client is "Unknown"), sorted."""

        with self._reading() as con:
            return list_catalog(con, CLIENTS_SEARCH, q, limit=limit, offset=offset, actor=actor)

    # -- analytics ---------------------------------------------------------------------------

    def sql(self, query: str, params: Sequence[object] | dict[str, object] | None = None) -> duckdb.DuckDBPyRelation:
        """Run one ``SELECT`` over the store and return it as a DuckDB relation (``.to_arrow_table()``,
        ``.fetchall()``, ``.df()``, ``.write_parquet(...)``). Values go in ``params`` (``$1`` or
        ``$name``), never into the text.

        The public views are ``interceptions`` (in-flight rows too, with ``in_flight`` and
        ``duration_us``), ``token_usages``, ``user_prompts``, ``tool_usages``, ``model_thoughts``,
        ``sessions`` (the sessions endpoint's rollup) and the ``users`` table (README, "SQL and
        Arrow"). The query runs on a connection of its own, so a relation kept open does not get
        in the way of other reads; it works on read-only stores too.
        """
        con = self._sql_connection()
        try:
            statements = con.extract_statements(query)
        except duckdb.Error as e:
            raise SqlError(f"cannot parse the SQL: {_first_line(e)}") from e
        if len(statements) != 1 or statements[0].type.name not in ("SELECT", "EXPLAIN"):
            kinds = ", ".join(s.type.name for s in statements) or "nothing"
            raise SqlError(f"store.sql() runs one SELECT; got {kinds}: import through the store to change it")
        try:
            return con.sql(query, params=params)
        except duckdb.Error as e:
            raise SqlError(str(e)) from e

    def _sql_connection(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._sql_con is None:
                con = self._con.cursor()
                con.execute(f"USE {_CATALOG}")
                con.execute("SET TimeZone = 'UTC'")
                if not self._views:
                    for statement in view_statements(temporary=True):
                        con.execute(statement)
                self._sql_con = con
            return self._sql_con

    def usage(
        self,
        q: str = "",
        *,
        by: Sequence[str] = (),
        bucket: str | None = None,
        tz: str = "UTC",
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        actor: Actor | None = None,
        reprice: bool = False,
        strict: bool = False,
    ) -> Report:
        """Usage of the interceptions ``q`` selects (in flight too), started in ``[since, until)``,
        grouped by any of ``user``, ``model``, ``provider``, ``provider_name``, ``client``,
        ``session`` and a time ``bucket`` (``hour``, ``day``, ``week``, ``month`` in ``tz``).

        One row per group: interceptions, in flight, sessions, users, input / output / cache-read /
        cache-write tokens, prompts, tool calls (and injected ones), tool errors, the duration
        percentiles (p50, p90, p95, p99, in seconds, over ended interceptions) and the cost (see
        :meth:`cost`). README, "Analytics", says what each figure counts."""
        from . import _reports as reports

        with self._reporting(since, until) as (con, window):
            return reports.usage(con, q, by=tuple(by), bucket=bucket, tz=tz, window=window, actor=actor,
                                 book=self._prices, reprice=reprice, totals=self._totals, strict=strict)

    @contextmanager
    def _reporting(
        self, since: datetime | str | None, until: datetime | str | None
    ) -> Iterator[tuple[duckdb.DuckDBPyConnection, Window]]:
        """A read snapshot for a report, and the start times it covers. Reports use Arrow, which
        loads on the first one (each report method imports ``_reports`` there): a program that
        only pages never pays for it."""
        from ._reports import Window, moment

        window = Window(moment(since, "since"), moment(until, "until"))
        with self._reading() as con:
            yield con, window

    def html_report(
        self, out: str | os.PathLike[str], q: str = "", *, since: datetime | str | None = None,
        until: datetime | str | None = None, tz: str = "UTC", actor: Actor | None = None, reprice: bool = False,
        strict: bool = False,
    ) -> Path:
        """Write one self-contained HTML page over the interceptions ``q`` selects, started in
        ``[since, until)``: totals, interceptions and cost over time, tokens per user, top models
        and clients, cost per provider and model, duration percentiles, session lengths, the top
        sessions with their threads, tools, and the newest prompts and tool calls (README, "The
        HTML report"). It opens with no network. Returns the file's path."""
        from ._reports import Window, moment, write_text
        from ._reports.html import build

        window = Window(moment(since, "since"), moment(until, "until"))  # one window for every panel
        page = build(self, q, since=window.since, until=window.until, tz=tz, actor=actor, reprice=reprice,
                     strict=strict)
        return write_text(page, out)

    def copy_to_sqlite(self, path: str | os.PathLike[str], *, replace: bool = False) -> dict[str, int]:
        """Write the whole store into a new SQLite file at ``path`` that ``sqlite3``, Datasette
        and sqlite-utils read: the same tables and public views, in types SQLite tools know
        (README, "A SQLite copy"). It is one read snapshot; the file appears whole or not at all. An
        existing file is an error unless ``replace``. Returns the rows written per table."""
        from ._engines.sqlite import copy_store

        with self._reading() as con:
            return copy_store(con, path, replace=replace)

    def export_dataset(self, out: str | os.PathLike[str]) -> DatasetExport:
        """Write the store as a dataset at ``out``: Hive-partitioned Parquet by the interceptions'
        start day, with a manifest, which Spark, Trino and DuckDB read (README, "Scale out"). A
        later export rewrites only the days whose rows changed, each day's file replaced whole.
        Returns what it wrote."""
        from ._dataset import export_dataset

        with self._reading() as con:
            return export_dataset(con, out)

    def load_prices(self, path: str | os.PathLike[str] | None) -> None:
        """Price with your own prices where they apply, genai-prices elsewhere: a TOML or JSON file
        of entries by provider or provider name, model (``*`` globs) and days (README, "Cost").
        ``None`` goes back to genai-prices alone. A bad file raises :class:`ReportError` naming
        the entry."""
        from ._reports.pricebook import PriceBook

        self._prices = None if path is None else PriceBook.load(path)
        with self._lock:
            self._memo.changed()  # what was priced at the old prices

    def cost(
        self,
        q: str = "",
        *,
        by: Sequence[str] = ("provider", "model"),
        bucket: str | None = None,
        tz: str = "UTC",
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        actor: Actor | None = None,
        reprice: bool = False,
        strict: bool = False,
    ) -> Report:
        """What the interceptions ``q`` selects cost, grouped as :meth:`usage` groups: ``cost_usd``
        (exact decimals; None when nothing in the group has a price), the tokens and interceptions
        without a price, the tokens priced, and ``priced_by`` (README, "Cost").

        A token usage is priced by the cost Coder recorded with it (``priced_by`` "coder"), else
        by :meth:`load_prices`' file, else by genai-prices; ``reprice=True`` ignores what Coder
        recorded, to compare."""
        from . import _reports as reports

        with self._reporting(since, until) as (con, window):
            return reports.cost(con, q, by=tuple(by), bucket=bucket, tz=tz, window=window, actor=actor,
                                book=self._prices, reprice=reprice, totals=self._totals, strict=strict)

    def tools(
        self, q: str = "", *, by: str = "tool", since: datetime | str | None = None,
        until: datetime | str | None = None, actor: Actor | None = None, strict: bool = False,
    ) -> Report:
        """Tool calls of the interceptions ``q`` selects, per tool (``by="tool"``) or per MCP
        server (``by="server"``), most called first: calls, injected calls, errors and error rate."""
        from . import _reports as reports

        with self._reporting(since, until) as (con, window):
            return reports.tools(con, q, by=by, window=window, actor=actor, totals=self._totals, strict=strict)

    def top_sessions(
        self, q: str = "", *, limit: int | None = None, since: datetime | str | None = None,
        until: datetime | str | None = None, actor: Actor | None = None, reprice: bool = False,
        strict: bool = False,
    ) -> Report:
        """The sessions of the interceptions ``q`` selects, most tokens first, with their usage."""
        from . import _reports as reports

        with self._reporting(since, until) as (con, window):
            return reports.sessions(con, q, window=window, actor=actor, limit=limit, book=self._prices,
                                    reprice=reprice, totals=self._totals, strict=strict)

    def user_activity(
        self, q: str = "", *, tz: str = "UTC", since: datetime | str | None = None,
        until: datetime | str | None = None, actor: Actor | None = None, reprice: bool = False,
        strict: bool = False,
    ) -> Report:
        """Per user: first and last seen, active days (in ``tz``), and their usage."""
        from . import _reports as reports

        with self._reporting(since, until) as (con, window):
            return reports.users(con, q, tz=tz, window=window, actor=actor, book=self._prices, reprice=reprice,
                                 totals=self._totals, strict=strict)
