"""The live PostgreSQL import, against a real server (see tests/pg.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aibridge_store import ImportDataError, Store
from aibridge_store._ingest.postgres import redact
from tests.helpers.logrecords import end, envelope, start
from tests.helpers.postgres import coder_db, execute  # noqa: F401 - the fixture
from tests.helpers.rows import USER_A, USER_B, uid

TABLES = ("aibridge_interceptions", "aibridge_token_usages", "aibridge_user_prompts", "aibridge_tool_usages",
          "aibridge_model_thoughts", "users")


def seed(db: str) -> None:
    execute(
        db,
        f"INSERT INTO users (id, email, username, name, avatar_url) VALUES "
        f"('{USER_A}', 'a@example.com', 'alice', 'Alice', 'https://a/png'), ('{USER_B}', 'b@example.com', 'bob', '', '')",
        f"""INSERT INTO aibridge_interceptions (id, initiator_id, provider, model, started_at, metadata, ended_at,
            api_key_id, client, thread_parent_id, thread_root_id, client_session_id, provider_name, credential_kind,
            credential_hint) VALUES
            ('{uid(1)}', '{USER_A}', 'anthropic', 'claude-opus-4-5', '2026-01-13 15:50:20.790691+00',
             '{{"request_user_agent": "claude-cli/2.1.4"}}', '2026-01-13 15:50:26.268+00', 'vg1sbUv97d', 'Claude Code',
             NULL, NULL, 'sess-1', 'anthropic', 'centralized', ''),
            ('{uid(2)}', '{USER_A}', 'openai', 'gpt-5', '2026-01-13 16:00:00+00', '{{}}', NULL, 'vg1sbUv97d', NULL,
             '{uid(1)}', '{uid(1)}', NULL, 'openai-eu', 'byok', 'sk-a...efgh'),
            ('{uid(3)}', '{USER_B}', 'openai', 'gpt-5', '2026-01-13 16:10:00+00', NULL, '2026-01-13 16:10:05+00',
             NULL, 'Codex', NULL, NULL, NULL, 'openai', 'centralized', '')""",
        f"""INSERT INTO aibridge_token_usages VALUES
            ('{uid(101)}', '{uid(1)}', 'msg_1', 10, 8, '{{"cache_read_input": 0, "cache_creation_input": 53194}}',
             '2026-01-13 15:50:23.731587+00', 0, 53194),
            ('{uid(102)}', '{uid(3)}', 'resp_1', 100, 20, '{{}}', '2026-01-13 16:10:03+00', 40, 0)""",
        f"""INSERT INTO aibridge_user_prompts VALUES
            ('{uid(201)}', '{uid(1)}', 'msg_1', E'fix the "flaky" test,\\nthen run it', '{{}}', '2026-01-13 15:50:21.5+00')""",
        f"""INSERT INTO aibridge_tool_usages VALUES
            ('{uid(301)}', '{uid(1)}', 'msg_1', NULL, 'Bash', '{{"command":"ls -la"}}', false, NULL, '{{}}',
             '2026-01-13 15:50:24+00', 'toolu_1', NULL)""",
        f"""INSERT INTO aibridge_model_thoughts VALUES
            ('{uid(1)}', 'think first', '{{"source": "thinking"}}', '2026-01-13 15:50:22+00')""",
    )


def snapshot(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    con = store.connection
    return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in (*TABLES, "aibridge_session_rollup")}


def test_a_coder_database_imports_with_every_column(coder_db: str) -> None:  # noqa: F811
    seed(coder_db)
    with Store.open() as store:
        summary = store.import_postgres(coder_db)
        assert summary.tables["aibridge_interceptions"].inserted == 3
        assert summary.tables["users"].inserted == 2
        assert summary.tables["aibridge_model_thoughts"].inserted == 1
        rows = store.connection.execute(
            "SELECT id, session_id, credential_kind, credential_hint, provider_name, client, "
            "CAST(metadata AS VARCHAR), ended_at IS NULL FROM aibridge_interceptions ORDER BY id"
        ).fetchall()
        assert rows == [
            (uid(1), "sess-1", "centralized", "", "anthropic", "Claude Code", '{"request_user_agent": "claude-cli/2.1.4"}', False),
            (uid(2), str(uid(1)), "byok", "sk-a...efgh", "openai-eu", None, "{}", True),
            (uid(3), str(uid(3)), "centralized", "", "openai", "Codex", None, False),
        ]
        page = store.list_interceptions()
        assert page.count == 2
        first = page.results[1]
        assert first.initiator.username == "alice"
        assert first.user_prompts[0].prompt == 'fix the "flaky" test,\nthen run it'
        assert first.token_usages[0].cache_write_input_tokens == 53194
        assert str(first.started_at) == "2026-01-13 15:50:20.790691+00:00"
        assert summary.ignored_columns == {}


def test_incremental_imports_read_only_what_changed(coder_db: str) -> None:  # noqa: F811
    seed(coder_db)
    with Store.open() as store:
        store.import_postgres(coder_db)
        again = store.import_postgres(coder_db)
        assert again.inserted == again.updated == again.unchanged == 0
        assert all(r.kind == "incremental read" for r in again.reports.values())
        # New rows, and the in-flight interception ends.
        execute(
            coder_db,
            f"UPDATE aibridge_interceptions SET ended_at = '2026-01-13 16:00:09+00' WHERE id = '{uid(2)}'",
            f"""INSERT INTO aibridge_interceptions (id, initiator_id, provider, model, started_at, metadata, ended_at)
                VALUES ('{uid(4)}', '{USER_B}', 'anthropic', 'claude-haiku', '2026-01-13 17:00:00+00', '{{}}',
                '2026-01-13 17:00:01+00')""",
            f"""INSERT INTO aibridge_token_usages VALUES ('{uid(103)}', '{uid(2)}', 'chatcmpl-1', 7, 3, '{{}}',
                '2026-01-13 16:00:05+00', 0, 0)""",
            f"UPDATE users SET name = 'Bobby' WHERE id = '{USER_B}'",
        )
        third = store.import_postgres(coder_db)
        assert third.tables["aibridge_interceptions"].inserted == 1
        assert third.tables["aibridge_interceptions"].updated == 1
        assert third.tables["aibridge_interceptions"].unchanged == 0
        assert third.tables["aibridge_token_usages"].inserted == 1
        assert third.tables["aibridge_token_usages"].unchanged == 0
        assert third.tables["users"].updated == 1
        assert third.tables["aibridge_user_prompts"].rows == 0
        incremental = snapshot(store)
    with Store.open() as fresh:
        fresh.import_postgres(coder_db)
        assert snapshot(fresh) == incremental
    with Store.open() as store:
        store.import_postgres(coder_db)
        everything = store.import_postgres(coder_db, full=True)
        assert everything.unchanged == 4 + 3 + 1 + 1 + 1 + 2 and everything.inserted == 0


def test_the_read_is_one_snapshot(coder_db: str) -> None:  # noqa: F811
    """A row committed while the import runs is not part of it, and the next import brings it."""
    seed(coder_db)
    written = []

    def write_meanwhile(done: int, total: int) -> None:
        if not written:
            written.append(done)
            execute(
                coder_db,
                f"""INSERT INTO aibridge_token_usages VALUES ('{uid(109)}', '{uid(3)}', 'resp_2', 1, 1, '{{}}',
                    '2026-01-13 16:10:04+00', 0, 0)""",
            )

    with Store.open() as store:
        store.import_postgres(coder_db, progress=write_meanwhile)
        assert written
        count = "SELECT count(*) FROM aibridge_token_usages"
        assert store.connection.execute(count).fetchone() == (2,)
        later = store.import_postgres(coder_db)
        assert later.tables["aibridge_token_usages"].inserted == 1
        assert store.connection.execute(count).fetchone() == (3,)


def test_the_importer_never_writes(coder_db: str) -> None:  # noqa: F811
    from aibridge_store._ingest.postgres import PostgresReader

    reader = PostgresReader(coder_db)
    try:
        with pytest.raises(ImportDataError, match="read-only"):
            reader._run("CREATE TABLE intruder (x int)")
    finally:
        reader.close()


def test_an_unreachable_database_is_a_clear_error_without_the_password() -> None:
    dsn = "postgresql://coder:s3cret@127.0.0.1:1/coder"
    assert redact(dsn) == "postgresql://coder@127.0.0.1:1/coder"
    with Store.open() as store, pytest.raises(ImportDataError, match="cannot connect") as info:
        store.import_postgres(dsn)
    assert "s3cret" not in str(info.value)
    assert info.value.source == "postgresql://coder@127.0.0.1:1/coder"


def test_a_database_without_coder_tables_is_refused(coder_db: str) -> None:  # noqa: F811
    execute(coder_db, "DROP TABLE aibridge_interceptions")
    with Store.open() as store, pytest.raises(ImportDataError, match="Coder's database"):
        store.import_postgres(coder_db)


def test_the_cli_imports_a_database_and_a_log_together(coder_db: str, tmp_path: Path) -> None:  # noqa: F811
    seed(coder_db)
    log = tmp_path / "coderd.log"
    log.write_text(envelope(start(uid(9), 0)) + "\n" + envelope(end(uid(9), 1)) + "\n")
    db = tmp_path / "s.duckdb"
    result = subprocess.run(
        [sys.executable, "-m", "aibridge_store.cli", "--db", str(db), "import", coder_db, str(log)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "(aibridge_interceptions)" in result.stdout
    assert str(log) in result.stdout
    with Store.open(db, read_only=True) as store:
        assert store.list_interceptions().count == 3
