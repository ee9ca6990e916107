"""PostgreSQL ``COPY ... TO ... (FORMAT csv, HEADER)`` exports (docs/imports.md, "Table exports").

NULL is an empty unquoted field and ``""`` an empty string; quoted fields may span lines. Every
column is read as text: the store casts and checks values, so a bad value is reported with its row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from .._schema import Table
from ..errors import ImportDataError
from .base import (
    Progress,
    Source,
    canonical_columns,
    numbered,
    numbered_schema,
    open_input,
    read_blocks,
    split_lines,
    unique_columns,
)

BLOCK_SIZE = 16 << 20
_BOM = b"\xef\xbb\xbf"


def read_header(path: Path) -> list[str]:
    with open_input(path) as stream:
        lines = next(split_lines(read_blocks(stream, 4096), str(path), max_line=1 << 20), [b""])
    line = lines[0].rstrip(b"\r").removeprefix(_BOM)  # a BOM some editors write; pyarrow skips it too
    if not line:
        raise ImportDataError("the file is empty: expected a header row", source=str(path))
    try:
        return next(csv.reader([line.decode("utf-8")]))
    except (UnicodeDecodeError, csv.Error) as e:
        raise ImportDataError(f"cannot read the header row: {e}", source=str(path), row=0) from e


def read_csv(path: Path, table: Table, progress: Progress | None = None, *, block_size: int = BLOCK_SIZE) -> Source:
    """A PostgreSQL CSV export of ``table``, streamed in blocks of ``block_size`` bytes."""
    header = read_header(path)
    unique_columns(header, str(path))
    rename = canonical_columns(table, header)
    include = list(rename)
    convert = pacsv.ConvertOptions(
        include_columns=include,
        column_types={name: pa.string() for name in include},
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        null_values=[""],
    )
    schema = numbered_schema(pa.schema([(name, pa.string()) for name in include]), rename)
    return Source(
        name=str(path),
        table=table,
        schema=schema,
        batches=numbered(_batches(path, convert, progress, block_size), rename),
        ignored_columns=[c for c in header if c not in rename],
    )


def _batches(
    path: Path, convert: pacsv.ConvertOptions, progress: Progress | None, block_size: int
) -> Iterator[pa.RecordBatch]:
    rows = 0
    try:
        reader = pacsv.open_csv(
            open_input(path, progress),
            read_options=pacsv.ReadOptions(block_size=block_size, use_threads=True),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=convert,
        )
        for batch in reader:
            rows += batch.num_rows
            yield batch
    except (pa.ArrowInvalid, UnicodeDecodeError) as e:
        row, problem = _locate(path, rows)
        raise ImportDataError(problem or f"malformed CSV: {e}", source=str(path), row=row) from e


def _locate(path: Path, after: int) -> tuple[int | None, str | None]:
    """The data row (1-based) that pyarrow could not parse, found again with Python's CSV reader
    (pyarrow reports neither row nor line), and what is wrong with it."""
    with open_input(path) as stream, io.TextIOWrapper(stream, encoding="utf-8-sig", newline="") as text:
        records = csv.reader(text, strict=True)
        try:
            width = len(next(records))
            for number, record in enumerate(records, start=1):
                if number > after and len(record) != width:
                    return number, f"malformed CSV: expected {width} fields, got {len(record)}"
        except csv.Error as e:
            return records.line_num - 1, f"malformed CSV: {e}"
        except UnicodeDecodeError as e:
            return None, f"not UTF-8 text: {e}"
    return None, None
