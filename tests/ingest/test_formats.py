"""pg_dump text, Parquet, JSON lines and compressed files, all to the same store."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aibridge_store import ImportDataError, Store
from tests.helpers.rows import (
    INTERCEPTION_COLUMNS,
    export_dir,
    interception,
    prompt,
    snapshot,
    token,
    uid,
    users_rows,
)


def _expected(tmp_path: Path) -> dict[str, list[str]]:
    """The store after importing the reference CSV export."""
    with Store.open() as reference:
        reference.import_path(export_dir(tmp_path / "csv", _rows(), tokens=[token(1, 1)], prompts=[prompt(1, 1, "a\tb\\c\nd")]))
        return snapshot(reference)


def _rows() -> list[dict[str, object]]:
    return [interception(1, metadata='{"k": "v"}'), interception(2, client=None, ended_at=None),
            interception(3, thread_root_id=str(uid(1)), thread_parent_id=str(uid(1)), credential_hint="")]


def _pg_text(value: object) -> str:
    if value is None:
        return "\\N"
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def test_pg_dump_data_only(tmp_path: Path) -> None:
    from tests.helpers.rows import PROMPT_COLUMNS, TOKEN_COLUMNS, USER_COLUMNS

    def block(table: str, columns: list[str], rows: list[dict[str, object]]) -> str:
        lines = [f"COPY public.{table} ({', '.join(columns)}) FROM stdin;"]
        lines += ["\t".join(_pg_text(row.get(c)) for c in columns) for row in rows]
        return "\n".join([*lines, "\\.", ""])

    dump = "\n".join([
        "--\n-- PostgreSQL database dump\n--\n\\restrict abc123\nSET statement_timeout = 0;",
        block("workspaces", ["id", "name"], [{"id": 1, "name": "skip me"}]),
        block("aibridge_interceptions", INTERCEPTION_COLUMNS, _rows()),
        block("aibridge_token_usages", TOKEN_COLUMNS, [token(1, 1)]),
        block("aibridge_user_prompts", PROMPT_COLUMNS, [prompt(1, 1, "a\tb\\c\nd")]),
        block("users", USER_COLUMNS, users_rows()),
        "\\unrestrict abc123\n",
    ])
    path = tmp_path / "coder.sql"
    path.write_text(dump)
    with Store.open() as store:
        summary = store.import_path(path)
        assert summary.tables["aibridge_interceptions"].inserted == 3
        assert snapshot(store) == _expected(tmp_path)


def test_pg_dump_block_without_end_marker(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "dump.sql"
    path.write_text(f"COPY public.users (id, username) FROM stdin;\n{uid(1)}\tbob\n")
    with pytest.raises(ImportDataError, match="no end marker"):
        store.import_path(path)


def test_pg_dump_row_with_wrong_field_count(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "dump.sql"
    path.write_text(f"COPY public.users (id, username) FROM stdin;\n{uid(1)}\tbob\n{uid(2)}\n\\.\n")
    with pytest.raises(ImportDataError) as caught:
        store.import_path(path)
    assert caught.value.row == 2 and "expected 2 tab-separated fields" in caught.value.reason


def _typed_parquet(tmp_path: Path) -> Path:
    """Parquet written by DuckDB from typed tables: UUID and JSON extension types, real timestamps."""
    out = tmp_path / "parquet"
    out.mkdir()
    with Store.open() as source:
        source.import_path(export_dir(tmp_path / "src", _rows(), tokens=[token(1, 1)], prompts=[prompt(1, 1, "a\tb\\c\nd")]))
        for table in ("aibridge_interceptions", "aibridge_token_usages", "aibridge_user_prompts", "users"):
            source.connection.execute(f"COPY (SELECT * FROM {table}) TO '{out / table}.parquet' (FORMAT parquet)")
    return out


def test_typed_parquet(tmp_path: Path) -> None:
    out = _typed_parquet(tmp_path)
    with Store.open() as store:
        store.import_path(out)
        assert snapshot(store) == _expected(tmp_path)


def test_parquet_with_text_columns_and_binary_uuids(tmp_path: Path) -> None:
    rows = _rows()
    table = pa.Table.from_pylist(rows)
    ids = pa.array([uid(int(str(r["id"])[-12:])).bytes for r in rows], pa.binary(16))
    table = table.set_column(0, "id", ids)
    out = tmp_path / "p"
    out.mkdir()
    pq.write_table(table, out / "aibridge_interceptions.parquet")
    with Store.open() as store:
        store.import_path(out)
        got = [str(r[0]) for r in store.connection.execute("SELECT id FROM aibridge_interceptions ORDER BY id").fetchall()]
    assert got == [str(uid(1)), str(uid(2)), str(uid(3))]


def test_jsonl_rows(tmp_path: Path) -> None:
    out = tmp_path / "jsonl"
    out.mkdir()
    with (out / "aibridge_interceptions.jsonl").open("w") as f:
        for row in _rows():
            row = dict(row, metadata=json.loads(str(row["metadata"])), extra_field={"ignored": True})
            f.write(json.dumps(row) + "\n")
        f.write("\n")
    with (out / "aibridge_token_usages.ndjson").open("w") as f:
        row = token(1, 1)
        f.write(json.dumps(dict(row, metadata=json.loads(row["metadata"]))) + "\n")
    with (out / "aibridge_user_prompts.jsonl").open("w") as f:
        f.write(json.dumps(prompt(1, 1, "a\tb\\c\nd")) + "\n")
    with (out / "users.jsonl").open("w") as f:
        for row in users_rows():
            f.write(json.dumps(dict(row, deleted=row["deleted"] == "t")) + "\n")
    with Store.open() as store:
        store.import_path(out)
        assert snapshot(store) == _expected(tmp_path)


@pytest.mark.parametrize(
    ("line", "column", "reason"),
    [
        ('{"id": 5}', "id", "expected a UUID string, got a number"),
        ("[1, 2]", None, "expected a JSON object, got list"),
        ("{nope", None, "not valid JSON"),
    ],
)
def test_jsonl_errors_name_the_line(tmp_path: Path, store: Store, line: str, column: str | None, reason: str) -> None:
    path = tmp_path / "aibridge_interceptions.jsonl"
    good = json.dumps(interception(1))
    path.write_text(f"{good}\n\n{line}\n")
    with pytest.raises(ImportDataError) as caught:
        store.import_path(path)
    assert caught.value.row == 3 and caught.value.column == column
    assert caught.value.reason.startswith(reason)
    assert store.connection.execute("SELECT count(*) FROM aibridge_interceptions").fetchone() == (0,)


def _gzip(path: Path, target: Path) -> None:
    target.write_bytes(gzip.compress(path.read_bytes()))


def _zstd(path: Path, target: Path) -> None:
    with pa.CompressedOutputStream(str(target), "zstd") as out:
        out.write(path.read_bytes())


@pytest.mark.parametrize(("suffix", "compress"), [(".gz", _gzip), (".zst", _zstd)])
def test_compressed_files(tmp_path: Path, suffix: str, compress: Callable[[Path, Path], None]) -> None:
    plain = export_dir(tmp_path / "plain", _rows(), tokens=[token(1, 1)], prompts=[prompt(1, 1, "a\tb\\c\nd")])
    packed = tmp_path / "packed"
    packed.mkdir()
    for path in plain.iterdir():
        compress(path, packed / (path.name + suffix))
    with Store.open() as store:
        store.import_path(packed)
        assert snapshot(store) == _expected(tmp_path)


def test_a_large_csv_streams_in_many_batches(tmp_path: Path, store: Store) -> None:
    from aibridge_store._ingest.pgcsv import read_csv
    from aibridge_store._schema import INTERCEPTIONS

    rows = [interception(n, model=f"m{n}") for n in range(1, 401)]
    export_dir(tmp_path, rows)
    source = read_csv(tmp_path / "aibridge_interceptions.csv", INTERCEPTIONS, block_size=4096)
    batches = [batch.num_rows for batch in source.batches]
    assert len(batches) > 10 and sum(batches) == 400
    store.import_path(tmp_path / "aibridge_interceptions.csv")
    assert store.connection.execute("SELECT count(DISTINCT model) FROM aibridge_interceptions").fetchone() == (400,)
