"""JSON lines of table rows (one object per line, Coder's column names as keys).

Values become text columns for the store to cast and check; JSON columns accept an object, an
array or JSON text. A line that is not a JSON object is an error naming its line number.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from .._schema import Kind, Table
from ..errors import ImportDataError
from .base import (
    ROW,
    Progress,
    Source,
    canonical_columns,
    open_input,
    read_blocks,
    read_json,
    split_lines,
    text_array,
)

BATCH_ROWS = 1 << 16


def read_jsonl(path: Path, table: Table, progress: Progress | None = None) -> Source:
    names = [c.name for c in table.columns]
    schema = pa.schema([(n, pa.string()) for n in names] + [(ROW, pa.int64())])
    return Source(
        name=str(path),
        table=table,
        schema=schema,
        batches=_batches(path, table, progress),
    )


def _lines(path: Path, progress: Progress | None) -> Iterator[bytes]:
    with open_input(path, progress) as stream:
        for lines in split_lines(read_blocks(stream), str(path)):
            yield from lines


def _batches(path: Path, table: Table, progress: Progress | None) -> Iterator[pa.RecordBatch]:
    names = [c.name for c in table.columns]
    kinds = {c.name: c.kind for c in table.columns}
    columns: dict[str, list[str | None]] = {n: [] for n in names}
    rows: list[int] = []
    for number, line in enumerate(_lines(path, progress), start=1):
        if not line.strip():
            continue
        record = _parse_line(line, path, number)
        mapping = canonical_columns(table, list(record))
        values = {new: record[old] for old, new in mapping.items()}
        for name in names:
            columns[name].append(_text(values.get(name), kinds[name], path, number, name))
        rows.append(number)
        if len(rows) >= BATCH_ROWS:
            yield _batch(columns, rows, path)
            columns = {n: [] for n in names}
            rows = []
    if rows:
        yield _batch(columns, rows, path)


def _parse_line(line: bytes, path: Path, number: int) -> dict[str, Any]:
    record = read_json(line, str(path), number)
    if not isinstance(record, dict):
        raise ImportDataError(
            f"expected a JSON object, got {type(record).__name__}", source=str(path), row=number
        )
    return record


def _text(value: Any, kind: Kind, path: Path, row: int, column: str) -> str | None:
    if value is None:
        return None
    if kind is Kind.JSON:
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if kind is Kind.BOOL and isinstance(value, bool):
        return "true" if value else "false"
    if kind is Kind.COUNT and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value
    raise ImportDataError(
        f"expected {_EXPECTED[kind]}, got {_json_type(value)}", source=str(path), row=row, column=column
    )


_EXPECTED = {
    Kind.UUID: "a UUID string",
    Kind.TEXT: "a string",
    Kind.TIMESTAMPTZ: "a timestamp string",
    Kind.COUNT: "a whole number",
    Kind.BOOL: "true or false",
    Kind.JSON: "JSON",
}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def _batch(columns: dict[str, list[str | None]], rows: list[int], path: Path) -> pa.RecordBatch:
    arrays = [text_array(values, str(path), rows, name) for name, values in columns.items()]
    return pa.RecordBatch.from_arrays([*arrays, pa.array(rows, pa.int64())], names=[*columns, ROW])
