"""A store kept in a SQLite file (README, "Two engines"; docs/decisions.md, "SQLite stores").

Reads run in SQLite, on its B-tree indexes, in SQLite SQL compiled from the same filters. Writes
go through the one import pipeline: the rows are staged and merged in an in-memory DuckDB copy
of the file (the mirror), and the rows the import changed are written back in one SQLite
transaction that holds the file's write lock from the start. Reports and :meth:`Store.sql` run
on the mirror, which is loaded from the file on first use and again whenever another process
has written it.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from .._query.dialect import UNICODE_LIKE, unicode_like
from .._reads.memo import ReadMemo
from .._schema import INTERCEPTION_TOTALS, META_TABLE, SCHEMA_VERSION, ident
from .._store import Store, _first_line, _instant
from ..errors import SchemaVersionError, StorageError

if TYPE_CHECKING:
    from .._dataset import DatasetExport
    from .._load import Importer

SQLITE_MAGIC = b"SQLite format 3\x00"
SUFFIXES = (".sqlite", ".sqlite3")
"""File names that open as SQLite stores (any other file is one if it holds a SQLite database)."""


def is_sqlite_path(location: str) -> bool:
    """Whether ``location`` names a SQLite store: by its suffix, or by what an existing file holds."""
    if location.lower().endswith(SUFFIXES):
        return True
    try:
        with open(location, "rb") as f:
            return f.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def connect(path: str, *, read_only: bool = False, timeout: float = 0.0) -> sqlite3.Connection:
    """A SQLite connection for reads: autocommit (reads open their own snapshot), with the Unicode
    case folding the text search needs registered."""
    target = f"file:{Path(path).absolute().as_posix()}?mode=ro" if read_only else path
    con = sqlite3.connect(target, timeout=timeout, isolation_level=None, check_same_thread=False, uri=read_only)
    con.create_function(UNICODE_LIKE, 2, unicode_like, deterministic=True)
    con.create_function("lower", 1, _lower, deterministic=True)  # every letter, as DuckDB's lower()
    # A searched page builds lists of ids as temporary B-trees: in memory, with room to grow.
    for pragma in ("cache_size = -131072", "temp_store = MEMORY", "mmap_size = 1073741824"):
        con.execute(f"PRAGMA {pragma}")
    return con


def _lower(text: str | int | float | bytes | None) -> str | int | float | bytes | None:
    return text.lower() if isinstance(text, str) else text


class SQLiteStore(Store):
    """A store in a SQLite file: open it with :meth:`Store.open` (``engine="sqlite"``, or a
    ``.sqlite`` name). Any number of processes read it while one writes (WAL)."""

    def __init__(self, reader: sqlite3.Connection, path: str, read_only: bool, timeout: float,
                 memory_limit: str | None) -> None:
        self._sqlite = reader
        self._timeout = timeout
        self._on_wait: Callable[[str], None] | None = None
        self._memory_limit = memory_limit
        self._writer: sqlite3.Connection | None = None
        self._mirror: Store | None = None
        self._mirror_version: int | None = None
        self._seen_version: int | None = None
        self.path = path
        self.read_only = read_only
        self._lock = threading.RLock()
        self._transactions = 0
        self._memo = ReadMemo(counts_table=True)
        self._sql_con = None
        self._views = True
        self._totals = ident(INTERCEPTION_TOTALS)
        self._prices = None

    @classmethod
    def open_file(
        cls, location: str, *, read_only: bool, timeout: float, memory_limit: str | None,
        on_wait: Callable[[str], None] | None = None,
    ) -> SQLiteStore:
        exists = os.path.exists(location)
        if read_only and not exists:
            raise StorageError(f"cannot open {location!r} read-only: no such database file")
        if not exists:
            _create(location)
        try:
            reader = connect(location, read_only=read_only, timeout=timeout)
            version = _schema_version(reader, location)
        except sqlite3.Error as e:
            raise StorageError(f"cannot open {location!r} as a SQLite store: {e}") from e
        if version != SCHEMA_VERSION:
            reader.close()
            raise SchemaVersionError(
                f"{location} holds schema version {version}; this aibridge_store reads SQLite stores of "
                f"version {SCHEMA_VERSION}: write it again with copy-to-sqlite from a DuckDB store"
            )
        store = cls(reader, location, read_only, timeout, memory_limit)
        store._on_wait = on_wait
        return store

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def engine(self) -> str:
        return "sqlite"

    @property
    def schema_version(self) -> int:
        return SCHEMA_VERSION

    def close(self) -> None:
        with self._lock:
            if self._mirror is not None:
                self._mirror.close()
                self._mirror = None
            if self._writer is not None:
                self._writer.close()
                self._writer = None
            self._sqlite.close()

    @property
    def connection(self) -> sqlite3.Connection:  # type: ignore[override]
        """The SQLite connection reads use, for ad-hoc SQL over the tables (autocommit)."""
        self._memo.changed(counts_exact=None if self.read_only else False)
        self._mirror_version = None  # what is written through it reaches the mirror on the next load
        return self._sqlite

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:  # type: ignore[override]
        """One SQLite write transaction (``BEGIN IMMEDIATE``): committed on success, rolled back
        on any exception."""
        if self.read_only:
            raise StorageError("the store was opened read-only")
        with self._lock:
            if self._transactions:
                raise StorageError("store.transaction() does not nest")
            self._transactions += 1
            try:
                self._sqlite.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as e:
                self._transactions -= 1
                raise self._busy(e) from e
            self._memo.changed(counts_exact=False)
            self._mirror_version = None
            try:
                yield self._sqlite
            except BaseException:
                self._sqlite.execute("ROLLBACK")
                raise
            else:
                self._sqlite.execute("COMMIT")
            finally:
                self._transactions -= 1
                self._memo.changed(counts_exact=False)

    def _busy(self, error: BaseException) -> StorageError:
        waited = f" (waited {self._timeout:g} s)" if self._timeout else ""
        return StorageError(
            f"{self.path} is being written by another program{waited}: SQLite has one writer at a time; "
            f"try again when it is done, or open the store with a timeout ({_first_line(error)})"
        )

    # -- reads -------------------------------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:  # type: ignore[override]
        """The connection, inside one read snapshot (WAL: an import commits before or after it)."""
        with self._lock:
            try:
                if self._transactions:
                    yield self._sqlite
                    return
                self._sqlite.execute("BEGIN")
                try:
                    # The snapshot starts at the first read; the version is then the snapshot's.
                    self._sqlite.execute(f"SELECT 1 FROM {ident(META_TABLE)} LIMIT 1").fetchall()
                    version = self._sqlite.execute("PRAGMA data_version").fetchone()[0]
                    if version != self._seen_version:  # another connection committed
                        if self._seen_version is not None:
                            self._memo.changed(counts_exact=True)
                        self._seen_version = version
                    yield self._sqlite
                finally:
                    self._sqlite.execute("ROLLBACK")
            except sqlite3.OperationalError as e:
                if "locked" in str(e) or "busy" in str(e):
                    raise self._busy(e) from e
                raise StorageError(f"cannot read the store: {e}") from e
            except sqlite3.Error as e:
                raise StorageError(f"cannot read the store: {e}") from e

    def _session_costs(self, con: Any) -> Any:
        from .. import _reports as reports

        def compute() -> Any:
            with self._mirror_reading() as mirror:
                return reports.session_costs(mirror, book=self._prices)

        memo = self._read_memo()
        return compute() if memo is None else memo.get("session costs", None, compute)

    # -- the mirror: imports, reports and SQL ------------------------------------------------

    def _write_connection(self) -> sqlite3.Connection:
        """The connection imports write through (their transactions its own, ``BEGIN IMMEDIATE``)."""
        if self._writer is None:
            assert self.path is not None  # a SQLite store is a file
            self._writer = connect(self.path, timeout=self._timeout)
            # A large page cache for bulk writes; in WAL mode, NORMAL syncs at checkpoints only: a
            # crash of the program loses nothing, a power cut at most the last import.
            self._writer.execute("PRAGMA cache_size = -262144")
            self._writer.execute("PRAGMA synchronous = NORMAL")
        return self._writer

    def _current_mirror(self) -> Store:
        """The mirror, loaded again if another connection has written the file since. Called
        holding the write lock (imports), or where a load that races a commit is harmless: the
        version seen is then older than the rows loaded, and the next call loads again."""
        from .sqlite import load_mirror

        out = self._write_connection()
        version = out.execute("PRAGMA data_version").fetchone()[0]
        if self._mirror is not None and self._mirror_version == version:
            return self._mirror
        self._drop_mirror()
        mirror = Store.open(None, memory_limit=self._memory_limit)
        try:
            if out.in_transaction:  # an import's, holding the write lock
                load_mirror(out, mirror.connection)
            elif self._sqlite.in_transaction:  # inside a read's snapshot
                load_mirror(self._sqlite, mirror.connection)
            else:
                with self._lock:
                    self._sqlite.execute("BEGIN")  # one read snapshot
                    try:
                        load_mirror(self._sqlite, mirror.connection)
                    finally:
                        self._sqlite.execute("ROLLBACK")
        except BaseException:
            mirror.close()
            raise
        mirror.refresh()
        self._mirror, self._mirror_version = mirror, version
        return mirror

    @contextmanager
    def _mirror_reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The mirror's connection in a read snapshot, the mirror current with the file."""
        with self._lock:
            try:
                mirror = self._current_mirror()
            except sqlite3.Error as e:
                raise StorageError(f"cannot read {self.path}: {e}") from e
            with mirror._reading() as con:
                yield con

    @contextmanager
    def _writing(self) -> Iterator[Importer]:
        """An import on the mirror, inside one SQLite transaction that takes the write lock first
        (waiting up to the store's timeout); the rows it changed are written back before the commit."""
        from .sqlite import Snapshot, write_changes

        if self.read_only:
            raise StorageError("the store was opened read-only")
        with self._lock:
            if self._transactions:
                raise StorageError("an import runs in a transaction of its own: start it outside store.transaction()")
            out = self._write_connection()
            self._begin_writing(out)
            try:
                mirror = self._current_mirror()
                before = Snapshot(mirror.connection)
                try:
                    with mirror._writing() as importer:
                        yield importer
                    write_changes(mirror.connection, before, out)
                finally:
                    before.drop()
                out.execute("COMMIT")
            except BaseException as e:
                with suppress(sqlite3.Error):
                    out.execute("ROLLBACK")
                self._drop_mirror()  # it may hold what the file does not
                if isinstance(e, sqlite3.Error):
                    raise StorageError(f"cannot write {self.path}: {e}") from e
                raise
            finally:
                self._memo.changed(counts_exact=True)

    def _begin_writing(self, out: sqlite3.Connection) -> None:
        """``BEGIN IMMEDIATE``: the file's write lock, waited for up to the store's timeout (saying
        so once through ``on_wait`` when another program holds it)."""
        try:
            out.execute("PRAGMA busy_timeout = 0")
            try:
                out.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as e:
                if not self._timeout or "locked" not in str(e):
                    raise
            if self._on_wait is not None:
                self._on_wait("another program writing it")
            out.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            out.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            if "locked" in str(e):
                raise self._busy(e) from e
            raise StorageError(f"cannot write {self.path}: {e}") from e
        finally:
            out.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")

    def _drop_mirror(self) -> None:
        if self._mirror is not None:
            self._mirror.close()
        self._mirror, self._mirror_version = None, None

    def delete_before(self, before: datetime | str) -> dict[str, int]:
        """As :meth:`Store.delete_before`; SQLite reuses the freed pages for later rows."""
        moment = _instant(before)
        with self._writing() as importer:
            return importer.delete_before(moment)

    @contextmanager
    def _reporting(self, since: datetime | str | None, until: datetime | str | None) -> Iterator[Any]:
        from .._reports import Window, moment

        window = Window(moment(since, "since"), moment(until, "until"))
        with self._mirror_reading() as con:
            yield con, window

    def sql(self, query: str, params: Sequence[object] | dict[str, object] | None = None) -> duckdb.DuckDBPyRelation:
        """As :meth:`Store.sql`: DuckDB SQL over the store's public views (on the mirror)."""
        with self._mirror_reading():
            assert self._mirror is not None
            mirror = self._mirror
        return mirror.sql(query, params)

    def copy_to_sqlite(self, path: str | os.PathLike[str], *, replace: bool = False) -> dict[str, int]:
        from .sqlite import copy_store

        with self._mirror_reading() as con:
            return copy_store(con, path, replace=replace)

    def export_dataset(self, out: str | os.PathLike[str]) -> DatasetExport:
        from .._dataset import export_dataset

        with self._mirror_reading() as con:
            return export_dataset(con, out)


