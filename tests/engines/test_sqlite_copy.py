"""``Store.copy_to_sqlite``: the whole store in a SQLite file that plain ``sqlite3`` reads, with the
same rows, the documented views and indexes, written whole or not at all."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from aibridge_store import StorageError, Store
from aibridge_store._engines import sqlite as engine
from aibridge_store.cli import main
from tests.helpers.generated import generated_store


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_store(tmp_path_factory.mktemp("sqlite-copy"), 400, seed=11)


@pytest.fixture(scope="module")
def copied(db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, int]]]:
    out = tmp_path_factory.mktemp("out") / "archive.sqlite"
    with Store.open(db, read_only=True) as store:
        written = store.copy_to_sqlite(out)
    yield out, written


def _as_sqlite(value: Any) -> Any:
    """A DuckDB value as the SQLite file should hold it."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, uuid.UUID | date):
        return str(value)
    if isinstance(value, list):
        return json.dumps(value, separators=(",", ":"))
    return value


def test_every_row_of_every_table_is_copied_as_sqlite_tools_read_it(db: Path, copied: tuple[Path, dict[str, int]]) -> None:
    out, written = copied
    con = duckdb.connect(str(db), read_only=True)
    lite = sqlite3.connect(out)
    for name, columns in engine.tables().items():
        names = ", ".join(f'"{column}"' for column, _ in columns)
        expected = sorted((tuple(map(_as_sqlite, row)) for row in con.execute(f'SELECT {names} FROM "{name}"').fetchall()),
                          key=repr)
        got = sorted(lite.execute(f'SELECT {names} FROM "{name}"').fetchall(), key=repr)
        assert got == expected, name
        assert written[name] == len(expected)
    assert written["aibridge_interceptions"] == 400 and written["aibridge_token_usages"] > 400


def test_instants_sort_as_text_and_durations_are_exact(db: Path, copied: tuple[Path, dict[str, int]]) -> None:
    out, _ = copied
    con = duckdb.connect(str(db), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    lite = sqlite3.connect(out)
    order = 'ORDER BY "started_at" DESC, "id" DESC'
    assert ([str(r[0]) for r in con.execute(f"SELECT id FROM interceptions {order}").fetchall()]
            == [r[0] for r in lite.execute(f"SELECT id FROM interceptions {order}").fetchall()])
    durations = "SELECT CAST(id AS VARCHAR), duration_us, in_flight FROM interceptions"
    assert (sorted((i, d, int(f)) for i, d, f in con.execute(durations).fetchall())
            == sorted(lite.execute("SELECT id, duration_us, in_flight FROM interceptions").fetchall()))


def test_the_documented_views_indexes_and_modes_are_there(db: Path, copied: tuple[Path, dict[str, int]]) -> None:
    out, _ = copied
    lite = sqlite3.connect(out)
    views = {r[0] for r in lite.execute("SELECT name FROM sqlite_master WHERE type = 'view'")}
    assert views == {"interceptions", "token_usages", "user_prompts", "tool_usages", "model_thoughts", "sessions"}
    assert lite.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    plan = " ".join(str(r) for r in lite.execute(
        "EXPLAIN QUERY PLAN SELECT * FROM aibridge_interceptions WHERE ended_at IS NOT NULL "
        "ORDER BY started_at DESC, id DESC LIMIT 50"))
    assert "aibridge_interceptions_page_idx" in plan
    plan = " ".join(str(r) for r in lite.execute(
        "EXPLAIN QUERY PLAN SELECT * FROM aibridge_tool_usages WHERE interception_id = ?", ["x"]))
    assert "aibridge_tool_usages_interception_idx" in plan
    with pytest.raises(sqlite3.IntegrityError):  # STRICT: a token count must be an integer
        lite.execute("UPDATE aibridge_token_usages SET input_tokens = 'many' WHERE rowid = 1")
    with pytest.raises(sqlite3.IntegrityError):  # the natural key stays unique
        lite.execute("INSERT INTO users SELECT * FROM users LIMIT 1")
    store = duckdb.connect(str(db), read_only=True)
    for view in sorted(views):
        columns = [r[1] for r in lite.execute(f'PRAGMA table_info("{view}")')]
        assert columns == [r[0] for r in store.execute(f'DESCRIBE "{view}"').fetchall()], view
        assert (lite.execute(f'SELECT count(*) FROM "{view}"').fetchone()
                == store.execute(f'SELECT count(*) FROM "{view}"').fetchone()), view
    session = lite.execute("SELECT providers, models FROM sessions LIMIT 1").fetchone()
    assert all(isinstance(json.loads(value), list) for value in session)


def test_a_copy_appears_whole_or_not_at_all(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "archive.sqlite"
    out.write_text("what was there before")
    with Store.open(db, read_only=True) as store:
        with pytest.raises(StorageError, match="exists: pass replace=True"):
            store.copy_to_sqlite(out)

        def broken(*args: Any) -> Any:
            raise duckdb.IOException("disk went away")

        monkeypatch.setattr(engine, "_reader", broken)
        with pytest.raises(StorageError, match="cannot write the SQLite copy .*disk went away"):
            store.copy_to_sqlite(out, replace=True)
    assert out.read_text() == "what was there before"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["archive.sqlite"]


def test_the_command_line_copies_and_says_what(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "archive.sqlite"
    assert main(["--db", str(db), "copy-to-sqlite", str(out)]) == 0
    said = capsys.readouterr().out
    assert "400 interceptions" in said and str(out) in said
    assert sqlite3.connect(out).execute("SELECT count(*) FROM interceptions").fetchone() == (400,)
    assert main(["--db", str(db), "copy-to-sqlite", str(out)]) != 0
    assert "exists" in capsys.readouterr().err
