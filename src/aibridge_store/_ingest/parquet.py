"""Parquet files with Coder's column names (typed or text columns)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .._schema import Table
from ..errors import ImportDataError
from .base import (
    Progress,
    Source,
    canonical_columns,
    file_size,
    numbered,
    numbered_schema,
    unique_columns,
)

BATCH_ROWS = 1 << 17


def read_parquet(path: Path, table: Table, progress: Progress | None = None) -> Source:
    try:
        file = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as e:
        raise ImportDataError(f"not a readable Parquet file: {e}", source=str(path)) from e
    schema = file.schema_arrow
    unique_columns(schema.names, str(path))
    rename = canonical_columns(table, schema.names)
    return Source(
        name=str(path),
        table=table,
        schema=numbered_schema(schema, rename),
        batches=numbered(_batches(file, list(rename), path, progress), rename),
        ignored_columns=[c for c in schema.names if c not in rename],
    )


def _batches(
    file: pq.ParquetFile, columns: list[str], path: Path, progress: Progress | None
) -> Iterator[pa.RecordBatch]:
    try:
        total_rows = max(1, file.metadata.num_rows)
        size = file_size(path)
        for batch in file.iter_batches(batch_size=BATCH_ROWS, columns=columns):
            if progress is not None:
                progress(size * batch.num_rows // total_rows)
            yield batch
    except (OSError, pa.ArrowException) as e:
        raise ImportDataError(f"cannot read Parquet data: {e}", source=str(path)) from e
