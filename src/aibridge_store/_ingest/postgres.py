"""A live Coder PostgreSQL database, read straight into Arrow by the ADBC PostgreSQL driver.

Everything is read in one ``REPEATABLE READ READ ONLY`` transaction, so all tables come from one
snapshot and nothing is ever written. Only the columns the store knows are selected (found in
``information_schema``, so older and newer Coder schemas both work; the generated ``session_id``
is recomputed by the store).

Incremental reads: the snapshot an import read is recorded in the store. The next import of the
same database asks only for rows that snapshot could not see: rows whose ``xmin`` (the
transaction that wrote this version of the row) committed later. That covers new rows and rows
updated since, such as interceptions that were in flight and have ended. ``xmin`` is a 32-bit
transaction id, compared modulo 2^32 against the snapshot's ``xmax`` and in-progress list, as
PostgreSQL itself does; it stays exact while fewer than two billion transactions separate two
imports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa

from .._schema import DATABASE_SCHEMES, TABLES, Kind, Table, ident
from ..errors import ImportDataError
from .base import Source, canonical_columns, numbered, numbered_schema

_XID_SPACE = 1 << 32
_NEWER = (
    "((xmin::text::bigint - $1::bigint) % 4294967296 + 4294967296) % 4294967296 < 2147483648 "
    "OR xmin::text::bigint = ANY(string_to_array($2::text, ',')::bigint[])"
)
"""Rows written by transactions the previous snapshot could not see ($1: its xmax modulo 2^32,
$2: its in-progress ids modulo 2^32, comma-separated)."""


def is_postgres_url(text: str) -> bool:
    return text.startswith(DATABASE_SCHEMES)


def redact(dsn: str) -> str:
    """The connection string without its password: how a database is named in summaries, errors
    and the store's record of earlier imports."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.rsplit("@", 1)
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[1]}" if len(netloc) == 2 else netloc[0]))


@dataclass(frozen=True)
class Snapshot:
    """A PostgreSQL snapshot (``pg_current_snapshot()``): ``xmin:xmax:xip,...`` in 64-bit ids."""

    text: str

    @property
    def xmax(self) -> int:
        return int(self.text.split(":")[1])

    @property
    def in_progress(self) -> list[int]:
        listed = self.text.split(":")[2]
        return [int(x) for x in listed.split(",") if x]

    def newer_parameters(self) -> tuple[int, str]:
        return self.xmax % _XID_SPACE, ",".join(str(x % _XID_SPACE) for x in self.in_progress)


def _select_list(table: Table, present: dict[str, str]) -> list[str]:
    """Our columns that the database has, as SQL (text for enums and other types we read as text)."""
    items = []
    for column in table.columns:
        if column.internal or column.name not in present:
            continue
        name = ident(column.name)
        if column.kind is Kind.TEXT:
            items.append(f"{name}::text AS {name}")
        elif column.kind is Kind.JSON:
            items.append(f"{name}::text AS {name}")
        elif column.kind is Kind.COUNT:
            items.append(f"{name}::bigint AS {name}")
        else:
            items.append(name)
    return items


class PostgresReader:
    """One read of a Coder database: connect, snapshot, then a :class:`Source` per table."""

    def __init__(self, dsn: str, progress: Callable[[int], None] | None = None) -> None:
        self.name = redact(dsn)
        self._progress = progress
        try:
            import adbc_driver_postgresql.dbapi as adbc
        except ImportError as e:  # pragma: no cover - a dependency of the package
            raise ImportDataError("the ADBC PostgreSQL driver is not installed", source=self.name) from e
        try:
            self._con = adbc.connect(dsn, autocommit=True)
        except Exception as e:
            raise ImportDataError(f"cannot connect: {_reason(e)}", source=self.name) from None
        self._cursor = self._con.cursor()
        try:
            self._run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            self.snapshot = Snapshot(str(self._one("SELECT pg_current_snapshot()::text")))
            self.columns = self._columns()
        except BaseException:
            self.close()
            raise

    def _run(self, sql: str, parameters: tuple[Any, ...] | None = None) -> None:
        try:
            self._cursor.execute(sql, parameters)
        except Exception as e:
            raise ImportDataError(_reason(e), source=self.name) from None

    def _one(self, sql: str) -> Any:
        self._run(sql)
        row = self._cursor.fetchone()
        return row[0] if row else None

    def _columns(self) -> dict[str, dict[str, str]]:
        names = ",".join(TABLES)
        self._run(
            "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ANY(string_to_array($1::text, ','))",
            (names,),
        )
        found: dict[str, dict[str, str]] = {}
        for table, column, kind in self._cursor.fetchall():
            found.setdefault(table, {})[column] = kind
        if "aibridge_interceptions" not in found:
            raise ImportDataError(
                "no aibridge_interceptions table in the current schema: is this Coder's database?", source=self.name
            )
        return found

    def sources(self, since: dict[str, Snapshot]) -> Iterator[Source]:
        """One source per table the database has, with only the rows ``since`` did not see."""
        for table in TABLES.values():
            present = self.columns.get(table.name)
            if not present:
                continue
            yield self._source(table, present, since.get(table.name))

    def _source(self, table: Table, present: dict[str, str], since: Snapshot | None) -> Source:
        select = ", ".join(_select_list(table, present))
        sql = f"SELECT {select} FROM {ident(table.name)}"
        parameters = None
        if since is not None:
            sql += f" WHERE {_NEWER}"
            parameters = since.newer_parameters()
        self._run(sql, parameters)
        reader = self._cursor.fetch_record_batch()
        rename = canonical_columns(table, reader.schema.names)
        return Source(
            name=f"{self.name} ({table.name})",
            table=table,
            schema=numbered_schema(reader.schema, rename),
            batches=numbered(self._counted(reader), rename),
        )

    def _counted(self, reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
        try:
            for batch in reader:
                if self._progress is not None:
                    self._progress(batch.num_rows)
                yield batch
        except Exception as e:
            raise ImportDataError(f"reading failed: {_reason(e)}", source=self.name) from None

    def close(self) -> None:
        """End the read-only transaction and disconnect."""
        try:
            self._cursor.execute("ROLLBACK")  # nothing was written; this only ends the snapshot
        except Exception:
            pass  # the connection is gone already
        finally:
            self._cursor.close()
            self._con.close()


def _reason(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
