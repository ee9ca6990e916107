"""list_interceptions end to end: Coder's JSON, filters, ordering, cursors, errors, actors."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from aibridge_store import (
    Actor,
    PaginationError,
    QuerySyntaxError,
    QueryValidationError,
    Store,
)
from tests.helpers.rows import (
    USER_A,
    USER_B,
    USER_GHOST,
    export_dir,
    interception,
    prompt,
    token,
    tool,
    uid,
)


@pytest.fixture
def loaded(tmp_path: Path, store: Store) -> Store:
    rows = [
        interception(1, provider="openai", provider_name="azure", model="gpt-5", client=None),
        interception(2, client="Unknown", metadata=None),
        interception(3, initiator_id=str(USER_B), client="Cursor", metadata='{"n": 1.0, "big": 12345678901234567890, "f": 1.5}'),
        interception(4, ended_at=None),  # in flight
        interception(5, initiator_id=str(USER_GHOST), metadata="{}"),
        interception(6, started_at=interception(5)["started_at"]),  # a tie with 5
    ]
    export_dir(
        tmp_path,
        rows,
        tokens=[token(2, 2, seconds=3), token(1, 2, seconds=1), token(3, 3, metadata=None)],
        prompts=[prompt(1, 2, "first"), prompt(2, 2, "", seconds=2)],
        tools=[tool(1, 2, server_url="https://mcp.example", injected="t", invocation_error="boom"), tool(2, 3)],
    )
    store.import_path(tmp_path)
    return store


def test_json_is_exactly_coders(loaded: Store) -> None:
    page = loaded.list_interceptions("provider:anthropic client:Unknown")
    assert page.model_dump(mode="json") == {
        "count": 1,
        "results": [{
            "id": str(uid(2)),
            "api_key_id": "vg1sbUv97d",
            "initiator": {"id": str(USER_A), "username": "alice", "name": "Alice A",
                          "avatar_url": "https://a.example/a.png"},
            "provider": "anthropic",
            "provider_name": "anthropic",
            "model": "claude-opus-4-5",
            "client": "Unknown",
            "metadata": None,
            "started_at": "2026-01-13T15:00:20Z",
            "ended_at": "2026-01-13T15:00:25Z",
            "token_usages": [
                {"id": str(uid(1001)), "interception_id": str(uid(2)), "provider_response_id": "msg_1",
                 "input_tokens": 10, "output_tokens": 20, "cache_read_input_tokens": 3, "cache_write_input_tokens": 0,
                 "metadata": {"cache_read_input": 3}, "created_at": "2026-01-13T15:00:21Z"},
                {"id": str(uid(1002)), "interception_id": str(uid(2)), "provider_response_id": "msg_2",
                 "input_tokens": 10, "output_tokens": 20, "cache_read_input_tokens": 3, "cache_write_input_tokens": 0,
                 "metadata": {"cache_read_input": 3}, "created_at": "2026-01-13T15:00:23Z"},
            ],
            "user_prompts": [
                {"id": str(uid(2001)), "interception_id": str(uid(2)), "provider_response_id": "msg_1",
                 "prompt": "first", "metadata": {}, "created_at": "2026-01-13T15:00:21Z"},
                {"id": str(uid(2002)), "interception_id": str(uid(2)), "provider_response_id": "msg_2",
                 "prompt": "", "metadata": {}, "created_at": "2026-01-13T15:00:22Z"},
            ],
            "tool_usages": [
                {"id": str(uid(3001)), "interception_id": str(uid(2)), "provider_response_id": "msg_1",
                 "server_url": "https://mcp.example", "tool": "Bash", "input": '{"command":"ls"}', "injected": True,
                 "invocation_error": "boom", "metadata": {}, "created_at": "2026-01-13T15:00:22Z"},
            ],
        }],
    }


def test_null_children_fields_become_empty_strings_and_null_metadata(loaded: Store) -> None:
    result = loaded.list_interceptions("initiator:Bob").model_dump(mode="json")["results"][0]
    assert result["tool_usages"][0]["server_url"] == "" and result["tool_usages"][0]["invocation_error"] == ""
    assert result["token_usages"][0]["metadata"] is None
    # Go decodes metadata numbers as float64: integral values print without a fraction, huge ones round.
    assert result["metadata"] == {"n": 1, "big": 12345678901234567168, "f": 1.5}
    assert isinstance(result["metadata"]["n"], int)


def test_order_is_newest_first_with_id_breaking_ties(loaded: Store) -> None:
    ids = [r.id for r in loaded.list_interceptions().results]
    assert ids == [uid(6), uid(5), uid(3), uid(2), uid(1)]


def test_in_flight_interceptions_never_appear(loaded: Store) -> None:
    page = loaded.list_interceptions()
    assert page.count == 5 and uid(4) not in [r.id for r in page.results]


def test_orphan_initiator_is_listed_with_empty_details(loaded: Store) -> None:
    result = next(r for r in loaded.list_interceptions().results if r.id == uid(5))
    assert result.initiator.model_dump(mode="json") == {"id": str(USER_GHOST), "username": "", "name": "", "avatar_url": ""}


def test_a_second_colon_needs_quotes_as_in_coder(loaded: Store) -> None:
    with pytest.raises(QuerySyntaxError):
        loaded.list_interceptions(f"initiator:urn:uuid:{USER_B}")


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("provider:openai", [1]),
        ("provider:OpenAI", []),
        ("provider_name:azure", [1]),
        ("model:gpt-5", [1]),
        ("client:Unknown", [2, 1]),
        ("client:Cursor", [3]),
        ("initiator:bob", [3]),
        ("BOB", [3]),
        (f"initiator:{USER_B}", [3]),
        (f"initiator:{{{USER_B}}}", [3]),
        (f'initiator:"urn:uuid:{USER_B}"', [3]),
        (f"initiator:{USER_B.hex}", [3]),
        (f"initiator:{uuid.uuid4()}", []),
        ('started_after:"2026-01-13T15:00:30Z"', [6, 5, 3]),
        ('started_before:"2026-01-13T15:00:30Z"', [3, 2, 1]),
        ('started_after:"2026-01-13T15:00:20Z" started_before:"2026-01-13T15:00:30Z"', [3, 2]),
        ('started_after:"2026-01-13T16:00:20+01:00"', [6, 5, 3, 2]),
        ('model:"" provider:anthropic', [6, 5, 3, 2]),
    ],
)
def test_filters(loaded: Store, q: str, expected: list[int]) -> None:
    page = loaded.list_interceptions(q)
    assert [r.id for r in page.results] == [uid(n) for n in expected]
    assert page.count == len(expected)


def test_client_unknown_filter_keeps_null_client_null(loaded: Store) -> None:
    clients = {r.id: r.client for r in loaded.list_interceptions("client:Unknown").results}
    assert clients == {uid(1): None, uid(2): "Unknown"}


def test_deleted_users_are_not_found_by_name(tmp_path: Path, store: Store) -> None:
    from tests.helpers.rows import users_rows

    users = users_rows()
    users[1]["deleted"] = "t"
    export_dir(tmp_path, [interception(1, initiator_id=str(USER_B))], users=users)
    store.import_path(tmp_path)
    with pytest.raises(QueryValidationError):
        store.list_interceptions("initiator:bob")
    assert store.list_interceptions(f"initiator:{USER_B}").count == 1


def test_initiator_me_uses_the_actor(loaded: Store) -> None:
    page = loaded.list_interceptions("initiator:me", actor=Actor.owner(user_id=USER_B))
    assert [r.id for r in page.results] == [uid(3)]


def test_member_sees_only_their_own_rows(loaded: Store) -> None:
    page = loaded.list_interceptions(actor=Actor.member(USER_B))
    assert page.count == 1 and [r.id for r in page.results] == [uid(3)]
    assert loaded.list_interceptions(actor=Actor.auditor(USER_B)).count == 5
    with pytest.raises(PaginationError) as caught:
        loaded.list_interceptions(after_id=uid(2), actor=Actor.member(USER_B))
    assert caught.value.detail == f"after_id: interception {uid(2)} not found: invalid pagination cursor"


def test_cursor_pages(loaded: Store) -> None:
    first = loaded.list_interceptions(limit=2)
    assert [r.id for r in first.results] == [uid(6), uid(5)] and first.count == 5
    second = loaded.list_interceptions(limit=2, after_id=first.results[-1].id)
    assert [r.id for r in second.results] == [uid(3), uid(2)] and second.count == 5
    third = loaded.list_interceptions(limit=2, after_id=str(second.results[-1].id))
    assert [r.id for r in third.results] == [uid(1)]


def test_an_in_flight_interception_is_a_valid_cursor(loaded: Store) -> None:
    page = loaded.list_interceptions(after_id=uid(4))
    assert [r.id for r in page.results] == [uid(3), uid(2), uid(1)]


def test_offset_pages(loaded: Store) -> None:
    assert [r.id for r in loaded.list_interceptions(limit=2, offset=2).results] == [uid(3), uid(2)]
    assert loaded.list_interceptions(offset=99).results == []


@pytest.mark.parametrize(
    ("kwargs", "body"),
    [
        ({"limit": 1001}, {"message": "Invalid pagination limit value.",
                           "detail": "Pagination limit must be in range (0, 1000]"}),
        ({"limit": -1}, {"message": "Query parameters have invalid values.", "validations": [
            {"field": "limit", "detail": 'Query param "limit" must be a valid 32-bit positive integer: value is negative'}]}),
        ({"limit": "abc"}, {"message": "Query parameters have invalid values.", "validations": [
            {"field": "limit", "detail": 'Query param "limit" must be a valid 32-bit positive integer: '
                                          'strconv.ParseInt: parsing "abc": invalid syntax'}]}),
        ({"offset": 2**31}, {"message": "Query parameters have invalid values.", "validations": [
            {"field": "offset", "detail": 'Query param "offset" must be a valid 32-bit positive integer: '
                                           'strconv.ParseInt: parsing "2147483648": value out of range'}]}),
        ({"after_id": "nope"}, {"message": "Query parameters have invalid values.", "validations": [
            {"field": "after_id", "detail": 'Query param "after_id" must be a valid uuid'}]}),
        ({"after_id": str(uid(2)), "offset": 1}, {"message": "Query parameters have invalid values.",
                                                  "detail": "Cannot use both after_id and offset pagination in the same request."}),
        ({"after_id": str(uid(99))}, {"message": "Invalid pagination cursor.",
                                      "detail": f"after_id: interception {uid(99)} not found: invalid pagination cursor"}),
    ],
)
def test_pagination_errors(loaded: Store, kwargs: dict[str, object], body: dict[str, object]) -> None:
    with pytest.raises(PaginationError) as caught:
        loaded.list_interceptions(**kwargs)  # type: ignore[arg-type]
    assert caught.value.to_response() == body


@pytest.mark.parametrize(("limit", "expected"), [(None, 5), (0, 5), ("", 5), ("2", 2), (1000, 5)])
def test_limit_defaults(loaded: Store, limit: object, expected: int) -> None:
    assert len(loaded.list_interceptions(limit=limit).results) == expected  # type: ignore[arg-type]


def test_default_limit_is_100(tmp_path: Path, store: Store) -> None:
    export_dir(tmp_path, [interception(n) for n in range(1, 131)])
    store.import_path(tmp_path)
    page = store.list_interceptions()
    assert (page.count, len(page.results)) == (130, 100)


def test_bad_query_is_coders_error(loaded: Store) -> None:
    with pytest.raises(QueryValidationError) as caught:
        loaded.list_interceptions("session_id:x")
    assert caught.value.to_response() == {
        "message": "Invalid workspace search query.",
        "validations": [{"field": "session_id", "detail": 'Query param "session_id" is not a valid query param'}],
    }


def test_fractional_seconds_are_trimmed(tmp_path: Path, store: Store) -> None:
    export_dir(tmp_path, [interception(1, started_at="2026-01-13 15:50:20.790690+00",
                                       ended_at="2026-01-13 15:50:21.100000+00")])
    store.import_path(tmp_path)
    result = store.list_interceptions().model_dump(mode="json")["results"][0]
    assert (result["started_at"], result["ended_at"]) == ("2026-01-13T15:50:20.79069Z", "2026-01-13T15:50:21.1Z")


def test_children_of_a_page_are_fetched_with_one_statement() -> None:
    from aibridge_store._query import Compiler
    from aibridge_store._reads import interceptions as reads

    for ids in (None, [str(uid(1))]):
        sql = reads.children_sql(Compiler(), (0, 1), ids)
        for table in ("aibridge_token_usages", "aibridge_user_prompts", "aibridge_tool_usages"):
            assert sql.count(f'FROM "{table}"') == 1
        assert sql.count("string_split") == (3 if ids is not None else 0)


def test_children_read_by_time_window_and_by_id_agree(loaded: Store) -> None:
    from aibridge_store._query import And
    from aibridge_store._reads import interceptions as reads

    con = loaded.connection
    rows = reads._page_rows(con, And(()), None, None, 100, 0)
    by_window = reads.fetch_children(con, rows, by_id=False)
    by_id = reads.fetch_children(con, rows, by_id=True)
    assert by_window == by_id
    assert sum(len(children) for group in by_id for children in group.values()) > 5
    assert {row.kind for group in by_id for children in group.values() for row in children} == {0, 1, 2}


def test_children_of_interceptions_outside_the_page_are_left_out(loaded: Store) -> None:
    page = loaded.list_interceptions("initiator:bob")
    assert [t.interception_id for t in page.results[0].token_usages] == [uid(3)]
    assert all(t.interception_id == uid(3) for t in page.results[0].tool_usages)


def test_metadata_that_is_not_an_object_reads_as_empty(loaded: Store) -> None:
    loaded.connection.execute("UPDATE aibridge_interceptions SET metadata = '[1, 2]' WHERE id = ?", [str(uid(1))])
    loaded.connection.execute("UPDATE aibridge_tool_usages SET metadata = '\"text\"' WHERE id = ?", [str(uid(3001))])
    loaded.connection.execute("UPDATE aibridge_token_usages SET metadata = 'null' WHERE id = ?", [str(uid(1001))])
    results = {r.id: r for r in loaded.list_interceptions().results}
    assert results[uid(1)].metadata == {}
    assert results[uid(2)].tool_usages[0].metadata == {}
    assert results[uid(2)].token_usages[0].metadata is None


def test_malformed_metadata_cannot_be_stored(loaded: Store) -> None:
    import sqlite3

    import duckdb

    refused = sqlite3.IntegrityError if loaded.engine == "sqlite" else duckdb.ConversionException
    with pytest.raises(refused):
        loaded.connection.execute("UPDATE aibridge_interceptions SET metadata = '{\"a\": ' WHERE id = ?",
                                  [str(uid(1))])
