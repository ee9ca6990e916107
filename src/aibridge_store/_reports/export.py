"""Rows → files: Parquet, CSV or JSON lines, written batch by batch.

JSON lines hold one object per row with Coder's conventions for values: timestamps as RFC 3339 in
UTC (Go's trimmed fraction), UUIDs as text, nested lists and structs as JSON, and decimals (costs)
as JSON numbers written with every digit (read them with ``json.loads(line, parse_float=Decimal)``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from .._gocompat import go_time_text
from ..errors import ReportError

FORMATS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
"""File extension → export format."""


def export_format(path: str | os.PathLike[str], format: str | None) -> str:
    """The format named, or the one the file's extension says."""
    if format is not None:
        if format not in set(FORMATS.values()):
            raise ReportError(f"unknown export format {format!r}; expected parquet, csv or jsonl")
        return format
    found = FORMATS.get(Path(path).suffix.lower())
    if found is None:
        raise ReportError(f"cannot tell the format of {os.fspath(path)!r} from its extension: "
                          "use .parquet, .csv or .jsonl, or name the format")
    return found


def write_table(table: pa.Table, path: str | os.PathLike[str], format: str | None = None) -> None:
    write_batches(table.schema, table.to_batches(), path, format)


def write_rows(rows: Any, path: str | os.PathLike[str], format: str | None = None) -> None:
    """Write rows to Parquet, CSV or JSON lines (``format``, or the extension of ``path``), batch by
    batch: an Arrow table or record batch reader, a DuckDB relation (``store.sql(...)``), a report
    or a listing page (anything with ``to_arrow()``)."""
    if hasattr(rows, "to_arrow") and not hasattr(rows, "__arrow_c_stream__"):
        rows = rows.to_arrow()
    if isinstance(rows, pa.Table):
        write_table(rows, path, format)
        return
    reader = rows if isinstance(rows, pa.RecordBatchReader) else pa.RecordBatchReader.from_stream(rows)
    write_batches(reader.schema, reader, path, format)


def write_batches(
    schema: pa.Schema, batches: Iterable[pa.RecordBatch], path: str | os.PathLike[str], format: str | None = None
) -> None:
    """Write record batches to ``path`` as they come; the file appears whole or not at all."""
    kind = export_format(path, format)
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    try:
        if kind == "parquet":
            with pq.ParquetWriter(partial, schema) as writer:
                for batch in batches:
                    writer.write_batch(batch)
        elif kind == "csv":
            with pa_csv.CSVWriter(partial, _csv_schema(schema)) as csv_writer:
                for batch in batches:
                    csv_writer.write_batch(_csv_batch(batch))
        else:
            with partial.open("w", encoding="utf-8") as out:
                for batch in batches:
                    for row in batch.to_pylist():
                        out.write(_json_line(row))
        os.replace(partial, target)
    except OSError as e:
        raise ReportError(f"cannot write {os.fspath(path)!r}: {e.strerror or e}") from e
    finally:
        partial.unlink(missing_ok=True)


def write_text(text: str, path: str | os.PathLike[str]) -> Path:
    """Write a text file (UTF-8) whole or not at all; returns its path."""
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, target)
    except OSError as e:
        raise ReportError(f"cannot write {os.fspath(path)!r}: {e.strerror or e}") from e
    finally:
        partial.unlink(missing_ok=True)
    return target


def _csv_type(kind: pa.DataType) -> pa.DataType:
    """CSV holds scalars: nested values become JSON text."""
    return pa.string() if pa.types.is_nested(kind) else kind


def _csv_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, _csv_type(f.type)) for f in schema])


def _csv_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    columns = []
    for field, column in zip(batch.schema, batch.columns, strict=True):
        if pa.types.is_nested(field.type):
            texts = [None if v is None else json.dumps(_json_value(v), ensure_ascii=False) for v in column.to_pylist()]
            column = pa.array(texts, pa.string())
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=_csv_schema(batch.schema))


_DECIMAL = "\x00decimal:"
"""Marks a decimal's text inside the JSON until it is written as a number (no stored text holds NUL)."""
_MARKED = re.compile(r'"\\u0000decimal:(-?[0-9.]+)"')


def _json_line(row: dict[str, Any]) -> str:
    text = json.dumps(_json_row(row), ensure_ascii=False, separators=(",", ":"))
    return _MARKED.sub(r"\1", text) + "\n"


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _DECIMAL + format(value, "f")
    if isinstance(value, datetime):
        return go_time_text(value)
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)  # UUIDs, decimals


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: _json_value(v) for k, v in row.items()}
