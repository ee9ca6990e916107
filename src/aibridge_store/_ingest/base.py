"""What every reader hands to the store: a :class:`Source` of Arrow record batches."""

from __future__ import annotations

import io
import json
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import pyarrow as pa

from .._schema import Table
from ..errors import ImportDataError

T = TypeVar("T")

ROW = "__row"
"""Column added to every batch: the 1-based number of the row in its source."""

Progress = Callable[[int], None]
"""Called with a number of bytes (or rows, for sources without bytes) just consumed."""

COMPRESSIONS = {".gz": "gzip", ".zst": "zstd", ".zstd": "zstd"}


@dataclass
class Source:
    """One table's worth of rows from one place (a file, a COPY block, an Arrow stream).

    ``batches`` yields record batches whose columns carry the table's canonical column names
    (aliases already renamed, unknown columns dropped) plus :data:`ROW`.
    """

    name: str
    table: Table
    schema: pa.Schema
    batches: Iterator[pa.RecordBatch]
    ignored_columns: list[str] = field(default_factory=list)
    insert_only: bool = False
    """Rows only fill in keys not stored yet (users known from an API response's initiators)."""


def unique_columns(names: Sequence[str], source: str) -> None:
    """Refuse an input that names a column twice (which copy would be meant?)."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ImportDataError("this column appears more than once", source=source, column=name)
        seen.add(name)


def canonical_columns(table: Table, names: list[str]) -> dict[str, str]:
    """Map input column names to the table's names; unknown ones are left out.

    When an input has both a column and one of its aliases, the column itself wins.
    """
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        column = table.column_index.get(name)
        if column is not None and column.name == name:
            mapping[name] = name
            taken.add(name)
    for name in names:
        column = table.column_index.get(name)
        if column is not None and column.name != name and column.name not in taken:
            mapping[name] = column.name
            taken.add(column.name)
    return mapping


def numbered(
    batches: Iterator[pa.RecordBatch], rename: dict[str, str], first_row: int = 1
) -> Iterator[pa.RecordBatch]:
    """Rename columns and append the 1-based row number to each batch."""
    row = first_row
    for batch in batches:
        columns = [batch.column(name) for name in rename]
        rows = pa.array(range(row, row + batch.num_rows), pa.int64())
        row += batch.num_rows
        yield pa.RecordBatch.from_arrays([*columns, rows], names=[*rename.values(), ROW])


def numbered_schema(schema: pa.Schema, rename: dict[str, str]) -> pa.Schema:
    fields = [schema.field(name).with_name(new) for name, new in rename.items()]
    return pa.schema([*fields, pa.field(ROW, pa.int64())])


def text_array(values: list[str | None], source: str, rows: Sequence[int], column: str) -> pa.Array:
    """An Arrow string array of ``values`` (the text of row ``rows[i]``); a lone surrogate, which
    no UTF-8 text can hold (a JSON ``\\ud800`` escape without its pair), fails with its row."""
    try:
        return pa.array(values, pa.string())
    except UnicodeEncodeError:
        for row, value in zip(rows, values, strict=True):
            if value is not None and not _is_utf8(value):
                raise ImportDataError(
                    "holds a lone surrogate (a \\ud800-\\udfff escape without its pair), which is not text",
                    source=source, row=row, column=column,
                ) from None
        raise


def _is_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_json(text: str | bytes, source: str, row: int | None = None) -> Any:
    """One JSON document; malformed, or nested past what Python's parser can walk, it fails with
    its row."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ImportDataError("nests too deeply to read", source=source, row=row) from None
    except (ValueError, UnicodeDecodeError) as e:
        raise ImportDataError(f"not valid JSON: {e}", source=source, row=row) from e


MAX_LINE_BYTES = 128 << 20
"""The longest line a line-based reader accepts (JSON lines, dumps, logs): a bound on the memory
one line can take."""


