"""Property: a walk through sessions that follows the cursors the store offers visits every session
exactly once, in order, for every actor, page size and filter, however users share session ids
(docs/decisions.md, "Sessions cursor")."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aibridge_store import Actor, Store
from tests.conftest import ENGINES
from tests.helpers.rows import USER_A, USER_B, USER_GHOST, interception, prompt, ts

USERS = [USER_A, USER_B, USER_GHOST]

rows_strategy = st.lists(
    st.tuples(
        st.sampled_from(["s1", "s2", "s3", None]),  # client session id, shared between users
        st.sampled_from(USERS),
        st.integers(0, 6),  # start, in 10 s steps: ties are common
        st.sampled_from(["m1", "m2"]),
        st.booleans(),  # has a prompt
        st.booleans(),  # ended
    ),
    min_size=1,
    max_size=14,
)


@contextmanager
def _load(rows: list[tuple[str | None, uuid.UUID, int, str, bool, bool]], engine: str) -> Iterator[Store]:
    with tempfile.TemporaryDirectory() as folder:
        path = None if engine == "duckdb" else Path(folder) / "store.sqlite"
        with Store.open(path, engine=engine) as store:
            _fill(store, rows)
            yield store


def _fill(store: Store, rows: list[tuple[str | None, uuid.UUID, int, str, bool, bool]]) -> None:
    interceptions, prompts = [], []
    for n, (session, user, start, model, asked, ended) in enumerate(rows, start=1):
        interceptions.append(interception(n, client_session_id=session, initiator_id=str(user), model=model,
                                          started_at=ts(start * 10), ended_at=ts(start * 10 + 5) if ended else None))
        if asked:
            prompts.append(prompt(n, n, f"p{n}", created_at=ts(start * 10 + (n % 3))))
    store.import_arrow("aibridge_interceptions", pa.Table.from_pylist(interceptions))
    if prompts:
        store.import_arrow("aibridge_user_prompts", pa.Table.from_pylist(prompts))
    

def _walk(store: Store, q: str, limit: int, actor: Actor | None) -> list[tuple[str, uuid.UUID]]:
    seen: list[tuple[str, uuid.UUID]] = []
    cursor: dict[str, str] = {}
    for _ in range(100):
        page = store.list_sessions(q, limit=limit, actor=actor, **cursor)
        seen += [(s.id, s.initiator.id) for s in page.sessions]
        if len(page.sessions) < limit:
            return seen
        cursor = page.next_cursor
    raise AssertionError(f"the walk did not end: {seen}")


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("q", ["", "model:m1", "session_id:s1"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=rows_strategy)
def test_walks_visit_every_session_once(rows: list[tuple[str | None, uuid.UUID, int, str, bool, bool]], q: str,
                                        engine: str) -> None:
    with _load(rows, engine) as store:
        for actor in [None, *(Actor.member(user) for user in USERS)]:
            everything = [(s.id, s.initiator.id) for s in store.list_sessions(q, limit=1000, actor=actor).sessions]
            assert len(set(everything)) == len(everything)
            for limit in range(1, 6):
                assert _walk(store, q, limit, actor) == everything


@pytest.mark.parametrize("engine", ENGINES)
def test_a_walk_with_shared_session_ids_ends_issue_9(engine: str) -> None:
    rows = [("shared", USER_A, 1, "m1", True, True), ("shared", USER_B, 2, "m1", False, True),
            ("s2", USER_A, 3, "m2", True, True), ("shared", USER_B, 5, "m1", True, True)]
    with _load(rows, engine) as store:
        everything = [(s.id, s.initiator.id) for s in store.list_sessions().sessions]
        assert [sid for sid, _ in everything].count("shared") == 2
        assert _walk(store, "", 1, None) == everything
