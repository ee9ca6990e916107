"""Readers: every input format becomes :class:`Source` objects of Arrow record batches.

``plan_path`` decides what a file or directory holds (by file name), ``open_file`` reads it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import ImportDataError
from ..schema import TABLES, Table
from .apijson import read_api_json
from .arrow import read_arrow
from .base import ROW, Progress, Source, file_size, stem_of
from .jsonl import read_jsonl
from .parquet import read_parquet
from .pgcsv import read_csv
from .pgdump import read_dump

__all__ = ["ROW", "PlannedFile", "Source", "open_file", "plan_path", "read_arrow"]

_TABLE_FORMATS = {".csv": "csv", ".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_DUMP_SUFFIXES = {".sql", ".dump"}
_API_SUFFIXES = {".json"}


@dataclass(frozen=True, slots=True)
class PlannedFile:
    path: Path
    format: str
    table: Table | None  # None for a pg_dump file, which names its tables inside
    size: int


def _plan_file(path: Path) -> PlannedFile | None:
    stem, ext = stem_of(path)
    if ext in _DUMP_SUFFIXES:
        return PlannedFile(path, "pgdump", None, file_size(path))
    if ext in _API_SUFFIXES:
        return PlannedFile(path, "apijson", None, file_size(path))
    fmt = _TABLE_FORMATS.get(ext)
    table = TABLES.get(stem)
    if fmt is None or table is None:
        return None
    return PlannedFile(path, fmt, table, file_size(path))


def plan_path(path: Path) -> tuple[list[PlannedFile], list[Path]]:
    """The files to import below ``path`` in table order, and the files that were passed over."""
    if path.is_dir():
        candidates = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    elif path.exists():
        candidates = [path]
    else:
        raise ImportDataError("no such file or directory", source=str(path))
    planned: list[PlannedFile] = []
    skipped: list[Path] = []
    for candidate in candidates:
        entry = _plan_file(candidate)
        if entry is None:
            skipped.append(candidate)
        else:
            planned.append(entry)
    if not path.is_dir() and skipped:
        tables = ", ".join(TABLES)
        raise ImportDataError(
            "cannot tell what this file holds: name it after its table "
            f"({tables}) with .csv, .parquet, .jsonl or .ndjson (optionally .gz or .zst), "
            "or use .sql for a pg_dump file and .json for a saved API response",
            source=str(path),
        )
    order = list(TABLES)
    planned.sort(key=lambda e: (e.table is None, order.index(e.table.name) if e.table else 0))
    return planned, skipped


def open_file(
    entry: PlannedFile, progress: Progress | None = None, notes: list[str] | None = None
) -> Iterator[Source]:
    """The sources of one planned file (one, one per COPY block of a dump, or one per table an API
    response fills); readers add to ``notes`` what a file held that could not be imported."""
    if entry.format == "pgdump":
        yield from read_dump(entry.path, progress)
        return
    if entry.format == "apijson":
        sources, found = read_api_json(entry.path, progress)
        if notes is not None:
            notes.extend(found)
        yield from sources
        return
    assert entry.table is not None
    readers = {"csv": read_csv, "parquet": read_parquet, "jsonl": read_jsonl}
    yield readers[entry.format](entry.path, entry.table, progress)
