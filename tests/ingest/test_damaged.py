"""Damaged and hostile inputs fail with our error, naming the file (and row and column where there
is one), and leave the store exactly as it was (issue 9)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aibridge_store import ImportDataError, StorageError, Store
from tests.helpers.rows import export_dir, interception, snapshot


def _csv_bytes(tmp_path: Path) -> bytes:
    return (export_dir(tmp_path / "plain", [interception(n) for n in range(1, 200)]) / "aibridge_interceptions.csv").read_bytes()


def _truncated_gzip(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "aibridge_interceptions.csv.gz"
    path.write_bytes(gzip.compress(_csv_bytes(tmp_path))[:-100])
    return path


def _corrupt_zstd(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "aibridge_interceptions.csv.zst"
    path.write_bytes(b"\x28\xb5\x2f\xfd" + b"\x00garbage" * 50)
    return path


def _corrupt_log_archive(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "coderd.log.gz"  # not named after a table: its content is sniffed
    path.write_bytes(b"\x1f\x8b\x08\x00" + b"garbage" * 20)
    return path


def _deep_jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "aibridge_interceptions.jsonl"
    row = json.dumps(interception(1, metadata=None))[:-1] + ', "metadata": ' + "[" * 100_000 + "]" * 100_000 + "}"
    path.write_text(row + "\n", encoding="utf-8")
    return path


def _lone_surrogate(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "aibridge_interceptions.jsonl"
    row = json.dumps(interception(1)).replace('"claude-opus-4-5"', '"claude\\ud800"')
    path.write_text(row + "\n", encoding="utf-8")
    return path


def _duplicate_parquet_column(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "aibridge_interceptions.parquet"
    table = pa.Table.from_pylist([interception(1)])
    pq.write_table(table.append_column("model", pa.array(["again"])), path)
    return path


def _json_in_a_long_string(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "page.json"
    path.write_text('{"count": 1, "results": "' + "x" * 1000 + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("make", "message", "row", "column"),
    [
        (_truncated_gzip, "cannot read: Truncated compressed stream", None, None),
        (_corrupt_zstd, "cannot read: ZSTD decompress failed", None, None),
        (_corrupt_log_archive, "cannot read: zlib inflate failed", None, None),
        (_deep_jsonl, "nests too deeply to read", 1, None),
        (_lone_surrogate, "holds a lone surrogate", 1, "model"),
        (_duplicate_parquet_column, "this column appears more than once", None, "model"),
        (_json_in_a_long_string, "not valid JSON", 1, None),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_damaged_files_fail_with_our_error_and_change_nothing(
    tmp_path: Path, make: Callable[[Path], Path], message: str, row: int | None, column: str | None
) -> None:
    (tmp_path / "in").mkdir()
    path = make(tmp_path)
    with Store.open() as store:
        store.import_path(export_dir(tmp_path / "ok", [interception(9)]))
        before = snapshot(store)
        with pytest.raises(ImportDataError) as caught:
            store.import_path(path)
        assert caught.value.source is not None and caught.value.source.startswith(str(path))
        assert message in str(caught.value)
        assert (caught.value.row, caught.value.column) == (row, column)
        assert snapshot(store) == before


def test_a_foreign_duckdb_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE orders (id INTEGER)")
    con.close()
    with pytest.raises(StorageError, match="not an aibridge_store database: it holds other tables"):
        Store.open(path)
    con = duckdb.connect(str(path))
    assert con.execute("SELECT table_name FROM information_schema.tables").fetchall() == [("orders",)]
    con.close()


@pytest.mark.parametrize("content", [b"not a database" * 1000, b""])
def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "junk.duckdb"
    path.write_bytes(content)
    with pytest.raises(StorageError, match="cannot open"):
        Store.open(path)


def test_a_memory_limit_too_small_to_open_is_our_error() -> None:
    with pytest.raises(StorageError, match="Out of Memory"):
        Store.open(memory_limit="1KB")
