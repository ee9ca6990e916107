"""list_sessions end to end (docs/semantics.md, "Sessions")."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from aibridge_store import Actor, PaginationError, QueryValidationError, SessionsPage, Store
from tests.helpers.rows import USER_A, USER_B, USER_GHOST, export_dir, interception, prompt, token, ts, uid


@pytest.fixture
def loaded(tmp_path: Path, store: Store) -> Store:
    rows = [
        # "shared": two users, one client session id
        interception(1, client_session_id="shared", model="m-a", metadata='{"first": true}', client=None),
        interception(2, client_session_id="shared", model="m-b", thread_root_id=str(uid(1)), client="Cursor"),
        interception(3, client_session_id="shared", initiator_id=str(USER_B), provider="openai", model="gpt"),
        # a thread without client session id: root 4, child 5, an in-flight child 6
        interception(4, model="m-a", client="Unknown"),
        interception(5, model="m-c", thread_root_id=str(uid(4)), thread_parent_id=str(uid(4)), client="Unknown"),
        interception(6, model="m-z", thread_root_id=str(uid(4)), ended_at=None),
        # a standalone interception with no prompts, and one that is only in flight
        interception(7, client=None, metadata=None),
        interception(8, ended_at=None, client_session_id="never"),
    ]
    export_dir(
        tmp_path,
        rows,
        prompts=[prompt(1, 1, "first question", seconds=1), prompt(2, 2, "later question", seconds=2),
                 prompt(3, 4, "thread question"), prompt(4, 6, "in-flight prompt", seconds=40)],
        tokens=[token(1, 1), token(2, 2), token(3, 4), token(4, 6, input_tokens=1000)],
    )
    store.import_path(tmp_path)
    return store


def _by_key(page: object) -> dict[tuple[str, str], object]:
    return {(s.id, str(s.initiator.id)): s for s in page.sessions}  # type: ignore[attr-defined]


def test_two_users_sharing_a_client_session_id_get_two_sessions(loaded: Store) -> None:
    page = loaded.list_sessions()
    sessions = _by_key(page)
    assert ("shared", str(USER_A)) in sessions and ("shared", str(USER_B)) in sessions
    assert page.count == 4  # shared×2, the thread of 4, the standalone 7; "never" is in flight


def test_json_of_a_session(loaded: Store) -> None:
    session = _by_key(loaded.list_sessions())[("shared", str(USER_A))]
    assert session.model_dump(mode="json") == {  # type: ignore[attr-defined]
        "id": "shared",
        "initiator": {"id": str(USER_A), "username": "alice", "name": "Alice A", "avatar_url": "https://a.example/a.png"},
        "providers": ["anthropic"],
        "models": ["m-a", "m-b"],
        "client": None,  # the first interception's client, even though a later one has "Cursor"
        "metadata": {"first": True},
        "started_at": "2026-01-13T15:00:10Z",
        "ended_at": "2026-01-13T15:00:25Z",
        "last_active_at": "2026-01-13T15:00:22Z",
        "threads": 1,
        "token_usage_summary": {"input_tokens": 20, "output_tokens": 40, "cache_read_input_tokens": 6,
                                "cache_write_input_tokens": 0},
        "last_prompt": "later question",
    }


def test_in_flight_interceptions_never_count(loaded: Store) -> None:
    session = _by_key(loaded.list_sessions())[(str(uid(4)), str(USER_A))]
    assert session.models == ["m-a", "m-c"]  # type: ignore[attr-defined]
    assert session.token_usage_summary.input_tokens == 10  # type: ignore[attr-defined]
    assert session.last_active_at.isoformat() == "2026-01-13T15:00:41+00:00"  # type: ignore[attr-defined]
    assert session.threads == 1  # type: ignore[attr-defined]


def test_session_without_prompts_is_ordered_by_its_start_and_has_no_last_prompt(loaded: Store) -> None:
    page = loaded.list_sessions()
    order = [(s.id, s.last_active_at.isoformat()) for s in page.sessions]
    assert order == [
        (str(uid(7)), "2026-01-13T15:01:10+00:00"),
        (str(uid(4)), "2026-01-13T15:00:41+00:00"),
        ("shared", "2026-01-13T15:00:30+00:00"),
        ("shared", "2026-01-13T15:00:22+00:00"),
    ]
    standalone = page.sessions[0].model_dump(mode="json")
    assert "last_prompt" not in standalone and standalone["metadata"] == {} and standalone["client"] is None


def test_ties_are_broken_by_session_id_descending(tmp_path: Path, store: Store) -> None:
    same = ts(100)
    export_dir(tmp_path, [interception(n, client_session_id=f"s{n}", started_at=same, ended_at=ts(101))
                          for n in (1, 2, 3)])
    store.import_path(tmp_path)
    assert [s.id for s in store.list_sessions().sessions] == ["s3", "s2", "s1"]
    assert [s.id for s in store.list_sessions(after_session_id="s3").sessions] == ["s2", "s1"]


def test_client_unknown_matches_null_clients_but_the_client_stays_null(loaded: Store) -> None:
    page = loaded.list_sessions("client:Unknown")
    clients = {(s.id, s.client) for s in page.sessions}
    assert clients == {(str(uid(7)), None), (str(uid(4)), "Unknown"), ("shared", None)}


def test_a_model_filter_changes_threads_and_start_but_not_models_or_tokens(loaded: Store) -> None:
    page = loaded.list_sessions("model:m-c")
    assert page.count == 1
    session = page.sessions[0]
    assert session.id == str(uid(4)) and session.threads == 0
    assert session.started_at.isoformat() == "2026-01-13T15:00:50+00:00"
    assert session.last_active_at.isoformat() == "2026-01-13T15:00:50+00:00"  # 5 has no prompt of its own
    assert session.models == ["m-a", "m-c"] and session.token_usage_summary.input_tokens == 10
    assert session.last_prompt == "thread question"


def test_initiator_and_session_id_filters(loaded: Store) -> None:
    assert [s.initiator.id for s in loaded.list_sessions("session_id:shared initiator:Bob").sessions] == [USER_B]
    assert loaded.list_sessions("session_id:shared").count == 2
    assert loaded.list_sessions("session_id:Shared").count == 0


def test_time_filters_are_per_interception(loaded: Store) -> None:
    page = loaded.list_sessions('started_after:"2026-01-13T15:00:20Z" started_before:"2026-01-13T15:00:40Z"')
    assert sorted((s.id, s.threads) for s in page.sessions) == [(str(uid(4)), 1), ("shared", 0), ("shared", 1)]


def test_pages_by_cursor_and_offset(loaded: Store) -> None:
    everything = [(s.id, s.initiator.id) for s in loaded.list_sessions().sessions]
    first = loaded.list_sessions(limit=2)
    second = loaded.list_sessions(limit=2, after_session_id=first.sessions[-1].id)
    assert [(s.id, s.initiator.id) for s in first.sessions + second.sessions] == everything
    assert [(s.id, s.initiator.id) for s in loaded.list_sessions(limit=2, offset=2).sessions] == everything[2:]
    assert second.count == 4


def _keys(page: SessionsPage) -> list[tuple[str, uuid.UUID]]:
    return [(s.id, s.initiator.id) for s in page.sessions]


def test_a_shared_session_id_alone_resolves_to_the_first_of_its_sessions(loaded: Store) -> None:
    order = _keys(loaded.list_sessions())
    first = next(i for i, (sid, _) in enumerate(order) if sid == "shared")
    assert sum(sid == "shared" for sid, _ in order) == 2
    assert _keys(loaded.list_sessions(after_session_id="shared")) == order[first + 1:]


def test_the_session_and_initiator_cursor_names_one_session(loaded: Store) -> None:
    order = _keys(loaded.list_sessions())
    for i, (sid, initiator) in enumerate(order):
        page = loaded.list_sessions(after_session_id=sid, after_initiator_id=initiator)
        assert _keys(page) == order[i + 1:]


def test_the_next_cursor_of_a_page_asks_for_the_next_page(loaded: Store) -> None:
    first = loaded.list_sessions(limit=2)
    second = loaded.list_sessions(limit=2, **first.next_cursor)
    assert _keys(first) + _keys(second) == _keys(loaded.list_sessions())[:4]
    assert loaded.list_sessions(limit=2, offset=100).next_cursor == {}


def test_a_member_cursor_ignores_other_users_sessions(loaded: Store) -> None:
    member = Actor.member(USER_B)
    mine = _keys(loaded.list_sessions(actor=member))
    assert {initiator for _, initiator in mine} == {USER_B}
    for i, (sid, _) in enumerate(mine):
        assert _keys(loaded.list_sessions(after_session_id=sid, actor=member)) == mine[i + 1:]


@pytest.mark.parametrize(
    ("kwargs", "body"),
    [
        ({"after_session_id": "nope"}, {"message": "Query parameter has invalid value.",
                                        "detail": 'after_session_id: session "nope" not found'}),
        ({"after_session_id": "shared", "after_initiator_id": str(USER_GHOST)}, {
            "message": "Query parameter has invalid value.",
            "detail": f'after_session_id: session "shared" of initiator {USER_GHOST} not found'}),
        ({"after_initiator_id": str(USER_A)}, {"message": "Query parameters have invalid values.",
                                               "detail": "after_initiator_id needs after_session_id."}),
        ({"after_session_id": "shared", "after_initiator_id": "nope"}, {
            "message": "Query parameters have invalid values.",
            "validations": [{"field": "after_initiator_id", "detail": 'Query param "after_initiator_id" must be a valid uuid'}]}),
        ({"after_session_id": "shared", "offset": 1}, {
            "message": "Query parameters have invalid values.",
            "detail": "Cannot use both after_session_id and offset pagination in the same request."}),
        ({"limit": 0, "offset": -1}, {"message": "Query parameters have invalid values.", "validations": [
            {"field": "offset", "detail": 'Query param "offset" must be a valid 32-bit positive integer: value is negative'}]}),
        ({"limit": 1001}, {"message": "Invalid pagination limit value.",
                           "detail": "Pagination limit must be in range (0, 1000]"}),
    ],
)
def test_pagination_errors(loaded: Store, kwargs: dict[str, object], body: dict[str, object]) -> None:
    with pytest.raises(PaginationError) as caught:
        loaded.list_sessions(**kwargs)  # type: ignore[arg-type]
    assert caught.value.to_response() == body


def test_bare_terms_are_refused(loaded: Store) -> None:
    with pytest.raises(QueryValidationError) as caught:
        loaded.list_sessions("claude")
    assert caught.value.to_response() == {"message": "Invalid session search query.",
                                          "validations": [{"field": "q", "detail": "no search key specified"}]}


def test_members_see_their_own_sessions_and_cursors(loaded: Store) -> None:
    page = loaded.list_sessions(actor=Actor.member(USER_B))
    assert [(s.id, s.initiator.id) for s in page.sessions] == [("shared", USER_B)] and page.count == 1
    with pytest.raises(PaginationError):
        loaded.list_sessions(after_session_id=str(uid(7)), actor=Actor.member(USER_B))


def test_orphan_initiator_sessions_are_listed(tmp_path: Path, store: Store) -> None:
    from tests.helpers.rows import USER_GHOST

    export_dir(tmp_path, [interception(1, initiator_id=str(USER_GHOST))])
    store.import_path(tmp_path)
    page = store.list_sessions()
    assert page.count == 1 and page.sessions[0].initiator.username == ""


def test_late_children_and_endings_update_sessions(tmp_path: Path, store: Store) -> None:
    export_dir(tmp_path / "a", [interception(1), interception(2, thread_root_id=str(uid(1)), ended_at=None)])
    store.import_path(tmp_path / "a")
    before = store.list_sessions().sessions[0]
    assert before.models == ["claude-opus-4-5"] and before.token_usage_summary.input_tokens == 0
    export_dir(tmp_path / "b", [interception(2, thread_root_id=str(uid(1)), model="late")],
               tokens=[token(1, 1), token(2, 2)], prompts=[prompt(1, 2, "late prompt")])
    store.import_path(tmp_path / "b")
    after = store.list_sessions().sessions[0]
    assert after.models == ["claude-opus-4-5", "late"]
    assert after.token_usage_summary.input_tokens == 20 and after.last_prompt == "late prompt"