def _create(location: str) -> None:
    """A new, empty SQLite store: the empty DuckDB store's tables, written as a copy (once per
    process; later stores copy its bytes)."""
    global _EMPTY
    if _EMPTY is None:
        from .sqlite import copy_store

        with tempfile.TemporaryDirectory() as folder:
            empty_file = os.path.join(folder, "empty.sqlite")
            with Store.open(None) as empty, empty._reading() as con:
                copy_store(con, empty_file)
            _EMPTY = Path(empty_file).read_bytes()
    partial = Path(f"{location}.{os.getpid()}.partial")
    try:
        partial.write_bytes(_EMPTY)
        os.link(partial, location)  # never over a store another process has just created
    except FileExistsError:
        pass
    except OSError as e:
        raise StorageError(f"cannot create {location}: {e}") from e
    finally:
        partial.unlink(missing_ok=True)


_EMPTY: bytes | None = None


def _schema_version(con: sqlite3.Connection, location: str) -> int:
    tables = {name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if META_TABLE not in tables:
        named = ", ".join(sorted(tables)[:5]) or "no tables"
        raise StorageError(f"{location} is a SQLite database, but not an aibridge_store one ({named})")
    row = con.execute(f"SELECT value FROM {ident(META_TABLE)} WHERE key = 'schema_version'").fetchone()
    if row is None:
        raise StorageError(f"{location} has no schema version: it was not written by aibridge_store")
    return int(row[0])
