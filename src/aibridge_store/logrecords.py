"""Interception records out of log lines: the store's side of a log import (input-formats §1).

The candidate lines of :mod:`aibridge_store.ingest.logs` are loaded a slice at a time into a
temporary table, where DuckDB pulls every record field out of the JSON text in one pass (slog
keeps them under ``fields``, the Stackdriver sink at the top level). Each record type then
becomes a :class:`~aibridge_store.ingest.Source` over that table and is staged, checked and
merged like a table export, so a bad value is reported with its file, line and field.

Log records carry no row ids. Child rows get a deterministic id (a version-8 UUID hashed from the
natural key of input-formats §1.5), so a record logged twice, or imported twice, is one row; the
merge tells such rows from Coder's own (version 4) when a table export brings the same record.
``interception_end`` records and the tool call a G3 start answers go to the store's log tables
(:data:`~aibridge_store.schema.LOG_TABLES`); :mod:`aibridge_store.lineage` applies them once the
rows they need are there, whatever order the lines came in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from .ingest import ROW, Source
from .ingest.logs import LINE, LogFile
from .schema import (
    FROM_LOG,
    FROM_LOG_WITH_THREADS,
    INTERCEPTIONS,
    LOG_ENDS,
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
    """What a log held that did not become rows."""

    records: int = 0
    malformed: int = 0
    first_malformed: int | None = None
    unknown_types: dict[str, int] = field(default_factory=dict)


def _paths() -> list[str]:
    envelope = ["$.msg", "$.message"]
    nested = [f"$.fields.{name}" for name in FIELDS]
    top = [f"$.{name}" for name in FIELDS]
    return envelope + nested + top


def _extract_sql() -> str:
    n = len(FIELDS)
    columns = [f"COALESCE(v[{3 + i}], v[{3 + n + i}]) AS {ident(name)}" for i, name in enumerate(FIELDS)]
    return (
        f"CREATE OR REPLACE TEMP TABLE {LOG} AS SELECT {ident(ROW)}, ok, "
        f"ok AND '{MARKER}' IN (v[1], v[2]) AS record, {', '.join(columns)} FROM ("
        f"SELECT {ident(ROW)}, json_valid({ident(LINE)}) AS ok, "
        f"CASE WHEN json_valid({ident(LINE)}) THEN json_extract_string({ident(LINE)}, $paths) END AS v "
        f"FROM {_LINES})"
    )


def log_sources(con: duckdb.DuckDBPyConnection, log: LogFile, report: LogReport) -> Iterator[Source]:
    """The sources of one log, a slice at a time; each slice's sources must be merged before the
    next is asked for (they read the same temporary table)."""
    batches = iter(log.batches)
    while True:
        piece = list(_slice(batches))
        if not piece:
            return
        con.register(_LINES, pa.Table.from_batches(piece, log.schema))
        try:
            con.execute(_extract_sql(), {"paths": _paths()})
        finally:
            con.unregister(_LINES)
        _count(con, report)
        for table, columns, where in _relations():
            yield _source(log.name, table, columns, where)


def _slice(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    lines = 0
    for batch in batches:
        yield batch
        lines += batch.num_rows
        if lines >= SLICE_LINES:
            return


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


def _source(name: str, table: Table, columns: list[tuple[str, str]], where: str) -> Source:
    select = ", ".join(f"{expr} AS {ident(column)}" for expr, column in columns)
    sql = f"SELECT {select}, {ident(ROW)} FROM {LOG} WHERE record AND {where}"
    schema = pa.schema([(column, pa.string()) for _, column in columns] + [(ROW, pa.int64())])
    return Source(name=name, table=table, schema=schema, batches=iter(()), relation=sql, from_log=True)


def _absent(name: str) -> str:
    """A string field where ``""`` means absent."""
    return f"NULLIF({ident(name)}, '')"


def _uuid_or_absent(name: str) -> str:
    """A UUID field where ``""`` and the nil UUID mean absent."""
    return f"CASE WHEN {ident(name)} IN ('', '{NIL_UUID}') THEN NULL ELSE {ident(name)} END"


def _record_id(tag: str, *parts: str) -> str:
    """A version-8 UUID hashed from a record's natural key (the time as the stored instant)."""
    text = " || chr(31) || ".join([f"'{tag}'", *[f"COALESCE({p}, '')" for p in parts]])
    h = f"md5({text})"
    return f"substr({h}, 1, 12) || '8' || substr({h}, 14, 3) || '8' || substr({h}, 18, 15)"


def _instant(name: str) -> str:
    return f"COALESCE(CAST({timestamp_sql(ident(name))} AS VARCHAR), {ident(name)})"


def _same(*names: str) -> list[tuple[str, str]]:
    return [(ident(n), n) for n in names]


_THREADS = '("thread_root_id" IS NOT NULL OR "thread_parent_id" IS NOT NULL)'
_IID = ident("interception_id")
_CALL = "COALESCE(NULLIF(\"tool_call_id\", ''), \"msg_id\" || chr(31) || \"tool\")"


def _relations() -> list[tuple[Table, list[tuple[str, str]], str]]:
    """(table, [(expression, column)], condition) for every record type."""
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
    token_id = _record_id(
        "token", _IID, ident("msg_id"), _instant("created_at"), ident("input_tokens"), ident("output_tokens")
    )
    token = [
        (token_id, "id"), *_same("interception_id"), msg,
        *_same("input_tokens", "output_tokens", "metadata", "created_at", "cache_read_input_tokens",
               "cache_write_input_tokens"),
    ]
    prompt = [
        (_record_id("prompt", _IID, ident("msg_id"), _instant("created_at")), "id"),
        *_same("interception_id"), msg, *_same("prompt", "metadata", "created_at"),
    ]
    tool = [
        (_record_id("tool", _IID, _CALL, _instant("created_at")), "id"), *_same("interception_id"), msg,
        (_absent("server_url"), "server_url"), *_same("tool", "input", "injected"),
        (_absent("invocation_error"), "invocation_error"), *_same("metadata", "created_at"),
        (_absent("tool_call_id"), "provider_tool_call_id"), (_absent("item_id"), "provider_item_id"),
    ]
    thought = _same("interception_id", "content", "metadata", "created_at")
    end = _same("interception_id", "ended_at")
    lineage = _same("interception_id", "correlating_tool_call_id")
    return [
        (INTERCEPTIONS, start, "record_type = 'interception_start'"),
        (TOKEN_USAGES, token, "record_type = 'token_usage'"),
        (USER_PROMPTS, prompt, "record_type = 'prompt_usage'"),
        (TOOL_USAGES, tool, "record_type = 'tool_usage'"),
        (MODEL_THOUGHTS, thought, "record_type = 'model_thought'"),
        (LOG_ENDS, end, "record_type = 'interception_end'"),
        (LOG_LINEAGE, lineage,
         f"record_type = 'interception_start' AND NOT {_THREADS} AND COALESCE(\"correlating_tool_call_id\", '') <> ''"),
    ]
