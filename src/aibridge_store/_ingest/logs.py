"""coderd log files holding structured interception records (docs/imports.md, "The structured log").

A log is recognised by its content, not its name. :func:`read_log` turns a file, or standard
input, into Arrow batches of *candidate lines*: the slog JSON text of every line that may be an
interception record, with its line number. Lines wrapped by Docker's json-file driver, Kubernetes
CRI files, ``kubectl logs --timestamps`` or a Loki JSON-lines export are unwrapped first, and
partial chunks are joined. Every other line is counted and passed over. The record fields are
pulled out of the JSON text by the store (:mod:`aibridge_store._load.logrecords`), which is much
faster than decoding four million lines in Python.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ImportDataError
from .base import ROW, split_lines, whole_lines

LINE = "line"
MARKER = b"interception log"
BATCH_LINES = 1 << 16
SNIFF_LINES = 50
_POOL = pa.system_memory_pool()
"""For the candidate lines, which a slice keeps until it is merged: on the machine measured,
pyarrow's default pool (mimalloc) took three times as long as the system allocator to grow to a
few hundred MB (2.5 s against 0.8 s for 380 MB of lines)."""


class Wrapper(Enum):
    """How each log line is wrapped in the file."""

    PLAIN = "slog JSON"
    DOCKER = "Docker json-file"
    CRI = "Kubernetes CRI"
    TIMESTAMPED = "kubectl --timestamps"
    LOKI = "Loki JSON lines"


UNSUPPORTED_HUMAN = (
    "unsupported format: this is coderd's human-readable log, which loses data; "
    "run coderd with --log-json <path> (CODER_LOGGING_JSON) and import that file"
)

_CRI = re.compile(rb"^(\S+) (stdout|stderr) ([PF]) ?(.*)$", re.DOTALL)
_TIMESTAMP = re.compile(rb"^\d{4}-\d{2}-\d{2}T[0-9:.]+(Z|[+-]\d{2}:?\d{2}) ")
_PROMETHEUS_SAMPLE = re.compile(rb"^coder_(aibridged|ai_gateway)_\w+(\{[^}]*\})? \S+")
_HUMAN = re.compile(rb"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)? \[(debu|info|warn|erro|crit|fata)")


def sniff(head: bytes, name: str) -> Wrapper | None:
    """What kind of log ``head`` (the first bytes of a file) starts, or None for no log at all.

    Raises :class:`ImportDataError` for coderd's human-readable format."""
    lines = [line for line in head.split(b"\n")[:SNIFF_LINES] if line.strip()]
    _refuse_telemetry(head, lines, name)
    for line in lines[:-1] if len(lines) > 1 else lines:
        line = line.strip()
        if _HUMAN.match(line):
            raise ImportDataError(UNSUPPORTED_HUMAN, source=name)
        cri = _CRI.match(line)
        if cri and _TIMESTAMP.match(cri.group(1) + b" "):
            return Wrapper.CRI
        if _TIMESTAMP.match(line):
            rest = line.split(b" ", 1)[1]
            if _slog_envelope(_json_object(rest)):
                return Wrapper.TIMESTAMPED
            continue
        record = _json_object(line)
        if record is None:
            continue
        if isinstance(record.get("log"), str) and ("stream" in record or "time" in record):
            return Wrapper.DOCKER
        if isinstance(record.get("line"), str) and ("labels" in record or "timestamp" in record):
            return Wrapper.LOKI
        if _slog_envelope(record):
            return Wrapper.PLAIN
    if len(lines) == 1:
        return _sniff_truncated(lines[0].lstrip())
    return None


def _sniff_truncated(line: bytes) -> Wrapper | None:
    """The head held only part of the first line (a very long prompt): judge by how it starts."""
    if line.startswith((b'{"ts":"', b'{"logging.googleapis.com/severity":')):
        return Wrapper.PLAIN
    if line.startswith(b'{"log":"'):
        return Wrapper.DOCKER
    return None


