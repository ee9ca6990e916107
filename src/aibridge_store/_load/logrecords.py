"""Interception records out of log lines: the store's side of a log import (input-formats §1).

The candidate lines of :mod:`aibridge_store._ingest.logs` are loaded a slice at a time into a
temporary table, where DuckDB pulls every record field out of the JSON text in one pass (slog
keeps them under ``fields``, the Stackdriver sink at the top level). Each record type then
becomes a :class:`~aibridge_store._ingest.Source` over that table and is staged, checked and
merged like a table export, so a bad value is reported with its file, line and field.

Log records carry no row ids. Child rows get a deterministic id (a version-8 UUID hashed from the
natural key of input-formats §1.5), so a record logged twice, or imported twice, is one row; the
merge tells such rows from Coder's own (version 4) when a table export brings the same record.
``interception_end`` records and the tool call a G3 start answers go to the store's log tables
(:data:`~aibridge_store._schema.LOG_TABLES`); :mod:`aibridge_store._load.lineage` applies them once the
rows they need are there, whatever order the lines came in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from .._ingest import ROW, Source
from .._ingest.base import prefetched
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
from .staging import timestamp_sql

LOG = "__aibridge_log"
_LINES = "__aibridge_log_lines"
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
"""Every record field the store reads (input-formats §1.4); all others are ignored."""

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


def _extract_sql() -> str:
    """Every field in one parse of each line, kept as a list (a line that is not JSON gets NULL).

    slog keeps the fields under ``fields``; the Stackdriver sink puts them at the top level, so a
    line without a nested ``record_type`` is read again with top-level paths."""
    line = ident(LINE)
    return (
        f"CREATE OR REPLACE TEMP TABLE {LOG} AS SELECT {ident(ROW)}, v IS NOT NULL AS ok, "
        f"v IS NOT NULL AND '{MARKER}' IN (v[1], v[2]) AS record, v[3] AS record_type, v FROM ("
        f"SELECT {ident(ROW)}, CASE WHEN nested[3] IS NOT NULL THEN nested "
        f"ELSE try(json_extract_string({line}, $top)) END AS v FROM ("
        f"SELECT {ident(ROW)}, {line}, try(json_extract_string({line}, $nested)) AS nested FROM {_LINES})) "
        f"ORDER BY record_type"  # each source then scans only its record type's row groups
    )


def _fields_sql() -> str:
    """The record fields as columns, out of the list. Each source reads only the fields it needs
    (DuckDB prunes the others)."""
    return ", ".join(f"v[{3 + i}] AS {ident(name)}" for i, name in enumerate(FIELDS))


def log_sources(con: duckdb.DuckDBPyConnection, log: LogFile, report: LogReport) -> Iterator[Source]:
    """The sources of one log, a slice at a time; each slice's sources must be merged before the
    next is asked for (they read the same temporary table). The lines are read by a background
    thread while DuckDB parses them."""
    batches = prefetched(iter(log.batches))
    fields = _fields_sql()
    while True:
        first = next(batches, None)
        if first is None:
            return
        error: list[BaseException] = []
        # A stream: DuckDB parses while the reader thread reads ahead (measured faster than
        # parsing a finished slice on both threads).
        con.register(_LINES, pa.RecordBatchReader.from_batches(log.schema, _slice(first, batches, error)))
        try:
            con.execute(_extract_sql(), {"nested": _paths("fields."), "top": _paths("")})
        except duckdb.Error:
            if error:
                raise error[0] from None
            raise
        finally:
            try:
                con.unregister(_LINES)
            except duckdb.Error:
                pass  # the transaction failed already; the caller rolls it back
        _count(con, report)
        for table, columns, record_type, where, key in _relations():
            yield _source(log.name, table, columns, fields, record_type, where, key)


def _slice(
    first: pa.RecordBatch, batches: Iterator[pa.RecordBatch], error: list[BaseException]
) -> Iterator[pa.RecordBatch]:
    """``first`` and what follows, up to :data:`SLICE_LINES` lines; keeps an exception for the
    caller (DuckDB, which pulls the batches, would only say that the stream failed)."""
    lines = first.num_rows
    yield first
    try:
        for batch in batches:
            yield batch
            lines += batch.num_rows
            if lines >= SLICE_LINES:
                return
    except BaseException as e:
        error.append(e)
        raise


def _count(con: duckdb.DuckDBPyConnection, report: LogReport) -> None:
    known = ", ".join(f"'{t}'" for t in RECORD_TYPES)
    records, malformed, first = con.execute(
        f"SELECT count(*) FILTER (WHERE record AND record_type IN ({known})), "
        f"count(*) FILTER (WHERE NOT ok), min({ident(ROW)}) FILTER (WHERE NOT ok) FROM {LOG}"
    ).fetchone()  # type: ignore[misc]
    report.records += records
    report.malformed += malformed
    if first is not None and report.first_malformed is None:
        report.first_malformed = first
    for kind, count in con.execute(
        f"SELECT record_type, count(*) FROM {LOG} WHERE record AND record_type IS NOT NULL "
        f"AND record_type NOT IN ({known}) GROUP BY ALL ORDER BY ALL"
    ).fetchall():
        report.unknown_types[kind] = report.unknown_types.get(kind, 0) + count


def _source(
    name: str, table: Table, columns: list[tuple[str, str]], fields: str, record_type: str, where: str,
    key: str | None = None,
) -> Source:
    """A source over the slice's records of one type. ``key`` (SQL over the fields) is hashed once
    per row into ``__hash``, which the ``id`` column turns into a version-8 UUID."""
    select = ", ".join(f"{expr} AS {ident(column)}" for expr, column in columns)
    records = f"SELECT {ident(ROW)}, {fields} FROM {LOG} WHERE record AND record_type = '{record_type}'"
    if key is not None:
        records = f"SELECT *, md5({key}) AS __hash FROM ({records})"
    sql = f"SELECT {select}, {ident(ROW)} FROM ({records}) WHERE {where}"
    schema = pa.schema([(column, pa.string()) for _, column in columns] + [(ROW, pa.int64())])
    return Source(name=name, table=table, schema=schema, batches=iter(()), relation=sql, from_log=True)


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


def _relations() -> list[tuple[Table, list[tuple[str, str]], str, str, str | None]]:
    """(table, [(expression, column)], record type, condition, natural key) for every record type."""
    origin = f"CASE WHEN {_THREADS} THEN '{FROM_LOG_WITH_THREADS}' ELSE '{FROM_LOG}' END"
    # G1 logged no client: Coder's migration gave those rows 'Unknown'. From G2 on, "" is no client.
    client = "CASE WHEN \"client\" IS NULL THEN 'Unknown' ELSE NULLIF(\"client\", '') END"
    msg = (ident("msg_id"), "provider_response_id")
    start = [
        (_IID, "id"), *_same("initiator_id", "provider", "model", "started_at", "metadata"),
        (_absent("api_key_id"), "api_key_id"), (client, "client"),
        (_uuid_or_absent("thread_parent_id"), "thread_parent_id"),
        (_uuid_or_absent("thread_root_id"), "thread_root_id"),
        (_absent("client_session_id"), "client_session_id"), (origin, ORIGIN),
    ]
    token = [
        (_HASHED_ID, "id"), *_same("interception_id"), msg,
        *_same("input_tokens", "output_tokens", "metadata", "created_at", "cache_read_input_tokens",
               "cache_write_input_tokens"),
    ]
    prompt = [
        (_HASHED_ID, "id"),
        *_same("interception_id"), msg, *_same("prompt", "metadata", "created_at"),
    ]
    tool = [
        (_HASHED_ID, "id"), *_same("interception_id"), msg,
        (_absent("server_url"), "server_url"), *_same("tool", "input", "injected"),
        (_absent("invocation_error"), "invocation_error"), *_same("metadata", "created_at"),
        (_absent("tool_call_id"), "provider_tool_call_id"), (_absent("item_id"), "provider_item_id"),
    ]
    thought = _same("interception_id", "content", "metadata", "created_at")
    end = _same("interception_id", "ended_at")
    lineage = _same("interception_id", "correlating_tool_call_id")
    token_key = _record_key(
        "token", _IID, ident("msg_id"), _instant("created_at"), ident("input_tokens"), ident("output_tokens")
    )
    prompt_key = _record_key("prompt", _IID, ident("msg_id"), _instant("created_at"))
    tool_key = _record_key("tool", _IID, _CALL, _instant("created_at"))
    return [
        (INTERCEPTIONS, start, "interception_start", "TRUE", None),
        (TOKEN_USAGES, token, "token_usage", "TRUE", token_key),
        (USER_PROMPTS, prompt, "prompt_usage", "TRUE", prompt_key),
        (TOOL_USAGES, tool, "tool_usage", "TRUE", tool_key),
        (MODEL_THOUGHTS, thought, "model_thought", "TRUE", None),
        (LOG_ENDS, end, "interception_end", "TRUE", None),
        (LOG_LINEAGE, lineage, "interception_start",
         f"NOT {_THREADS} AND COALESCE(\"correlating_tool_call_id\", '') <> ''", None),
    ]
