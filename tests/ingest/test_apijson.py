"""Saved API responses: what the JSON carries is imported, nothing is invented."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aibridge_store import ImportDataError, Store
from tests.helpers.rows import USER_A, export_dir, interception, prompt, token, tool, uid


@pytest.fixture
def source(tmp_path: Path) -> Store:
    rows = [interception(1, client=None, metadata=None), interception(2, client_session_id="s"),
            interception(3, client_session_id="s", thread_root_id=str(uid(2)))]
    export_dir(tmp_path / "export", rows, tokens=[token(1, 1), token(2, 3)], prompts=[prompt(1, 2, "hi\nthere")],
               tools=[tool(1, 3, server_url=None, invocation_error=None), tool(2, 3, server_url="https://m", injected="t",
                                                                          invocation_error="boom")])
    store = Store.open()
    store.import_path(tmp_path / "export")
    return store


def test_an_interceptions_page_imports_back_to_the_same_answer(tmp_path: Path, source: Store) -> None:
    page = source.list_interceptions().model_dump(mode="json")
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page))
    with Store.open() as store:
        summary = store.import_path(path)
        assert summary.tables["aibridge_interceptions"].inserted == 3 and summary.notes == []
        assert store.list_interceptions().model_dump(mode="json") == page
        nulls = store.connection.execute(
            "SELECT count(*) FILTER (WHERE server_url IS NULL), count(*) FILTER (WHERE invocation_error IS NULL) "
            "FROM aibridge_tool_usages").fetchone()
        assert nulls == (1, 1)
        # What the JSON lacks stays absent: no thread ids or client session ids are invented.
        assert store.connection.execute("SELECT count(*) FROM aibridge_interceptions "
                                        "WHERE thread_root_id IS NOT NULL OR client_session_id IS NOT NULL").fetchone() == (0,)


def test_the_cli_array_and_concatenated_pages(tmp_path: Path, source: Store) -> None:
    first = source.list_interceptions(limit=2).model_dump(mode="json")
    second = source.list_interceptions(limit=2, offset=2).model_dump(mode="json")
    path = tmp_path / "pages.json"
    path.write_text(json.dumps(first["results"], indent=2) + "\n" + json.dumps(second) + "\n")
    with Store.open() as store:
        store.import_path(path)
        assert [r.id for r in store.list_interceptions().results] == [uid(3), uid(2), uid(1)]
        again = store.import_path(path)
        assert again.inserted == 0 and again.unchanged > 0


def test_a_sessions_page_only_fills_users_and_says_so(tmp_path: Path, source: Store) -> None:
    path = tmp_path / "sessions.json"
    path.write_text(json.dumps(source.list_sessions().model_dump(mode="json")))
    with Store.open() as store:
        summary = store.import_path(path)
        assert set(summary.tables) == {"users"} and summary.tables["users"].inserted == 1
        assert summary.notes == [f"{path}: 2 session(s) read; a sessions page holds no interceptions, "
                                 "so only their initiators were imported"]
        assert store.list_sessions().count == 0


def test_a_threads_response_gives_its_tool_calls(tmp_path: Path, source: Store) -> None:
    path = tmp_path / "threads.json"
    path.write_text(json.dumps(source.get_session_threads("s").model_dump(mode="json")))
    with Store.open() as store:
        summary = store.import_path(path)
        assert summary.tables["aibridge_tool_usages"].inserted == 2
        assert "2 tool call(s) and the initiator imported" in summary.notes[0]
        assert store.connection.execute("SELECT count(*) FROM aibridge_interceptions").fetchone() == (0,)


def test_initiators_never_overwrite_stored_users(tmp_path: Path, source: Store) -> None:
    page = source.list_interceptions().model_dump(mode="json")
    for result in page["results"]:
        result["initiator"]["name"] = "Renamed In The API"
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page))
    source.import_path(path)
    assert source.connection.execute("SELECT name FROM users WHERE id = ?", [USER_A]).fetchone() == ("Alice A",)


@pytest.mark.parametrize(
    ("text", "row", "reason"),
    [('{"count": 1, "results": []}\n{"oops', 2, "not valid JSON"),
     ('{"hello": "world"}', 1, "not a saved AI Bridge API response"),
     ("[1, 2]", 1, "expected interception objects")],
)
def test_bad_files_are_named(tmp_path: Path, store: Store, text: str, row: int, reason: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ImportDataError) as caught:
        store.import_path(path)
    assert caught.value.source == str(path) and caught.value.row == row and caught.value.reason.startswith(reason)


def test_a_bad_value_inside_a_response_names_its_table_and_column(tmp_path: Path, source: Store) -> None:
    page = source.list_interceptions().model_dump(mode="json")
    page["results"][1]["started_at"] = "yesterday"
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page))
    with Store.open() as store, pytest.raises(ImportDataError) as caught:
        store.import_path(path)
    assert caught.value.source == f"{path} (aibridge_interceptions)" and caught.value.row == 2
    assert caught.value.column == "started_at"
