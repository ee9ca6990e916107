"""Interception records out of log lines: the store's side of a log import (docs/imports.md,
"The structured log").

The candidate lines of :mod:`aibridge_store._ingest.logs` are loaded a slice at a time into the
import run's log table, where DuckDB pulls every record field out of the JSON text in one pass
(slog keeps them under ``fields``, the Stackdriver sink at the top level). Each record type then
becomes a :class:`~.staging.Relation` over that table and is staged, checked and merged like a
table export, so a bad value is reported with its file, line and field.

Log records carry no row ids. Child rows get a deterministic id (a version-8 UUID hashed from the
natural key, docs/imports.md "Natural keys"), so a record logged twice, or imported twice, is one row; the
merge tells such rows from Coder's own (version 4) when a table export brings the same record.
``interception_end`` records and the tool call a start without thread ids answers go to the store's log tables
(:data:`~aibridge_store._schema.LOG_TABLES`); :mod:`aibridge_store._load.lineage` applies them once the
rows they need are there, whatever order the lines came in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from .._ingest import ROW
from .._ingest.base import PulledStream, prefetched
from .._ingest.logs import LINE, LogFile
from .._schema import (
    FROM_LOG,
    FROM_LOG_WITH_THREADS,
    INTERCEPTIONS,
    LOG_ENDS,
    LOG_ID_MARK,
    LOG_LINEAGE,
    MODEL_THOUGHTS,
    ORIGIN,
    TOKEN_USAGES,
    TOOL_USAGES,
    USER_PROMPTS,
    Table,
    ident,
)
from .merge import TableCounts, merge_source
from .run import ImportRun
from .staging import Relation, timestamp_sql

SLICE_LINES = 1 << 20
"""Candidate lines per slice: bounds the memory a log import needs, whatever the file's size."""

MARKER = "interception log"
NIL_UUID = "00000000-0000-0000-0000-000000000000"

FIELDS = (
    "record_type", "interception_id", "initiator_id", "api_key_id", "provider", "model", "client",
    "client_session_id", "started_at", "metadata", "correlating_tool_call_id", "thread_parent_id",
    "thread_root_id", "ended_at", "msg_id", "input_tokens", "output_tokens", "cache_read_input_tokens",
    "cache_write_input_tokens", "created_at", "prompt", "tool", "input", "server_url", "injected",
    "invocation_error", "tool_call_id", "item_id", "content",
)
"""Every record field the store reads; all others are ignored."""

RECORD_TYPES = ("interception_start", "interception_end", "token_usage", "prompt_usage", "tool_usage", "model_thought")


@dataclass
class LogReport:
    """What a log held: how many records, and the lines that did not become rows."""

    records: int = 0
    malformed: int = 0
    first_malformed: int | None = None
    unknown_types: dict[str, int] = field(default_factory=dict)


def _paths(prefix: str) -> list[str]:
    return ["$.msg", "$.message", *[f"$.{prefix}{name}" for name in FIELDS]]


def _extract_sql(run: ImportRun) -> str:
    """Every field in one parse of each line, kept as a list (a line that is not JSON gets NULL).

    slog keeps the fields under ``fields``; the Stackdriver sink puts them at the top level, so a
    line without a nested ``record_type`` is read again with top-level paths."""
    line = ident(LINE)
    return (
        f"CREATE OR REPLACE TEMP TABLE {run.log} AS SELECT {ident(ROW)}, v IS NOT NULL AS ok, "
        f"v IS NOT NULL AND '{MARKER}' IN (v[1], v[2]) AS record, v[3] AS record_type, v FROM ("
        f"SELECT {ident(ROW)}, CASE WHEN nested[3] IS NOT NULL THEN nested "
        f"ELSE try(json_extract_string({line}, $top)) END AS v FROM ("
        f"SELECT {ident(ROW)}, {line}, try(json_extract_string({line}, $nested)) AS nested FROM {run.log_lines})) "
        f"ORDER BY record_type"  # each source then scans only its record type's row groups
    )


def _fields_sql() -> str:
    """The record fields as columns, out of the list. Each source reads only the fields it needs
    (DuckDB prunes the others)."""
    return ", ".join(f"v[{3 + i}] AS {ident(name)}" for i, name in enumerate(FIELDS))


