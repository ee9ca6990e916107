"""PostgreSQL COPY CSV exports, quirk by quirk (docs/imports.md, "Table exports")."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from aibridge_store import ImportDataError, Store
from tests.helpers.rows import (
    INTERCEPTION_COLUMNS,
    USER_A,
    export_dir,
    interception,
    prompt,
    stored_rows,
    token,
    uid,
    write_csv,
)

UTC = dt.UTC


def _one(store: Store, sql: str, params: list[object] | None = None) -> tuple[object, ...]:
    rows = stored_rows(store, sql, params)
    assert rows
    return rows[0]


def test_the_spec_example_imports(tmp_path: Path, store: Store) -> None:
    (tmp_path / "aibridge_interceptions.csv").write_text(
        "id,initiator_id,provider,model,started_at,metadata,ended_at,api_key_id,client,thread_parent_id,"
        "thread_root_id,client_session_id,provider_name,credential_kind,credential_hint\n"
        "97461880-4a6c-47c1-8292-3588dd715312,360c6167-a93a-4442-9c3e-f87a6d1cfb66,anthropic,"
        "claude-opus-4-5-20251101,2026-01-13 15:50:20.790691+00,\"{\"\"request_user_agent\"\": "
        "\"\"claude-cli/2.1.4 (external, cli)\"\"}\",2026-01-13 15:50:26.268+00,vg1sbUv97d,Claude Code,,,"
        "3f2c9a1e-5b7d-4c8e-9f10-2a3b4c5d6e7f,anthropic,centralized,\"\"\n"
        "0b0c3d4e-1111-4222-8333-944455556666,360c6167-a93a-4442-9c3e-f87a6d1cfb66,openai,gpt-5,"
        "2026-01-13 16:00:00+00,{},,vg1sbUv97d,,97461880-4a6c-47c1-8292-3588dd715312,"
        "97461880-4a6c-47c1-8292-3588dd715312,,openai,byok,sk-a...efgh\n"
    )
    (tmp_path / "aibridge_user_prompts.csv").write_text(
        "id,interception_id,provider_response_id,prompt,metadata,created_at\n"
        "7f9e4c32-0000-4000-8000-000000000003,97461880-4a6c-47c1-8292-3588dd715312,msg_01VJH1rYKspfun8BW29CrYEu,"
        "\"fix the \"\"flaky\"\" test,\nthen run it\",{},2026-01-13 15:50:21.5+00\n"
    )
    summary = store.import_path(tmp_path)
    assert summary.tables["aibridge_interceptions"].inserted == 2
    first = _one(store, "SELECT metadata, ended_at, client, credential_hint, session_id FROM aibridge_interceptions "
                 "WHERE id = '97461880-4a6c-47c1-8292-3588dd715312'")
    assert json.loads(first[0]) == {"request_user_agent": "claude-cli/2.1.4 (external, cli)"}  # type: ignore[arg-type]
    assert first[1] == dt.datetime(2026, 1, 13, 15, 50, 26, 268000, tzinfo=UTC)
    assert first[2:] == ("Claude Code", "", "3f2c9a1e-5b7d-4c8e-9f10-2a3b4c5d6e7f")
    second = _one(store, "SELECT ended_at, client, credential_kind, credential_hint, session_id "
                  "FROM aibridge_interceptions WHERE id = '0b0c3d4e-1111-4222-8333-944455556666'")
    assert second == (None, None, "byok", "sk-a...efgh", "97461880-4a6c-47c1-8292-3588dd715312")
    assert _one(store, "SELECT prompt, created_at FROM aibridge_user_prompts") == (
        'fix the "flaky" test,\nthen run it', dt.datetime(2026, 1, 13, 15, 50, 21, 500000, tzinfo=UTC))


def test_null_is_unquoted_empty_and_empty_string_is_quoted(tmp_path: Path, store: Store) -> None:
    export_dir(tmp_path, [interception(1, client=None, api_key_id=""), interception(2, client="")])
    store.import_path(tmp_path)
    rows = stored_rows(store, "SELECT client, api_key_id FROM aibridge_interceptions ORDER BY id")
    assert rows == [(None, ""), ("", "vg1sbUv97d")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-13 15:50:20.790691+00", dt.datetime(2026, 1, 13, 15, 50, 20, 790691, tzinfo=UTC)),
        ("2026-01-13 16:00:00+00", dt.datetime(2026, 1, 13, 16, 0, tzinfo=UTC)),
        ("2026-01-13 10:00:00-05", dt.datetime(2026, 1, 13, 15, 0, tzinfo=UTC)),
        ("2026-01-13 21:20:00.5+05:30", dt.datetime(2026, 1, 13, 15, 50, 0, 500000, tzinfo=UTC)),
        ("2026-01-13T15:50:20Z", dt.datetime(2026, 1, 13, 15, 50, 20, tzinfo=UTC)),
    ],
)
def test_timestamp_offsets(tmp_path: Path, store: Store, text: str, expected: dt.datetime) -> None:
    export_dir(tmp_path, [interception(1, started_at=text, ended_at=text)])
    store.import_path(tmp_path)
    assert _one(store, "SELECT started_at FROM aibridge_interceptions")[0] == expected


@pytest.mark.parametrize(("text", "expected"), [("t", True), ("f", False), ("true", True), ("FALSE", False),
                                                ("1", True), ("0", False)])
def test_booleans(tmp_path: Path, store: Store, text: str, expected: bool) -> None:
    from tests.helpers.rows import tool

    export_dir(tmp_path, [interception(1)], tools=[tool(1, 1, injected=text)])
    store.import_path(tmp_path)
    assert _one(store, "SELECT injected FROM aibridge_tool_usages")[0] is expected


def test_session_id_is_recomputed_whatever_the_export_says(tmp_path: Path, store: Store) -> None:
    rows = [
        interception(1, client_session_id="client-session", thread_root_id=str(uid(9)), session_id="wrong"),
        interception(2, thread_root_id=str(uid(1)), session_id="wrong"),
        interception(3, session_id="wrong"),
    ]
    write_csv(tmp_path / "aibridge_interceptions.csv", [*INTERCEPTION_COLUMNS, "session_id"], rows)
    store.import_path(tmp_path)
    got = stored_rows(store, "SELECT session_id FROM aibridge_interceptions ORDER BY id")
    assert got == [("client-session",), (str(uid(1)),), (str(uid(3)),)]


def test_unknown_extra_columns_are_ignored_and_reported(tmp_path: Path, store: Store) -> None:
    columns = [*INTERCEPTION_COLUMNS, "annotations", "error_type", "provider_id"]
    rows = [interception(1, annotations='{"a": 1}', error_type="timeout", provider_id=str(uid(5)))]
    write_csv(tmp_path / "aibridge_interceptions.csv", columns, rows)
    summary = store.import_path(tmp_path / "aibridge_interceptions.csv")
    assert summary.tables["aibridge_interceptions"].inserted == 1
    assert summary.ignored_columns == {str(tmp_path / "aibridge_interceptions.csv"): ["annotations", "error_type", "provider_id"]}


def test_columns_are_matched_by_name_not_position(tmp_path: Path, store: Store) -> None:
    columns = list(reversed(INTERCEPTION_COLUMNS))
    write_csv(tmp_path / "aibridge_interceptions.csv", columns, [interception(1, model="m-1")])
    store.import_path(tmp_path)
    assert _one(store, "SELECT model, provider FROM aibridge_interceptions") == ("m-1", "anthropic")


def test_missing_optional_columns_take_coders_defaults(tmp_path: Path, store: Store) -> None:
    old = ["id", "initiator_id", "provider", "model", "started_at", "metadata", "ended_at"]
    write_csv(tmp_path / "aibridge_interceptions.csv", old, [interception(1, provider="openai")])
    store.import_path(tmp_path)
    row = _one(store, "SELECT client, provider_name, credential_kind, credential_hint, api_key_id, session_id "
               "FROM aibridge_interceptions")
    assert row == ("Unknown", "openai", "centralized", "", None, str(uid(1)))


def test_cache_tokens_missing_are_backfilled_from_metadata(tmp_path: Path, store: Store) -> None:
    old = ["id", "interception_id", "provider_response_id", "input_tokens", "output_tokens", "metadata", "created_at"]
    rows = [
        token(1, 1, metadata='{"cache_read_input": 7, "input_cached": 9, "cache_creation_input": 4}'),
        token(2, 1, metadata='{"prompt_cached": 5}'),
        token(3, 1, metadata=None),
    ]
    write_csv(tmp_path / "aibridge_token_usages.csv", old, rows)
    store.import_path(tmp_path)
    got = stored_rows(
        store, "SELECT cache_read_input_tokens, cache_write_input_tokens FROM aibridge_token_usages ORDER BY id")
    assert got == [(9, 4), (5, 0), (0, 0)]


def test_first_schema_column_names_are_accepted(tmp_path: Path, store: Store) -> None:
    write_csv(tmp_path / "aibridge_token_usages.csv",
              ["id", "interception_id", "msg_id", "input", "output", "metadata", "timestamp"],
              [{"id": str(uid(1)), "interception_id": str(uid(2)), "msg_id": "m", "input": 1, "output": 2,
                "metadata": "{}", "timestamp": "2026-01-01 00:00:00"}])
    store.import_path(tmp_path)
    assert _one(store, "SELECT provider_response_id, input_tokens, output_tokens FROM aibridge_token_usages") == ("m", 1, 2)


def test_multiline_prompt_with_quotes_and_commas(tmp_path: Path, store: Store) -> None:
    text = 'line one, "quoted"\nline two\r\n\nlast'
    export_dir(tmp_path, [interception(1)], prompts=[prompt(1, 1, text)])
    store.import_path(tmp_path)
    assert _one(store, "SELECT prompt FROM aibridge_user_prompts")[0] == text


def test_header_only_file_imports_nothing(tmp_path: Path, store: Store) -> None:
    write_csv(tmp_path / "aibridge_interceptions.csv", INTERCEPTION_COLUMNS, [])
    summary = store.import_path(tmp_path / "aibridge_interceptions.csv")
    assert summary.tables["aibridge_interceptions"].rows == 0


def test_empty_file_is_an_error(tmp_path: Path, store: Store) -> None:
    (tmp_path / "aibridge_interceptions.csv").write_text("")
    with pytest.raises(ImportDataError, match="empty"):
        store.import_path(tmp_path)


def test_ragged_row_is_an_error_naming_the_file(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "aibridge_interceptions.csv"
    write_csv(path, INTERCEPTION_COLUMNS, [interception(1)])
    path.write_text(path.read_text() + "a,b,c\n")
    with pytest.raises(ImportDataError) as caught:
        store.import_path(path)
    assert caught.value.source == str(path)
    assert "malformed CSV" in str(caught.value)
    assert stored_rows(store, "SELECT count(*) FROM aibridge_interceptions") == [(0,)]


def test_initiator_details_come_from_users(tmp_path: Path, store: Store) -> None:
    export_dir(tmp_path, [interception(1)])
    store.import_path(tmp_path)
    user = store.list_interceptions().results[0].initiator
    assert (user.id, user.username, user.name, user.avatar_url) == (USER_A, "alice", "Alice A", "https://a.example/a.png")
