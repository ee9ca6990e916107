"""get_session_threads end to end (docs/semantics.md, "Session threads"; docs/decisions.md,
"Session lookup", "Thread cursors", "Thread token usage" and "Shared session ids")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aibridge_store import NotFoundError, PaginationError, Store
from aibridge_store._reads.threads import merge_token_metadata, sanitize_hint
from tests.helpers.rows import USER_B, export_dir, interception, prompt, token, tool, ts, uid


def _thread(root: int, children: int, *, session: str = "S", **overrides: object) -> list[dict[str, object]]:
    rows = [interception(root, client_session_id=session, **overrides)]
    for k in range(1, children + 1):
        rows.append(interception(root + k, client_session_id=session, thread_root_id=str(uid(root)),
                                 thread_parent_id=str(uid(root + k - 1)), model=f"m{k}", **overrides))
    return rows


@pytest.fixture
def loaded(tmp_path: Path, store: Store) -> Store:
    rows = (_thread(10, 2, credential_hint="sk-a...efgh") + _thread(20, 0, credential_hint="sk-abcdefgh")
            + _thread(30, 1) + _thread(40, 0) + _thread(50, 0)
            + [interception(60, client_session_id="S", initiator_id=str(USER_B), started_at=ts(5), ended_at=ts(6))]
            + [interception(70, client_session_id="S", ended_at=None)]  # an in-flight root: no thread
            + [interception(80, client_session_id="only-in-flight", ended_at=None)])
    export_dir(
        tmp_path,
        rows,
        prompts=[prompt(1, 10, "root prompt", seconds=1), prompt(2, 10, "second prompt", seconds=2),
                 prompt(3, 11, "child prompt"), prompt(4, 20, "", seconds=1)],
        tokens=[token(1, 10, metadata='{"a": 1, "nested": {"b": 2}, "f": 1.5, "s": "7"}'),
                token(2, 11, metadata='{"a": 10, "nested": {"b": 0}}'), token(3, 12, metadata=None),
                token(4, 60, input_tokens=500)],
        tools=[tool(1, 11, metadata='{"k": 1}'), tool(2, 11, seconds=3, server_url="https://mcp", injected="t",
                                                   invocation_error="boom"), tool(3, 12)],
        thoughts=[{"interception_id": str(uid(11)), "content": "think 1", "metadata": "{}", "created_at": ts(111)},
                  {"interception_id": str(uid(11)), "content": "think 2", "metadata": "{}", "created_at": ts(112)},
                  {"interception_id": str(uid(10)), "content": "hidden: no tool calls", "metadata": "{}",
                   "created_at": ts(101)}],
    )
    store.import_path(tmp_path)
    return store


def test_threads_json(loaded: Store) -> None:
    page = loaded.get_session_threads("S", limit=1).model_dump(mode="json")
    assert page["id"] == "S" and page["initiator"]["username"] == "alice"
    assert page["page_started_at"] == "2026-01-13T15:01:40Z" and page["page_ended_at"] == "2026-01-13T15:02:05Z"
    assert page["started_at"] == "2026-01-13T15:01:40Z" and page["ended_at"] == "2026-01-13T15:08:25Z"
    assert page["client"] == "Claude Code" and page["metadata"] == {}
    assert page["token_usage_summary"] == {
        "input_tokens": 30, "output_tokens": 60, "cache_read_input_tokens": 9, "cache_write_input_tokens": 0,
        "metadata": {"a": 11, "nested.b": 2},
    }
    (thread,) = page["threads"]
    assert thread == {
        "id": str(uid(10)),
        "prompt": "root prompt",
        "model": "claude-opus-4-5",
        "provider": "anthropic",
        "credential_kind": "centralized",
        "credential_hint": "sk-a...efgh",
        "started_at": "2026-01-13T15:01:40Z",
        "ended_at": "2026-01-13T15:02:05Z",
        "token_usage": {"input_tokens": 30, "output_tokens": 60, "cache_read_input_tokens": 9,
                        "cache_write_input_tokens": 0, "metadata": {"a": 11, "nested.b": 2}},
        "agentic_actions": [
            {
                "model": "m1",
                "token_usage": {"input_tokens": 10, "output_tokens": 20, "cache_read_input_tokens": 3,
                                "cache_write_input_tokens": 0, "metadata": {"a": 10, "nested.b": 0}},
                "tool_calls": [
                    {"id": str(uid(3001)), "interception_id": str(uid(11)), "provider_response_id": "msg_1",
                     "server_url": "", "tool": "Bash", "injected": False, "input": '{"command":"ls"}',
                     "metadata": {"k": 1}, "created_at": "2026-01-13T15:01:52Z"},
                    {"id": str(uid(3002)), "interception_id": str(uid(11)), "provider_response_id": "msg_2",
                     "server_url": "https://mcp", "tool": "Bash", "injected": True, "input": '{"command":"ls"}',
                     "metadata": {}, "created_at": "2026-01-13T15:01:53Z"},
                ],
                "thinking": [{"text": "think 1"}, {"text": "think 2"}],
            },
            {
                "model": "m2",
                "token_usage": {"input_tokens": 10, "output_tokens": 20, "cache_read_input_tokens": 3,
                                "cache_write_input_tokens": 0, "metadata": {}},
                "tool_calls": [
                    {"id": str(uid(3003)), "interception_id": str(uid(12)), "provider_response_id": "msg_3",
                     "server_url": "", "tool": "Bash", "injected": False, "input": '{"command":"ls"}',
                     "metadata": {}, "created_at": "2026-01-13T15:02:02Z"},
                ],
                "thinking": [],
            },
        ],
    }


def test_threads_are_oldest_first_and_only_of_the_most_recent_user(loaded: Store) -> None:
    page = loaded.get_session_threads("S")
    assert [t.id for t in page.threads] == [uid(10), uid(20), uid(30), uid(40), uid(50)]
    assert page.initiator.username == "alice"


def test_empty_prompt_is_kept_and_missing_prompt_is_omitted(loaded: Store) -> None:
    threads = {t["id"]: t for t in loaded.get_session_threads("S").model_dump(mode="json")["threads"]}
    assert threads[str(uid(20))]["prompt"] == ""
    assert "prompt" not in threads[str(uid(30))]
    assert threads[str(uid(20))]["credential_hint"] == "..."


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"after_id": uid(10), "limit": 2}, [20, 30]),
        ({"after_id": uid(11), "limit": 2}, [20, 30]),  # a child interception is a valid position
        ({"after_id": uid(50)}, []),
        ({"before_id": uid(50), "limit": 2}, [30, 40]),  # the threads right before the cursor
        ({"before_id": uid(31), "limit": 1}, [30]),  # a child sorts after its own root
        ({"before_id": uid(10)}, []),
        ({"after_id": uid(70), "limit": 5}, []),  # an in-flight root is a valid position too
    ],
)
def test_thread_cursors_in_both_directions(loaded: Store, kwargs: dict[str, object], expected: list[int]) -> None:
    page = loaded.get_session_threads("S", **kwargs)  # type: ignore[arg-type]
    assert [t.id for t in page.threads] == [uid(n) for n in expected]
    dumped = page.model_dump(mode="json")
    assert ("page_started_at" in dumped) == bool(expected)


def test_lookup_by_any_interception_uuid(loaded: Store) -> None:
    assert loaded.get_session_threads(str(uid(12))).id == "S"
    assert loaded.get_session_threads(str(uid(60)).upper()).initiator.id == USER_B
    assert loaded.get_session_threads(str(uid(70))).id == "S"  # in flight, but its session has ended rows


def test_a_thread_root_id_is_its_own_session(tmp_path: Path, store: Store) -> None:
    export_dir(tmp_path, _thread(1, 1, session=None))  # type: ignore[arg-type]
    store.import_path(tmp_path)
    page = store.get_session_threads(str(uid(1)))
    assert page.id == str(uid(1)) and [t.id for t in page.threads] == [uid(1)]


@pytest.mark.parametrize(
    ("kwargs", "error", "body"),
    [
        ({"session_id": "nope"}, NotFoundError, {"message": "Session not found."}),
        ({"session_id": str(uid(80))}, NotFoundError, {"message": "Session not found."}),
        ({"session_id": "only-in-flight"}, NotFoundError, {"message": "Session not found."}),
        ({"session_id": ""}, NotFoundError, {"message": "Missing session_id path parameter."}),
        ({"session_id": "S", "after_id": "x"}, PaginationError,
         {"message": "Invalid after_id query parameter.", "detail": "invalid UUID length: 1"}),
        ({"session_id": "S", "before_id": "z" * 36}, PaginationError,
         {"message": "Invalid before_id query parameter.", "detail": "invalid UUID format"}),
        ({"session_id": "S", "after_id": uid(10), "before_id": uid(20)}, PaginationError,
         {"message": "Cannot use both after_id and before_id in the same request."}),
        ({"session_id": "S", "limit": 0}, PaginationError,
         {"message": "Invalid limit query parameter.", "detail": "Limit must be between 1 and 200."}),
        ({"session_id": "S", "limit": "201"}, PaginationError,
         {"message": "Invalid limit query parameter.", "detail": "Limit must be between 1 and 200."}),
        ({"session_id": "S", "after_id": uid(99)}, PaginationError,
         {"message": "Invalid pagination cursor.", "detail": f"after_id: interception {uid(99)} not found: invalid pagination cursor"}),
        ({"session_id": "S", "before_id": uid(60)}, PaginationError,
         {"message": "Invalid pagination cursor.",
          "detail": f"before_id: interception {uid(60)} does not belong to session S: invalid pagination cursor"}),
    ],
)
def test_errors(loaded: Store, kwargs: dict[str, object], error: type[Exception], body: dict[str, object]) -> None:
    with pytest.raises(error) as caught:
        loaded.get_session_threads(**kwargs)  # type: ignore[arg-type]
    assert caught.value.to_response() == body  # type: ignore[attr-defined]


def test_members_only_see_their_own_sessions(loaded: Store) -> None:
    from aibridge_store import Actor

    assert loaded.get_session_threads("S", actor=Actor.member(USER_B)).initiator.id == USER_B
    with pytest.raises(NotFoundError):
        loaded.get_session_threads(str(uid(10)), actor=Actor.member(USER_B))


def test_every_thread_reports_its_tokens_past_fifty_threads(tmp_path: Path, store: Store) -> None:
    rows = [interception(n, client_session_id="big") for n in range(1, 61)]
    export_dir(tmp_path, rows, tokens=[token(n, n) for n in range(1, 61)])
    store.import_path(tmp_path)
    last = store.get_session_threads("big", after_id=uid(55))
    assert [t.token_usage.input_tokens for t in last.threads] == [10] * 5
    assert last.token_usage_summary.input_tokens == 600
    assert last.token_usage_summary.metadata == {"cache_read_input": 180}


@pytest.mark.parametrize(
    ("hint", "shown"),
    [("", ""), ("s...t", "s...t"), ("sk-a...efgh", "sk-a...efgh"), ("...", "..."), ("abc12", "..."),
     ("sk-abcdefgh", "..."), ("sk-a...efghijklmn", "..."), ("sk-proj-abc123xyz789", "...")],
)
def test_hint_sanitising(hint: str, shown: str) -> None:
    assert sanitize_hint(hint) == shown


@pytest.mark.parametrize(
    ("texts", "merged"),
    [
        (['{"a": 1}', '{"a": 2, "b": 0}'], {"a": 3, "b": 0}),
        (['{"cache": {"read": 10, "deep": {"x": 1}}}'], {"cache.read": 10, "cache.deep.x": 1}),
        (['{"f": 1.5, "e": 1e3, "s": "123", "t": true, "n": null, "l": [1]}'], {}),
        ([None, "", "not json", "[1, 2]", '"text"'], {}),
        (['{"big": 9223372036854775808, "ok": 9223372036854775807}'], {"ok": 9223372036854775807}),
    ],
)
def test_token_metadata_merge(texts: list[str | None], merged: dict[str, int]) -> None:
    assert merge_token_metadata(texts) == merged
    assert json.loads(json.dumps(merged)) == merged