def whole_lines(blocks: Iterable[bytes], source: str, max_line: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """Buffers that each end at a line end, in order: each block up to its last newline, with the
    unfinished line of the blocks before it (the end of the input ends the last line). Linear in
    the input however long its lines; a line longer than ``max_line`` raises ImportDataError."""
    tail: list[bytes] = []
    size = 0
    for block in blocks:
        cut = block.rfind(b"\n") + 1
        if cut:
            yield b"".join([*tail, block[:cut]]) if tail else block[:cut]
            tail, size = [], 0
        rest = block[cut:]
        if rest:
            tail.append(rest)
            size += len(rest)
            if size > max_line:
                raise ImportDataError(
                    f"a line is longer than {max_line >> 20} MiB, the longest line this reader takes", source=source
                )
    if tail:
        yield b"".join(tail) + b"\n"


def split_lines(blocks: Iterable[bytes], source: str, max_line: int = MAX_LINE_BYTES) -> Iterator[list[bytes]]:
    """Whole lines, without their newline, a list per buffer of :func:`whole_lines`."""
    for buffer in whole_lines(blocks, source, max_line):
        yield buffer[:-1].split(b"\n")


def read_blocks(stream: Any, size: int = 1 << 20) -> Iterator[bytes]:
    """The bytes of a stream, ``size`` at a time."""
    while block := stream.read(size):
        yield block


class _CountingFile(io.RawIOBase):
    """A read-only file that reports how many bytes were read from it."""

    def __init__(self, raw: io.BufferedReader, progress: Progress | None) -> None:
        self._raw = raw
        self._progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer)
        if n and self._progress is not None:
            self._progress(n)
        return n or 0

    def close(self) -> None:
        self._raw.close()
        super().close()


def compression_of(path: Path) -> str | None:
    return COMPRESSIONS.get(path.suffix.lower())


def open_input(path: Path, progress: Progress | None = None) -> pa.NativeFile:
    """Open a file for streaming reads, decompressing ``.gz`` and ``.zst`` on the fly."""
    compression = compression_of(path)
    if compression and not pa.Codec.is_available(compression):
        raise ImportDataError(f"this pyarrow build cannot read {compression} files", source=str(path))
    try:
        raw = open(path, "rb")
    except OSError as e:
        raise ImportDataError(f"cannot open: {e.strerror or e}", source=str(path)) from e
    counted = io.BufferedReader(_CountingFile(raw, progress), buffer_size=1 << 20)
    return pa.input_stream(pa.PythonFile(counted, mode="r"), compression=compression)


def stem_of(path: Path) -> tuple[str, str]:
    """``aibridge_interceptions.csv.gz`` → (``aibridge_interceptions``, ``.csv``)."""
    name = path.name
    if compression_of(path):
        name = name[: -len(path.suffix)]
    stem, dot, ext = name.rpartition(".")
    return (stem, "." + ext.lower()) if dot else (name, "")


def file_size(path: Path) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


_DONE = object()


def prefetched(items: Iterator[T], depth: int = 8) -> Iterator[T]:
    """``items``, produced by a background thread up to ``depth`` ahead, so that reading and
    parsing a file (Arrow and NumPy kernels, which release the GIL) overlaps with the store's
    work on what was read before. Exceptions are raised here, in order; closing this generator
    stops the thread."""
    ready: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as e:  # handed to the consumer
            put(e)

    worker = threading.Thread(target=produce, name="aibridge-store-reader", daemon=True)
    worker.start()
    try:
        while True:
            item = ready.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield cast(T, item)
    finally:
        stop.set()
        worker.join()


class PulledStream:
    """Record batches for DuckDB to pull, keeping the first exception raised while it pulls them:
    DuckDB itself only reports that the stream failed, so the caller re-raises the real cause
    (a bad row's :class:`ImportDataError`, a read error) with :meth:`reraise`."""

    def __init__(self, schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> None:
        self.schema = schema
        self.error: BaseException | None = None
        self._batches = batches

    def _pull(self) -> Iterator[pa.RecordBatch]:
        try:
            yield from self._batches
        except BaseException as e:
            self.error = e
            raise

    def reader(self) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(self.schema, self._pull())

    def reraise(self) -> None:
        """Raise what the stream raised, if anything (call it where DuckDB's error is caught)."""
        if self.error is not None:
            raise self.error from None
