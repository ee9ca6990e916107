"""Opening stores: files, memory, read-only, schema versions."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from aibridge_store import ImportDataError, SchemaVersionError, StorageError, Store
from aibridge_store._schema import SCHEMA_VERSION, TABLES
from tests.helpers.rows import export_dir, interception, token, tool, uid


def test_file_store_keeps_data_across_opens(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    with Store.open(db) as store:
        store.import_path(export_dir(tmp_path / "x", [interception(1)]))
    with Store.open(db, read_only=True) as store:
        assert store.list_interceptions().count == 1
        assert store.schema_version == SCHEMA_VERSION


def test_every_table_exists_with_coders_columns(store: Store) -> None:
    if store.engine == "sqlite":  # the file's own catalog
        tables = {r[0] for r in store.connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        columns = [r[1] for r in store.connection.execute("PRAGMA table_info(aibridge_interceptions)")]
    else:
        tables = {r[0] for r in store.connection.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        columns = [r[0] for r in store.connection.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'aibridge_interceptions' "
            "ORDER BY ordinal_position").fetchall()]
    assert set(TABLES) <= tables
    assert columns[:16] == [
        "id", "initiator_id", "provider", "model", "started_at", "metadata", "ended_at", "api_key_id", "client",
        "thread_parent_id", "thread_root_id", "client_session_id", "provider_name", "credential_kind",
        "credential_hint", "session_id"]


def test_a_newer_schema_version_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "new.duckdb"
    with Store.open(db):
        pass
    con = duckdb.connect(str(db))
    con.execute("UPDATE aibridge_store_meta SET value = '999' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(SchemaVersionError, match="newer aibridge_store .schema version 999"):
        Store.open(db)
    with pytest.raises(SchemaVersionError):
        Store.open(db, read_only=True)


def test_a_version_1_store_is_upgraded_in_place(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    with Store.open(db) as store:
        store.import_path(export_dir(tmp_path / "x", [interception(1)]))
    con = duckdb.connect(str(db))
    for table in ("aibridge_log_pending_ends", "aibridge_log_lineage", "aibridge_import_sources"):
        con.execute(f"DROP TABLE {table}")
    con.execute("DROP INDEX aibridge_interceptions_id_idx")
    con.execute("ALTER TABLE aibridge_interceptions DROP COLUMN record_origin")
    con.execute("CREATE INDEX aibridge_interceptions_id_idx ON aibridge_interceptions (id)")
    con.execute("UPDATE aibridge_store_meta SET value = '1' WHERE key = 'schema_version'")
    con.close()
    with Store.open(db) as store:
        assert store.schema_version == SCHEMA_VERSION == 4
        assert store.connection.execute("SELECT record_origin FROM aibridge_interceptions").fetchall() == [(2,)]
        assert store.list_interceptions().count == 1
        store.import_path(export_dir(tmp_path / "y", [interception(2)]))
        assert store.list_interceptions().count == 2


def _as_version_2(db: Path) -> None:
    con = duckdb.connect(str(db))
    con.execute("DROP TABLE aibridge_interception_counts")
    con.execute("DROP TABLE aibridge_interception_totals")
    con.execute("UPDATE aibridge_store_meta SET value = '2' WHERE key = 'schema_version'")
    con.close()


def test_a_version_3_store_reports_read_only_and_gains_its_totals(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    rows = [interception(1), interception(2, provider="openai"), interception(3, ended_at=None)]
    folder = export_dir(tmp_path / "x", rows, tokens=[token(1, 1), token(2, 1), token(3, 3)], tools=[tool(1, 2)])
    with Store.open(db) as store:
        store.import_path(folder)
        expected = store.usage(by=["provider"]).to_pylist()
        totals = sorted(store.connection.execute("SELECT * FROM aibridge_interception_totals").fetchall(), key=repr)
    con = duckdb.connect(str(db))
    con.execute("DROP TABLE aibridge_interception_totals")
    con.execute("UPDATE aibridge_store_meta SET value = '3' WHERE key = 'schema_version'")
    con.close()
    with Store.open(db, read_only=True) as store:  # not upgraded: the totals are computed per report
        assert store.schema_version == 3
        assert store.usage(by=["provider"]).to_pylist() == expected
        assert [r["calls"] for r in store.tools().to_pylist()] == [1]
        assert [store.list_interceptions(q).count for q in ("input_tokens:>0", "has:tool", "-has:tool")] == [1, 1, 1]
    with Store.open(db) as store:
        assert store.schema_version == 4
        assert sorted(store.connection.execute("SELECT * FROM aibridge_interception_totals").fetchall(),
                      key=repr) == totals
        assert store.usage(by=["provider"]).to_pylist() == expected


def test_a_version_2_store_gains_its_interception_counts(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    rows = [interception(1), interception(2, provider="openai"), interception(3, ended_at=None)]
    with Store.open(db) as store:
        store.import_path(export_dir(tmp_path / "x", rows))
    _as_version_2(db)
    with Store.open(db, read_only=True) as store:  # not upgraded: counted from the interceptions
        assert store.schema_version == 2
        assert [store.list_interceptions(q).count for q in ("", "provider:openai")] == [2, 1]
    with Store.open(db) as store:
        assert store.schema_version == 4
        counts = store.connection.execute(
            "SELECT provider, interceptions FROM aibridge_interception_counts ORDER BY provider").fetchall()
        assert counts == [("anthropic", 1), ("openai", 1)]
        assert [store.list_interceptions(q).count for q in ("", "provider:openai")] == [2, 1]


def test_read_only_needs_an_existing_store(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no such database file"):
        Store.open(tmp_path / "missing.duckdb", read_only=True)
    plain = tmp_path / "plain.duckdb"
    duckdb.connect(str(plain)).close()
    with pytest.raises(StorageError, match="not an aibridge_store database"):
        Store.open(plain, read_only=True)


def test_read_only_store_refuses_imports(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    Store.open(db).close()
    with Store.open(db, read_only=True) as store, pytest.raises(StorageError, match="read-only"):
        store.import_path(export_dir(tmp_path / "x", [interception(1)]))


def test_a_file_that_is_not_a_database_is_our_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.duckdb"
    path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StorageError):
        Store.open(path)


def test_uuid_order_is_lowercase_hex_order(store: Store) -> None:
    import uuid

    ids = [uuid.uuid4() for _ in range(300)]
    if store.engine == "sqlite":  # UUIDs are their lower-case text
        store.connection.execute("CREATE TEMP TABLE u (id TEXT)")
        store.connection.executemany("INSERT INTO u VALUES (?)", [[str(i)] for i in ids])
    else:
        store.connection.execute("CREATE TEMP TABLE u (id UUID)")
        store.connection.executemany("INSERT INTO u VALUES (?)", [[i] for i in ids])
    got = [r[0] for r in store.connection.execute("SELECT id FROM u ORDER BY id").fetchall()]
    assert [str(i) for i in got] == sorted(str(i) for i in ids)


@pytest.mark.parametrize(("given", "applied"), [("300MB", "286.1 MiB"), (" 1 GiB ", "1.0 GiB"), ("2gb", "1.8 GiB")])
def test_memory_limit_is_applied(given: str, applied: str) -> None:
    with Store.open(memory_limit=given) as store:
        assert store.connection.execute("SELECT current_setting('memory_limit')").fetchone() == (applied,)


@pytest.mark.parametrize("given", ["lots", "5 parsecs", "1GB'; DROP TABLE users; --", ""])
def test_a_bad_memory_limit_is_our_error(given: str) -> None:
    with pytest.raises(StorageError, match="invalid memory limit"):
        Store.open(memory_limit=given)


def test_reads_inside_a_transaction_see_its_changes(tmp_path: Path, store: Store) -> None:
    store.import_path(export_dir(tmp_path / "x", [interception(1), interception(2)]))
    with store.transaction() as con:
        con.execute("DELETE FROM aibridge_interceptions WHERE id = ?", [str(uid(1))])
        assert [r.id for r in store.list_interceptions().results] == [uid(2)]
        assert store.list_models() == ["claude-opus-4-5"]
    assert store.list_interceptions().count == 1


def test_a_read_that_fails_in_duckdb_raises_storage_error(store: Store) -> None:
    store.connection.execute("DROP TABLE aibridge_session_rollup")
    with pytest.raises(StorageError, match="cannot read the store"):
        store.list_sessions()
    assert store.list_interceptions().count == 0  # the store is still usable


def test_an_import_inside_a_transaction_is_refused_and_nothing_changes(tmp_path: Path, store: Store) -> None:
    exports = export_dir(tmp_path / "x", [interception(1)])
    with store.transaction(), pytest.raises(StorageError, match="transaction of its own"):
        store.import_path(exports)
    assert store.list_interceptions().count == 0


def test_transactions_do_not_nest(store: Store) -> None:
    with store.transaction(), pytest.raises(StorageError, match="does not nest"), store.transaction():
        pass


def test_a_cursor_walk_counts_once_and_an_import_is_seen(tmp_path: Path, store: Store,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from aibridge_store._reads import interceptions as reads

    store.import_path(export_dir(tmp_path / "x", [interception(n) for n in range(1, 8)]))
    counted = []
    real = reads.count_interceptions
    monkeypatch.setattr(reads, "count_interceptions", lambda *a: counted.append(1) or real(*a))
    page = store.list_interceptions(limit=3)
    while len(page.results) == 3:
        page = store.list_interceptions(limit=3, after_id=page.results[-1].id)
    assert (page.count, len(counted)) == (7, 1)
    store.import_path(export_dir(tmp_path / "y", [interception(8)]))
    assert store.list_interceptions(limit=3).count == 8 and len(counted) == 2
    store.refresh()
    assert store.list_interceptions(limit=3).count == 8 and len(counted) == 3


def test_rows_written_by_hand_are_counted_until_the_next_import(tmp_path: Path, store: Store) -> None:
    store.import_path(export_dir(tmp_path / "x", [interception(1), interception(2)]))
    assert store.list_interceptions("provider:anthropic").count == 2
    store.connection.execute("DELETE FROM aibridge_interceptions WHERE id = ?", [str(uid(1))])
    assert store.list_interceptions("provider:anthropic").count == 1  # counts table not yet recomputed
    store.import_path(export_dir(tmp_path / "y", [interception(3)]))
    counts = store.connection.execute("SELECT sum(interceptions) FROM aibridge_interception_counts").fetchone()
    assert counts == (2,) and store.list_interceptions("provider:anthropic").count == 2


def test_reads_after_a_failed_import_still_answer_from_before(tmp_path: Path, store: Store) -> None:
    store.import_path(export_dir(tmp_path / "x", [interception(1)]))
    assert store.list_interceptions().count == 1
    with pytest.raises(ImportDataError):
        store.import_path(export_dir(tmp_path / "y", [interception(2), interception(3, started_at="soon")]))
    assert store.list_interceptions().count == 1


def test_a_read_only_store_keeps_counting_from_its_counts_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aibridge_store._reads import interceptions as reads

    db = tmp_path / "a.duckdb"
    with Store.open(db) as store:
        store.import_path(export_dir(tmp_path / "x", [interception(1), interception(2)]))
    statements: list[str] = []
    real = reads.count
    monkeypatch.setattr(reads, "count", lambda con, sql, params: statements.append(sql) or real(con, sql, params))
    with Store.open(db, read_only=True) as store:
        store.connection.execute("SELECT 1").fetchall()  # nothing can be written through it
        assert store.list_interceptions().count == 2
    assert "aibridge_interception_counts" in statements[-1]
