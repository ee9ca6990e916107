"""A report's result: an Arrow table with a name, and the ways out of it (Python rows, files)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from .export import write_table


@dataclass(frozen=True)
class Report:
    """Rows of a report as an Arrow table (pandas and polars read it without a copy:
    ``report.to_arrow().to_pandas()``, ``polars.from_arrow(report.to_arrow())``)."""

    name: str
    table: pa.Table

    @property
    def columns(self) -> list[str]:
        return list(self.table.column_names)

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def to_arrow(self) -> pa.Table:
        return self.table

    def to_pylist(self) -> list[dict[str, Any]]:
        """One dict per row, with Python values (datetimes in UTC)."""
        rows: list[dict[str, Any]] = self.table.to_pylist()
        return rows

    def write(self, path: str | os.PathLike[str], format: str | None = None) -> None:
        """Write the rows to Parquet, CSV or JSON lines (``format``, or the file's extension:
        ``.parquet``, ``.csv``, ``.jsonl``/``.ndjson``)."""
        write_table(self.table, path, format)
