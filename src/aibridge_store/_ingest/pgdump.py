"""``pg_dump --data-only`` plain dumps and COPY text format blocks (docs/imports.md, "Table exports").

A dump holds several ``COPY public.<table> (<columns>) FROM stdin;`` blocks, each ended by ``\\.``.
Blocks of tables we do not keep are skipped; ``\\restrict`` lines and SQL around the blocks are
ignored. Fields are tab-separated, ``\\N`` is NULL and backslash escapes are decoded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from .._schema import TABLES
from ..errors import ImportDataError
from .base import ROW, Progress, Source, canonical_columns, open_input, read_blocks, split_lines

BATCH_ROWS = 1 << 16
_COPY = re.compile(
    r'^COPY\s+(?:"?[\w$]+"?\.)?"?(?P<table>[\w$]+)"?\s*\((?P<columns>[^)]*)\)\s+FROM\s+stdin;\s*$',
    re.IGNORECASE,
)
_ESCAPE = re.compile(r"\\(?:[0-7]{1,3}|x[0-9a-fA-F]{1,2}|.)")
_SIMPLE = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _unescape_one(match: re.Match[str]) -> str:
    text = match.group(0)[1:]
    if text in _SIMPLE:
        return _SIMPLE[text]
    if text[0] in "01234567":
        return chr(int(text, 8))
    if text[0] == "x" and len(text) > 1:
        return chr(int(text[1:], 16))
    return text


def unescape(field: str) -> str | None:
    if field == "\\N":
        return None
    return _ESCAPE.sub(_unescape_one, field) if "\\" in field else field


def read_dump(path: Path, progress: Progress | None = None) -> Iterator[Source]:
    """Yield one :class:`Source` per COPY block of a kept table, in file order.

    Each source must be consumed before the next one is requested (the file is read once).
    """
    lines = _lines(path, progress)
    line_number = 0
    for line_number, line in lines:
        match = _COPY.match(line)
        if match is None:
            continue
        table = TABLES.get(match.group("table"))
        names = [c.strip().strip('"') for c in match.group("columns").split(",")]
        if table is None:
            _skip_block(lines)
            continue
        rename = canonical_columns(table, names)
        schema = pa.schema([(new, pa.string()) for new in rename.values()] + [(ROW, pa.int64())])
        name = f"{path} (COPY {table.name}, line {line_number})"
        yield Source(
            name=name,
            table=table,
            schema=schema,
            batches=_block(lines, names, rename, name),
            ignored_columns=[c for c in names if c not in rename],
        )


def _lines(path: Path, progress: Progress | None) -> Iterator[tuple[int, str]]:
    with open_input(path, progress) as stream:
        number = 0
        for parts in split_lines(read_blocks(stream), str(path)):
            for part in parts:
                number += 1
                yield number, _decode(part, path, number)


def _decode(raw: bytes, path: Path, number: int) -> str:
    try:
        return raw.decode("utf-8").rstrip("\r")
    except UnicodeDecodeError as e:
        raise ImportDataError(f"not UTF-8 text: {e}", source=str(path), row=number) from e


def _skip_block(lines: Iterator[tuple[int, str]]) -> None:
    for _, line in lines:
        if line == "\\.":
            return


def _block(
    lines: Iterator[tuple[int, str]], names: list[str], rename: dict[str, str], source: str
) -> Iterator[pa.RecordBatch]:
    positions = [names.index(old) for old in rename]
    columns: list[list[str | None]] = [[] for _ in positions]
    rows: list[int] = []
    row = 0
    for _, line in lines:
        if line == "\\.":
            break
        if line.startswith("\\restrict ") or line.startswith("\\unrestrict "):
            continue
        row += 1
        fields = line.split("\t")
        if len(fields) != len(names):
            raise ImportDataError(
                f"expected {len(names)} tab-separated fields, found {len(fields)}",
                source=source,
                row=row,
            )
        for values, position in zip(columns, positions, strict=True):
            values.append(unescape(fields[position]))
        rows.append(row)
        if len(rows) >= BATCH_ROWS:
            yield _batch(columns, rows, rename)
            columns = [[] for _ in positions]
            rows = []
    else:
        raise ImportDataError("the COPY block has no end marker (\\.)", source=source, row=row)
    if rows:
        yield _batch(columns, rows, rename)


def _batch(columns: list[list[str | None]], rows: list[int], rename: dict[str, str]) -> pa.RecordBatch:
    arrays = [pa.array(values, pa.string()) for values in columns]
    return pa.RecordBatch.from_arrays(
        [*arrays, pa.array(rows, pa.int64())], names=[*rename.values(), ROW]
    )