def merge_log(run: ImportRun, log: LogFile, report: LogReport) -> Iterator[tuple[Table, TableCounts]]:
    """Merge the records of one log, a slice of lines at a time: each slice is parsed into
    ``run.log`` and every record type in it merged before the next slice is read. Yields what each
    record type's merge did. The lines are read by a background thread while DuckDB parses them."""
    batches = prefetched(iter(log.batches))
    fields = _fields_sql()
    while True:
        first = next(batches, None)
        if first is None:
            return
        _load_slice(run, log, first, batches)
        _count(run, report)
        for record in _RECORDS:
            yield record.table, merge_source(run, record.relation(run, log.name, fields))


def _load_slice(run: ImportRun, log: LogFile, first: pa.RecordBatch, batches: Iterator[pa.RecordBatch]) -> None:
    # A stream: DuckDB parses while the reader thread reads ahead (measured faster than parsing
    # a finished slice on both threads).
    stream = PulledStream(log.schema, _slice(first, batches))
    run.con.register(run.log_lines, stream.reader())
    try:
        run.execute(_extract_sql(run), {"nested": _paths("fields."), "top": _paths("")})
    except duckdb.Error:
        stream.reraise()
        raise
    finally:
        try:
            run.con.unregister(run.log_lines)
        except duckdb.Error:
            pass  # the transaction failed already; the caller rolls it back