NOT_RECORDS = (
    "{what} carry aggregates, not AI Bridge records; import coderd's structured "
    "log (--log-json), a database export, or the database itself instead"
)


def _refuse_telemetry(head: bytes, lines: list[bytes], name: str) -> None:
    """Prometheus scrapes and OpenTelemetry exports look like something to import; say why not."""
    first = lines[0].lstrip() if lines else b""
    if first.startswith((b"# HELP ", b"# TYPE ")) or _PROMETHEUS_SAMPLE.match(first):
        raise ImportDataError(NOT_RECORDS.format(what="Prometheus metrics"), source=name)
    if first.startswith(b"{") and any(key in head[:4096] for key in (b'"resourceSpans"', b'"resourceMetrics"')):
        raise ImportDataError(NOT_RECORDS.format(what="OpenTelemetry traces and metrics"), source=name)


def _json_object(line: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _slog_envelope(record: dict[str, Any] | None) -> bool:
    if record is None:
        return False
    message = record.get("msg", record.get("message"))
    stamped = any(k in record for k in ("ts", "level", "severity", "time", "timestampSeconds"))
    return isinstance(message, str) and stamped


@dataclass
class LogStats:
    """What a log held besides its records (filled in while it is read)."""

    wrapper: Wrapper
    lines: int = 0
    """Log lines read (a line a transport split into chunks counts once)."""
    candidates: int = 0


@dataclass
class LogFile:
    """A log's candidate lines: batches of (:data:`ROW`, :data:`LINE`)."""

    name: str
    batches: Iterator[pa.RecordBatch]
    stats: LogStats
    schema: pa.Schema = field(default_factory=lambda: pa.schema([(ROW, pa.int64()), (LINE, pa.large_string())]))


def read_log(name: str, blocks: Iterator[bytes], wrapper: Wrapper) -> LogFile:
    """The candidate lines of a log whose bytes arrive as ``blocks``."""
    stats = LogStats(wrapper)
    if wrapper in (Wrapper.PLAIN, Wrapper.TIMESTAMPED):
        return LogFile(name, _vector_batches(name, blocks, stats), stats)
    return LogFile(name, _batches(name, split_lines(blocks, name), _Joiner(_UNWRAP[wrapper]), stats), stats)


def _vector_batches(name: str, blocks: Iterator[bytes], stats: LogStats) -> Iterator[pa.RecordBatch]:
    """Lines that are not wrapped: split, filtered and cut with Arrow kernels, no Python loop
    per line (a 4M-line log would spend most of its import there). A line keeps its newline,
    which JSON ignores."""
    for buffer in whole_lines(blocks, name):
        ends = np.flatnonzero(np.frombuffer(buffer, np.uint8) == 10)
        offsets = np.concatenate(([0], ends + 1)).astype(np.int64)
        lines = pa.LargeBinaryArray.from_buffers(
            pa.large_binary(), len(ends), [None, pa.py_buffer(offsets), pa.py_buffer(buffer)]
        )
        first = stats.lines + 1
        stats.lines += len(lines)
        chosen = pc.match_substring(lines, MARKER.decode(), memory_pool=_POOL)
        texts = pc.filter(lines, chosen, memory_pool=_POOL)
        if not len(texts):
            continue
        if stats.wrapper is Wrapper.TIMESTAMPED:
            texts = pc.replace_substring_regex(texts, r"^\S+ ", "", max_replacements=1, memory_pool=_POOL)
        rows = pc.add(pc.indices_nonzero(chosen, memory_pool=_POOL), pa.scalar(first, pa.uint64()), memory_pool=_POOL)
        stats.candidates += len(texts)
        yield pa.RecordBatch.from_arrays(
            [pc.cast(rows, pa.int64(), memory_pool=_POOL), _utf8(name, texts, rows)], names=[ROW, LINE]
        )


def _utf8(name: str, texts: pa.Array, rows: pa.Array) -> pa.Array:
    try:
        return pc.cast(texts, pa.large_string(), memory_pool=_POOL)
    except pa.ArrowInvalid:
        for row, text in zip(rows.to_pylist(), texts.to_pylist(), strict=True):
            try:
                text.decode("utf-8")
            except UnicodeDecodeError as e:
                raise ImportDataError(f"not valid UTF-8: {e.reason}", source=name, row=row) from None
        raise


def _batches(name: str, chunks: Iterator[list[bytes]], join: _Joiner, stats: LogStats) -> Iterator[pa.RecordBatch]:
    rows: list[int] = []
    texts: list[bytes] = []
    for lines in chunks:
        first = stats.lines + 1
        stats.lines += len(lines)
        join(lines, first, rows, texts)
        if len(rows) >= BATCH_LINES:
            yield _batch(name, rows, texts, stats)
            rows, texts = [], []
    join.flush(rows, texts)
    stats.lines -= join.joined  # count log lines, not the transport's chunks
    if rows:
        yield _batch(name, rows, texts, stats)


def _batch(name: str, rows: list[int], texts: list[bytes], stats: LogStats) -> pa.RecordBatch:
    stats.candidates += len(rows)
    numbers = pa.array(rows, pa.int64())
    return pa.RecordBatch.from_arrays([numbers, _utf8(name, pa.array(texts, pa.binary()), numbers)], names=[ROW, LINE])


class _Joiner:
    """Unwraps lines whose transport wraps them (Docker, CRI, Loki), joining the chunks of lines
    it split; the joined line keeps the number of its first chunk."""

    def __init__(self, unwrap: Any) -> None:
        self._unwrap = unwrap
        self._start = 0
        self._parts: list[bytes] = []
        self.joined = 0

    def __call__(self, lines: list[bytes], first: int, rows: list[int], texts: list[bytes]) -> None:
        for i, line in enumerate(lines):
            if not self._parts and MARKER not in line and not self._partial(line):
                continue
            unwrapped = self._unwrap(line)
            if unwrapped is None:
                continue
            text, complete = unwrapped
            if not self._parts:
                self._start = first + i
            else:
                self.joined += 1
            self._parts.append(text)
            if complete:
                self._emit(rows, texts)

    @staticmethod
    def _partial(line: bytes) -> bool:
        """Cheaply: may this line be the first chunk of a longer one? (Docker: its text does not
        end with an escaped newline; CRI: its tag is P.) A record's envelope holds the marker, so
        this only matters for chunks smaller than an envelope."""
        return b" P " in line[:80] if not line.startswith(b"{") else b'\\n"' not in line

    def _emit(self, rows: list[int], texts: list[bytes]) -> None:
        text = b"".join(self._parts).rstrip(b"\r\n")
        self._parts = []
        if MARKER in text:
            rows.append(self._start)
            texts.append(text)

    def flush(self, rows: list[int], texts: list[bytes]) -> None:
        if self._parts:
            self._emit(rows, texts)


def _unwrap_docker(line: bytes) -> tuple[bytes, bool] | None:
    record = _json_object(line)
    if record is None or not isinstance(record.get("log"), str):
        return None
    text: str = record["log"]
    return text.encode(), text.endswith("\n")


def _unwrap_loki(line: bytes) -> tuple[bytes, bool] | None:
    record = _json_object(line)
    if record is None or not isinstance(record.get("line"), str):
        return None
    return record["line"].encode(), True


def _unwrap_cri(line: bytes) -> tuple[bytes, bool] | None:
    match = _CRI.match(line)
    if match is None:
        return None
    return match.group(4), match.group(3) == b"F"


_UNWRAP = {Wrapper.DOCKER: _unwrap_docker, Wrapper.CRI: _unwrap_cri, Wrapper.LOKI: _unwrap_loki}
