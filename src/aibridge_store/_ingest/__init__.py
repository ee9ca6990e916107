"""Readers: every input format becomes :class:`Source` objects of Arrow record batches.

``plan_path`` decides what a file or directory holds: table exports by file name, coderd logs by
content. ``open_file`` reads a planned table file; ``open_log`` a log's candidate lines (the store
pulls the records out of them); ``open_stdin`` standard input, a log or a saved API response.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa

from .._schema import TABLES, Table
from ..errors import ImportDataError
from .apijson import api_json_sources, read_api_json, read_whole
from .arrow import read_arrow
from .base import ROW, Progress, Source, file_size, open_input, read_blocks, stem_of
from .jsonl import read_jsonl
from .logs import LogFile, Wrapper, read_log, sniff
from .parquet import read_parquet
from .pgcsv import read_csv
from .pgdump import read_dump

__all__ = [
    "ROW", "STDIN", "LogFile", "PlannedFile", "Progress", "Source", "open_file", "open_log", "open_stdin", "plan_path",
    "read_arrow",
]

STDIN = "-"
"""The path that means standard input."""
_HEAD_BYTES = 1 << 16
_BLOCK_BYTES = 4 << 20

_TABLE_FORMATS = {".csv": "csv", ".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_DUMP_SUFFIXES = {".sql", ".dump"}
_API_SUFFIXES = {".json"}


@dataclass(frozen=True, slots=True)
class PlannedFile:
    path: Path
    format: str
    table: Table | None  # None for a pg_dump file, which names its tables inside
    size: int
    wrapper: Wrapper | None = None  # for a log: how its lines are wrapped


def _plan_file(path: Path, in_folder: bool = False) -> PlannedFile | None:
    stem, ext = stem_of(path)
    if ext in _DUMP_SUFFIXES:
        return PlannedFile(path, "pgdump", None, file_size(path))
    fmt = _TABLE_FORMATS.get(ext)
    table = TABLES.get(stem)
    if fmt is not None and table is not None:
        return PlannedFile(path, fmt, table, file_size(path))
    wrapper = _sniff_file(path)
    if wrapper is not None:
        return PlannedFile(path, "log", None, file_size(path), wrapper)
    if ext in _API_SUFFIXES and (not in_folder or _looks_like_a_response(path)):
        return PlannedFile(path, "apijson", None, file_size(path))
    return None


_RESPONSE_KEYS = (b'"results"', b'"sessions"', b'"threads"', b'"initiator"')


def _looks_like_a_response(path: Path) -> bool:
    """A ``.json`` file in a folder is read as a saved API response only if it looks like one
    (a config file beside the exports is passed over, not an error)."""
    head = _head(path).lstrip()
    return head.startswith(b"[") or (head.startswith(b"{") and any(key in head for key in _RESPONSE_KEYS))


def _head(path: Path) -> bytes:
    """The first bytes of a file, decompressed; a damaged archive fails with its name."""
    try:
        with open_input(path) as stream:
            return bytes(stream.read(_HEAD_BYTES))
    except (OSError, pa.ArrowException) as e:
        raise ImportDataError(f"cannot read: {str(e).strip() or type(e).__name__}", source=str(path)) from e


def _sniff_file(path: Path) -> Wrapper | None:
    return sniff(_head(path), str(path))


def _passed_over(path: Path) -> str | None:
    """Why a directory entry is not read, or None to read it."""
    if path.name.startswith("."):
        return "a hidden file"
    if path.is_symlink():
        return "a symbolic link (import its target itself)"
    if path.is_dir():
        return "a folder (an import reads the files of the folder it is given, not its subfolders)"
    if not path.is_file():
        return "not a regular file (a device, socket or pipe)"
    return None


def plan_path(path: Path) -> tuple[list[PlannedFile], dict[Path, str]]:
    """The files to import below ``path`` in table order, and the entries passed over with why."""
    if str(path) == STDIN:
        return [PlannedFile(path, "stdin", None, 0)], {}
    if not path.exists():
        raise ImportDataError("no such file or directory", source=str(path))
    if not path.is_dir():
        entry = _plan_file(path)
        if entry is None:
            raise ImportDataError(_UNKNOWN, source=str(path))
        return [entry], {}
    planned: list[PlannedFile] = []
    skipped: dict[Path, str] = {}
    for candidate in sorted(path.iterdir()):
        reason = _passed_over(candidate)
        entry = None if reason else _plan_file(candidate, in_folder=True)
        if entry is not None:
            planned.append(entry)
        else:
            skipped[candidate] = reason or "neither a table export, a coderd log nor a saved API response"
    order = list(TABLES)
    planned.sort(key=lambda e: (e.table is None, order.index(e.table.name) if e.table else 0, e.format == "log"))
    return planned, skipped


_UNKNOWN = (
    "cannot tell what this file holds: it is not a coderd JSON log (run coderd with "
    "--log-json), so name it after its table "
    f"({', '.join(TABLES)}) with .csv, .parquet, .jsonl or .ndjson (optionally .gz or .zst), "
    "or use .sql for a pg_dump file and .json for a saved API response"
)


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


def open_log(entry: PlannedFile, progress: Progress | None = None) -> LogFile:
    """The candidate lines of a planned log file (read lazily; the file closes at the end)."""
    assert entry.wrapper is not None

    def blocks() -> Iterator[bytes]:
        with open_input(entry.path, progress) as stream:
            yield from read_blocks(stream, _BLOCK_BYTES)

    return read_log(str(entry.path), blocks(), entry.wrapper)


_GZIP, _ZSTD = b"\x1f\x8b", b"\x28\xb5\x2f\xfd"


def open_stdin(
    progress: Progress | None = None, stream: BinaryIO | None = None
) -> LogFile | tuple[list[Source], list[str]]:
    """Standard input: a coderd log (plain, gzip or zstd), or a saved API response."""
    raw = stream if stream is not None else sys.stdin.buffer
    name = "standard input"
    reader: Any = raw
    magic = raw.peek(4)[:4] if hasattr(raw, "peek") else b""
    if magic.startswith(_GZIP) or magic.startswith(_ZSTD):
        reader = pa.CompressedInputStream(pa.PythonFile(raw, mode="r"), "gzip" if magic.startswith(_GZIP) else "zstd")
    head = reader.read(_HEAD_BYTES)
    if progress is not None:
        progress(len(head))
    wrapper = sniff(head, name)

    def rest() -> Iterator[bytes]:
        for block in read_blocks(reader, _BLOCK_BYTES):
            if progress is not None:
                progress(len(block))
            yield block

    if wrapper is not None:
        return read_log(name, itertools.chain([head], rest()), wrapper)
    if head.lstrip()[:1] in (b"{", b"["):
        return api_json_sources(name, read_whole(itertools.chain([head], rest()), name))
    raise ImportDataError(
        "holds neither a coderd JSON log nor a saved API response (table exports need a file named after their table)",
        source=name,
    )
