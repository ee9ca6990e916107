"""Arrow data handed over by a program: tables, record batch readers, Arrow C streams."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from .._schema import Table
from ..errors import ImportDataError
from .base import Source, canonical_columns, numbered, numbered_schema, unique_columns


def arrow_reader(data: Any) -> pa.RecordBatchReader:
    if isinstance(data, pa.RecordBatchReader):
        return data
    if isinstance(data, pa.Table):
        return data.to_reader()
    if isinstance(data, pa.RecordBatch):
        return pa.RecordBatchReader.from_batches(data.schema, [data])
    if hasattr(data, "__arrow_c_stream__"):
        return pa.RecordBatchReader.from_stream(data)
    raise ImportDataError(
        f"expected a pyarrow.Table, a RecordBatchReader or an object with __arrow_c_stream__, "
        f"got {type(data).__name__}",
        source="arrow data",
    )


def read_arrow(data: Any, table: Table, name: str = "arrow data") -> Source:
    reader = arrow_reader(data)
    schema = reader.schema
    unique_columns(schema.names, name)
    rename = canonical_columns(table, schema.names)
    return Source(
        name=name,
        table=table,
        schema=numbered_schema(schema, rename),
        batches=numbered(iter(reader), rename),
        ignored_columns=[c for c in schema.names if c not in rename],
    )
