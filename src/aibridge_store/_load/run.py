"""One import run: its connection, inside the import's transaction, and every temporary table it
makes, each created here and dropped when the run ends.

The steps of an import (staging, merging, log records, lineage, rollups) share these tables; they
reach them through the run's attributes, never by a name of their own, and record what changed
through :meth:`ImportRun.touch` and :meth:`ImportRun.capture_sessions`, which the rollups read at
the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any

import duckdb
from duckdb.sqltypes import BIGINT, VARCHAR

from .._schema import INTERCEPTIONS, ident
from .checks import JSON_DEPTH_FUNCTION, json_depth

_I = ident(INTERCEPTIONS.name)


def register_functions(con: duckdb.DuckDBPyConnection) -> None:
    """Register the Python functions an import's checks call, once per connection. Call it
    outside a transaction: a rolled-back transaction would leave DuckDB unsure whether it exists."""
    con.execute("SELECT 1").fetchall()  # ends a result the caller left half-read, which would block this
    try:
        con.create_function(JSON_DEPTH_FUNCTION, json_depth, [VARCHAR], BIGINT, side_effects=False)
    except duckdb.NotImplementedException:
        pass  # registered by an earlier import on this connection


class ImportRun:
    """The working state of one import call. Use it as a context manager inside the import's
    transaction: leaving it drops every temporary table it made."""

    stage = "__aibridge_stage"
    """The rows of the source being merged, typed and checked (made anew per source)."""
    touched = "__aibridge_touched"
    """Ids of every interception this run inserted, changed, or gave a child row."""
    updated = "__aibridge_updated"
    """Ids of stored interceptions this run overwrote (their start time may have moved)."""
    sessions_before = "__aibridge_sessions_before"
    """(session_id, initiator_id) of interceptions before a change that may move them to another
    session: those sessions are rebuilt too."""
    affected = "__aibridge_affected"
    duplicate_keys = "__aibridge_duplicate_keys"
    losers = "__aibridge_losers"
    covered = "__aibridge_covered"
    existing = "__aibridge_existing"
    links = "__aibridge_links"
    log = "__aibridge_log"
    log_lines = "__aibridge_log_lines"
    doomed = "__aibridge_doomed"
    """Interceptions a retention run deletes."""
    source = "__aibridge_source"
    """The name an Arrow stream is registered under while it is staged."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def __enter__(self) -> ImportRun:
        self.con.execute(f'CREATE OR REPLACE TEMP TABLE {self.touched} ("id" UUID)')
        self.con.execute(f'CREATE OR REPLACE TEMP TABLE {self.updated} ("id" UUID)')
        self.con.execute(
            f'CREATE OR REPLACE TEMP TABLE {self.sessions_before} ("session_id" VARCHAR, "initiator_id" UUID)'
        )
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for name in self._temporary():
            try:
                self.con.execute(f"DROP TABLE IF EXISTS {name}")
            except duckdb.Error:
                if exc is None:
                    raise
                return  # the transaction failed already; rolling it back drops them

    def _temporary(self) -> list[str]:
        return [
            self.stage, self.touched, self.updated, self.sessions_before, self.affected, self.duplicate_keys,
            self.losers, self.covered, self.existing, self.links, self.log, self.doomed,
        ]

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
        return self.con.execute(sql, params)

    def row(self, sql: str, params: Sequence[Any] | None = None) -> tuple[Any, ...]:
        """The single row of an aggregate query, or of a statement that reports a row count."""
        rows = self.con.execute(sql, params).fetchall()  # all: DuckDB blocks the connection on a half-read result
        if len(rows) != 1:
            raise AssertionError(f"expected one row: {sql}")
        return rows[0]

    def number(self, sql: str, params: Sequence[Any] | None = None) -> int:
        """The number a statement returns: a ``count(*)``, or the rows an INSERT, UPDATE or
        DELETE changed."""
        return int(self.row(sql, params)[0])

    def has_rows(self, table: str) -> bool:
        return bool(self.number(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1)"))

    def touch(self, select_ids: str) -> None:
        """Record interception ids (a SELECT of one UUID column) as touched by this run."""
        self.con.execute(f'INSERT INTO {self.touched} ("id") {select_ids}')

    def mark_updated(self, select_ids: str) -> None:
        """Record stored interceptions that this run overwrites."""
        self.con.execute(f'INSERT INTO {self.updated} ("id") {select_ids}')

    def capture_sessions(self, select_ids: str) -> None:
        """Before stored interceptions change in a way that may move them to another session
        (their thread or client session ids), remember the sessions they are in now, which need
        rebuilding too; and mark them touched."""
        self.con.execute(
            f'INSERT INTO {self.sessions_before} ("session_id", "initiator_id") '
            f'SELECT "session_id", "initiator_id" FROM {_I} WHERE "id" IN ({select_ids})'
        )
        self.touch(select_ids)