def _slice(first: pa.RecordBatch, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """``first`` and what follows, up to :data:`SLICE_LINES` lines."""
    lines = first.num_rows
    yield first
    for batch in batches:
        yield batch
        lines += batch.num_rows
        if lines >= SLICE_LINES:
            return


def _count(run: ImportRun, report: LogReport) -> None:
    known = ", ".join(f"'{t}'" for t in RECORD_TYPES)
    records, malformed, first = run.row(
        f"SELECT count(*) FILTER (WHERE record AND record_type IN ({known})), "
        f"count(*) FILTER (WHERE NOT ok), min({ident(ROW)}) FILTER (WHERE NOT ok) FROM {run.log}"
    )
    report.records += records
    report.malformed += malformed
    if first is not None and report.first_malformed is None:
        report.first_malformed = first
    for kind, count in run.execute(
        f"SELECT record_type, count(*) FROM {run.log} WHERE record AND record_type IS NOT NULL "
        f"AND record_type NOT IN ({known}) GROUP BY ALL ORDER BY ALL"
    ).fetchall():
        report.unknown_types[kind] = report.unknown_types.get(kind, 0) + count


@dataclass(frozen=True)
class _RecordType:
    """How one record type becomes rows of a table: (SQL over the fields, column) pairs, which
    records qualify, and for tables with row ids the natural key that is hashed into the id."""

    table: Table
    record_type: str
    columns: list[tuple[str, str]]
    where: str = "TRUE"
    key: str | None = None

    def relation(self, run: ImportRun, name: str, fields: str) -> Relation:
        """The slice's records of this type in ``run.log``. ``key`` is hashed once per row into
        ``__hash``, which the ``id`` column turns into a version-8 UUID."""
        select = ", ".join(f"{expr} AS {ident(column)}" for expr, column in self.columns)
        records = f"SELECT {ident(ROW)}, {fields} FROM {run.log} WHERE record AND record_type = '{self.record_type}'"
        if self.key is not None:
            records = f"SELECT *, md5({self.key}) AS __hash FROM ({records})"
        sql = f"SELECT {select}, {ident(ROW)} FROM ({records}) WHERE {self.where}"
        schema = pa.schema([(column, pa.string()) for _, column in self.columns] + [(ROW, pa.int64())])
        return Relation(name=name, table=self.table, schema=schema, sql=sql)


_HASHED_ID = f"substr(__hash, 1, 12) || '8' || substr(__hash, 14, 3) || '{LOG_ID_MARK}' || substr(__hash, 21, 12)"
"""A version-8 UUID (32 hex digits) from ``__hash``, with :data:`~.schema.LOG_ID_MARK` as its
variant group; Coder's own ids are version 4, random."""


def _absent(name: str) -> str:
    """A string field where ``""`` means absent."""
    return f"NULLIF({ident(name)}, '')"


def _uuid_or_absent(name: str) -> str:
    """A UUID field where ``""`` and the nil UUID mean absent."""
    return f"CASE WHEN {ident(name)} IN ('', '{NIL_UUID}') THEN NULL ELSE {ident(name)} END"


def _record_key(tag: str, *parts: str) -> str:
    """A record's natural key as text (the time as the stored instant), for :data:`_HASHED_ID`."""
    return " || chr(31) || ".join([f"'{tag}'", *[f"COALESCE({p}, '')" for p in parts]])


def _instant(name: str) -> str:
    return f"COALESCE(CAST({timestamp_sql(ident(name))} AS VARCHAR), {ident(name)})"


def _same(*names: str) -> list[tuple[str, str]]:
    return [(ident(n), n) for n in names]


_THREADS = '("thread_root_id" IS NOT NULL OR "thread_parent_id" IS NOT NULL)'
_IID = ident("interception_id")
_CALL = "COALESCE(NULLIF(\"tool_call_id\", ''), \"msg_id\" || chr(31) || \"tool\")"


def _start() -> _RecordType:
    origin = f"CASE WHEN {_THREADS} THEN '{FROM_LOG_WITH_THREADS}' ELSE '{FROM_LOG}' END"
    # The first log records carried no client: Coder's migration gave those rows 'Unknown'.
    # Later records log "" for no client.
    client = "CASE WHEN \"client\" IS NULL THEN 'Unknown' ELSE NULLIF(\"client\", '') END"
    return _RecordType(INTERCEPTIONS, "interception_start", [
        (_IID, "id"), *_same("initiator_id", "provider", "model", "started_at", "metadata"),
        (_absent("api_key_id"), "api_key_id"), (client, "client"),
        (_uuid_or_absent("thread_parent_id"), "thread_parent_id"),
        (_uuid_or_absent("thread_root_id"), "thread_root_id"),
        (_absent("client_session_id"), "client_session_id"), (origin, ORIGIN),
    ])


def _token() -> _RecordType:
    key = _record_key("token", _IID, _MSG, _instant("created_at"), ident("input_tokens"), ident("output_tokens"))
    return _RecordType(TOKEN_USAGES, "token_usage", [
        (_HASHED_ID, "id"), *_same("interception_id"), (_MSG, "provider_response_id"),
        *_same("input_tokens", "output_tokens", "metadata", "created_at", "cache_read_input_tokens",
               "cache_write_input_tokens"),
    ], key=key)


def _prompt() -> _RecordType:
    key = _record_key("prompt", _IID, _MSG, _instant("created_at"))
    return _RecordType(USER_PROMPTS, "prompt_usage", [
        (_HASHED_ID, "id"), *_same("interception_id"), (_MSG, "provider_response_id"),
        *_same("prompt", "metadata", "created_at"),
    ], key=key)


def _tool() -> _RecordType:
    key = _record_key("tool", _IID, _CALL, _instant("created_at"))
    return _RecordType(TOOL_USAGES, "tool_usage", [
        (_HASHED_ID, "id"), *_same("interception_id"), (_MSG, "provider_response_id"),
        (_absent("server_url"), "server_url"), *_same("tool", "input", "injected"),
        (_absent("invocation_error"), "invocation_error"), *_same("metadata", "created_at"),
        (_absent("tool_call_id"), "provider_tool_call_id"), (_absent("item_id"), "provider_item_id"),
    ], key=key)


def _thought() -> _RecordType:
    return _RecordType(MODEL_THOUGHTS, "model_thought", _same("interception_id", "content", "metadata", "created_at"))


def _end() -> _RecordType:
    return _RecordType(LOG_ENDS, "interception_end", _same("interception_id", "ended_at"))


def _lineage() -> _RecordType:
    """The tool call an interception logged without thread ids answers (see :mod:`.lineage`)."""
    answers = f"NOT {_THREADS} AND COALESCE(\"correlating_tool_call_id\", '') <> ''"
    return _RecordType(
        LOG_LINEAGE, "interception_start", _same("interception_id", "correlating_tool_call_id"), where=answers
    )


_MSG = ident("msg_id")
_RECORDS = (_start(), _token(), _prompt(), _tool(), _thought(), _end(), _lineage())
"""Every record type, in the order a slice's records are merged (interceptions first)."""
